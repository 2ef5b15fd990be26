package kvstore

import (
	"bytes"

	"github.com/dmflow/dmflow"
)

// Fair outbox claims. ClaimOutbox shares a claim between business accounts
// like ClaimInbox (see fair.go): it reads each account's queued items from
// the outbox.acct/<queue> index (account NUL seq → userKey), which mirrors
// outbox.queue/<queue>, instead of walking the queue in Seq order, where
// one account's backlog would fill every claim.

// metaOutAcct is the bMeta key (+ queue) recording that outbox.acct/<queue>
// holds every queued item of the queue.
const metaOutAcct = "outbox.acct/"

// ensureOutAcct builds outbox.acct/<queue> from outbox.queue/<queue> once,
// for a file whose items were queued before the index existed (every
// write since keeps both in step, and rebuilding is idempotent).
func ensureOutAcct(tx Tx, queue string) error {
	meta := tx.Bucket(bMeta)
	if meta.Get([]byte(metaOutAcct+queue)) != nil {
		return nil
	}
	idx := tx.Bucket(bOutAcct + queue)
	var puts []put
	err := tx.Bucket(bOutQueue+queue).Scan(nil, func(k, v []byte) bool {
		puts = append(puts, put{idx, pendAcctKey(v, k), bytes.Clone(v)})
		return true
	})
	if err != nil {
		return err
	}
	if err := putAll(puts...); err != nil {
		return err
	}
	return meta.Put([]byte(metaOutAcct+queue), []byte{1})
}

func claimOutbox(tx Tx, queue string, c dmflow.Claim) ([]dmflow.OutboxItem, error) {
	if err := ensureOutAcct(tx, queue); err != nil {
		return nil, err
	}
	oc := &outClaim{c: c, items: tx.Bucket(bOutItems + queue), ls: newLeases(tx.Bucket(bOutLease + queue)),
		blocked: map[string]bool{}, seen: map[string]bool{}}
	// Each account's (not in c.Skip) oldest c.Max claimable items, in Seq
	// order; the items of its users that are leased to others or wait for a
	// retry are walked, the rest of its backlog is not.
	lists, _, err := scanByAccount(tx.Bucket(bOutAcct+queue), oc.c.Max, oc.c.Skip, func(sk, uk []byte) (bool, error) {
		return oc.claimable(u64(sk), uk)
	})
	if err != nil {
		return nil, err
	}
	picked := roundRobin(lists, c.Max)
	out := make([]dmflow.OutboxItem, 0, len(picked))
	for _, p := range picked {
		var it dmflow.OutboxItem
		if _, err := getRec(oc.items, p.sk, &it); err != nil {
			return nil, err
		}
		oc.ls.take(p.uk, c.Owner, c.Now, c.Lease, u64(p.sk))
		out = append(out, it)
	}
	return out, oc.ls.flush()
}

// outClaim is the state of one ClaimOutbox scan.
type outClaim struct {
	c       dmflow.Claim
	items   Bucket
	ls      *leases
	blocked map[string]bool // users that contribute nothing more
	seen    map[string]bool // users whose head was checked
}

// claimable reports whether the queued item seq of user uk, visited in
// Seq order among its account's items, may be claimed: its user's lease is
// free for the owner, the owner has not claimed it already, and the user's
// head item is due (a user waiting for a retry contributes nothing).
func (oc *outClaim) claimable(seq uint64, uk []byte) (bool, error) {
	u := string(uk)
	if oc.blocked[u] {
		return false, nil
	}
	l, err := oc.ls.get(uk)
	if err != nil {
		return false, err
	}
	if !l.free(oc.c.Owner, oc.c.Now) {
		oc.blocked[u] = true
		return false, nil
	}
	if l != nil && l.Owner == oc.c.Owner && l.has(seq) {
		oc.seen[u] = true
		return false, nil
	}
	if !oc.seen[u] {
		var it dmflow.OutboxItem
		if _, err := getRec(oc.items, be64(seq), &it); err != nil {
			return false, err
		}
		if it.NotBefore.After(oc.c.Now) {
			oc.blocked[u] = true
			return false, nil
		}
	}
	oc.seen[u] = true
	return true, nil
}
