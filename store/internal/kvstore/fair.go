package kvstore

import (
	"bytes"
	"slices"

	"github.com/dmflow/dmflow"
)

// Fair claims. ClaimInbox shares a claim between business accounts (see
// dmflow.Inbox): it reads each account's claimable items from the
// inbox.pendacct index (account NUL seq → userKey), which mirrors
// inbox.pending, instead of walking inbox.pending in Seq order, where one
// account's backlog would fill every claim.

// metaPendAcct is the bMeta key recording that inbox.pendacct holds every
// pending item (a file written before the index existed gets it on the
// first claim).
const metaPendAcct = "inbox.pendacct"

// pendAcctKey is the index key of the pending item sk of user uk.
func pendAcctKey(uk, sk []byte) []byte {
	a, _, _ := bytes.Cut(uk, []byte{0})
	return cat(a, []byte{0}, sk)
}

// delPending removes the pending item sk of user uk from inbox.pending and
// its index.
func delPending(tx Tx, sk, uk []byte) error {
	if err := tx.Bucket(bPending).Delete(sk); err != nil {
		return err
	}
	return tx.Bucket(bPendAcct).Delete(pendAcctKey(uk, sk))
}

// ensurePendAcct builds inbox.pendacct from inbox.pending once, for a file
// whose pending items were appended before the index existed (every write
// since keeps both in step).
func ensurePendAcct(tx Tx) error {
	meta := tx.Bucket(bMeta)
	if meta.Get([]byte(metaPendAcct)) != nil {
		return nil
	}
	idx := tx.Bucket(bPendAcct)
	var puts []put
	err := tx.Bucket(bPending).Scan(nil, func(k, v []byte) bool {
		puts = append(puts, put{idx, pendAcctKey(v, k), bytes.Clone(v)})
		return true
	})
	if err != nil {
		return err
	}
	if err := putAll(puts...); err != nil {
		return err
	}
	return meta.Put([]byte(metaPendAcct), []byte{1})
}

// candidate is a claimable pending item: its seq key and user key.
type candidate struct{ sk, uk []byte }

// pickFair returns up to c.Max claimable items (pending, their user's lease
// free for c.Owner, not claimed by c.Owner already), in Seq order, shared
// between accounts round-robin: every account with claimable items gets
// its oldest one before any account gets a second, and so on; within a
// round the older items go first. Each account's items are a prefix of its
// claimable items in Seq order, so every user's are too.
//
// Round r looks only at each account's item r, so when the first depth
// rounds fill the claim, or no account has more than depth claimable
// items, reading depth items per account gives exactly the result of
// reading c.Max per account. pickFair therefore reads a few per account
// first and reads deeper only when that is not enough: with many accounts
// a claim reads about c.Max items, not c.Max per account.
func pickFair(tx Tx, ls *leases, c dmflow.Claim) ([]candidate, error) {
	for depth := min(firstDepth, c.Max); ; depth = min(4*depth, c.Max) {
		lists, deeper, err := claimableByAccount(tx, ls, c, depth)
		if err != nil {
			return nil, err
		}
		out := roundRobin(lists, c.Max)
		if len(out) == c.Max || !deeper || depth == c.Max {
			return out, nil
		}
	}
}

// firstDepth is how many claimable items per account pickFair reads first.
const firstDepth = 8

// roundRobin takes up to max candidates from lists (each in Seq order),
// round by round, the older first within a round, and returns them in Seq
// order.
func roundRobin(lists [][]candidate, max int) []candidate {
	var out []candidate
	for r := 0; len(out) < max; r++ {
		var round []candidate
		for _, l := range lists {
			if r < len(l) {
				round = append(round, l[r])
			}
		}
		if len(round) == 0 {
			break
		}
		slices.SortFunc(round, func(a, b candidate) int { return bytes.Compare(a.sk, b.sk) })
		out = append(out, round[:min(len(round), max-len(out))]...)
	}
	slices.SortFunc(out, func(a, b candidate) int { return bytes.Compare(a.sk, b.sk) })
	return out
}

// claimableByAccount returns, for each account with claimable items, its
// oldest depth of them in Seq order, and whether an account may have more
// (it had depth and items after them were not read). Once an account has
// depth it seeks to the next account, so an account's long backlog is not
// walked. The lease is checked before the pending record, so the items
// this owner already claimed (its items in flight) cost no B-tree lookup.
func claimableByAccount(tx Tx, ls *leases, c dmflow.Claim, depth int) ([][]candidate, bool, error) {
	pending := tx.Bucket(bPending)
	return scanByAccount(tx.Bucket(bPendAcct), depth, nil, func(sk, uk []byte) (bool, error) {
		l, err := ls.get(uk)
		if err != nil {
			return false, err
		}
		if !l.free(c.Owner, c.Now) || (l != nil && l.Owner == c.Owner && l.has(u64(sk))) {
			return false, nil
		}
		return bytes.Equal(pending.Get(sk), uk), nil // else not pending (cannot happen while the index is kept in step)
	})
}

// scanByAccount walks an index keyed "account NUL seq(8)" whose values are
// user keys (the inbox's and each outbox queue's per-account index) and
// returns, for each account it visits, the first depth of its entries that
// keep accepts, in key order (an account may get an empty list). Once an
// account has depth, or when it is one of skip, the scan seeks past its
// keys, so an account's long backlog is not walked; more reports that an
// account had depth and entries after them were not read.
func scanByAccount(idx Bucket, depth int, skip []string, keep func(sk, uk []byte) (bool, error)) (lists [][]candidate, more bool, err error) {
	var acct []byte // the account being read
	var from []byte
	for {
		var seek []byte
		var kerr error
		err := idx.Scan(from, func(k, uk []byte) bool {
			if len(k) < 9 {
				return true
			}
			a, sk := k[:len(k)-9], k[len(k)-8:]
			if acct == nil || !bytes.Equal(a, acct) {
				acct = bytes.Clone(a)
				if slices.Contains(skip, string(a)) {
					seek = append(bytes.Clone(a), 1) // past "account NUL …"
					return false
				}
				lists = append(lists, nil)
			}
			cur := &lists[len(lists)-1]
			if len(*cur) >= depth {
				more = true
				seek = append(bytes.Clone(a), 1)
				return false
			}
			ok, err := keep(sk, uk)
			if kerr = err; err != nil {
				return false
			}
			if ok {
				*cur = append(*cur, candidate{bytes.Clone(sk), bytes.Clone(uk)})
			}
			return true
		})
		if err == nil {
			err = kerr
		}
		if err != nil {
			return nil, false, err
		}
		if seek == nil {
			return lists, more, nil
		}
		from = seek
	}
}
