// Package storetest is the conformance suite of dmflow.Store: every backend
// (store/bolt, store/mem, store/postgres) runs Run in its tests and Bench in
// its benchmarks, so they all honour the same contract (see dmflow.Store).
//
// Conventions the suite relies on beyond the interface comments:
//   - Events need Key, Account and User; otherwise ErrInvalid, nothing stored.
//   - Inbox and outbox Seqs are store-wide increasing sequences.
//   - Commit with Seq != 0 needs a live lease (Now before the lease end) held
//     by Owner, else ErrLeaseLost; committing an item that is not pending
//     fails with ErrNotFound. Commit with Seq 0 needs no lease.
//   - A stored session whose Updated is zero gets Commit.Now; ExpireSessions
//     compares Updated.
//   - History returns the newest limit items, oldest first.
//   - ClaimActions skips calls under a live lease of any owner;
//     ReleaseActions frees the owner's leases (all with no ids) at once.
//   - RetryOutbox and DeadLetter fail with ErrLeaseLost when another owner
//     holds the user's queue lease and ErrNotFound for unknown seqs;
//     AckOutbox ignores unknown seqs (their Remember keys are still
//     remembered); remembering a key remembered within the retention
//     already changes nothing.
//   - An owner holds a lease while it is live (Now before its end) and not
//     released or taken over; AckOutbox, RenewOutbox and RenewInbox renew
//     it by the claim's Lease from their now. An ack of an item whose user
//     the owner does not hold removes it and fails with ErrLeaseLost.
//   - Every time decision uses the time passed in, never the clock.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// T0 is the base time of the suite's deterministic clock.
var T0 = time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)

// Run runs the conformance suite. open must return a new, empty store for
// each sub-test; Run closes it when the sub-test ends (a second Close, after
// the Closed test, must not panic).
func Run(t *testing.T, open func(t *testing.T) dmflow.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Inbox", inboxTests}, {"Lease", leaseTests}, {"Commit", commitTests},
		{"Timers", timerTests}, {"Sessions", sessionTests}, {"Outbox", outboxTests},
		{"Actions", actionTests}, {"Tokens", tokenTests}, {"Copies", copyTests},
		{"Personal", personalTests}, {"Stats", statsTests},
		{"Concurrency", concurrencyTests}, {"Cluster", clusterTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(newH(t, open)) })
			}
		})
	}
}

type test struct {
	name string
	fn   func(h *H)
}

// H is a sub-test's store with helpers that fail the test on error.
type H struct {
	*testing.T
	S   dmflow.Store
	Ctx context.Context
}

func newH(t *testing.T, open func(t *testing.T) dmflow.Store) *H {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	return &H{T: t, S: s, Ctx: context.Background()}
}

// Key returns the session key of account "acct" and user u.
func Key(u string) dmflow.SessionKey { return dmflow.SessionKey{Account: "acct", User: u} }

// Msg returns a message event of user u with dedupe key and text k.
func Msg(u, k string) dmflow.Event {
	return dmflow.Event{Key: k, Kind: dmflow.KindMessage, Channel: "test", Account: "acct", User: u, Time: T0, MID: "mid." + k, Text: k}
}

// Min returns T0 plus n minutes.
func Min(n int) time.Time { return T0.Add(time.Duration(n) * time.Minute) }

func (h *H) check(err error, what string) {
	h.Helper()
	if err != nil {
		h.Fatalf("%s: %v", what, err)
	}
}

func (h *H) wantErr(err, want error, what string) {
	h.Helper()
	if !errors.Is(err, want) {
		h.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func (h *H) append(now time.Time, evs ...dmflow.Event) dmflow.AppendResult {
	h.Helper()
	r, err := h.S.AppendInbox(h.Ctx, evs, now)
	h.check(err, "AppendInbox")
	return r
}

func claimOf(owner string, max int, now time.Time) dmflow.Claim {
	return dmflow.Claim{Owner: owner, Max: max, Lease: time.Minute, Now: now}
}

func (h *H) claim(owner string, max int, now time.Time) []dmflow.InboxItem {
	h.Helper()
	items, err := h.S.ClaimInbox(h.Ctx, claimOf(owner, max, now))
	h.check(err, "ClaimInbox")
	return items
}

func (h *H) commit(c dmflow.Commit) {
	h.Helper()
	h.check(h.S.Commit(h.Ctx, c), "Commit")
}

// done commits item it of owner with no changes at now.
func (h *H) done(owner string, it dmflow.InboxItem, now time.Time) {
	h.Helper()
	h.commit(dmflow.Commit{Owner: owner, Seq: it.Seq, Key: it.Event.SessionKey(), Now: now})
}

func (h *H) depth() int {
	h.Helper()
	n, err := h.S.InboxDepth(h.Ctx)
	h.check(err, "InboxDepth")
	return n
}

func (h *H) outDepth(q string) int {
	h.Helper()
	n, err := h.S.OutboxDepth(h.Ctx, q)
	h.check(err, "OutboxDepth")
	return n
}

func (h *H) session(u string) *dmflow.Session {
	h.Helper()
	s, err := h.S.GetSession(h.Ctx, Key(u))
	h.check(err, "GetSession")
	return s
}

// texts renders the user/text of inbox items, for comparisons.
func texts(items []dmflow.InboxItem) string {
	s := ""
	for _, it := range items {
		s += fmt.Sprintf("%s:%s ", it.Event.User, it.Event.Key)
	}
	return s
}

func (h *H) wantTexts(items []dmflow.InboxItem, want, what string) {
	h.Helper()
	if got := texts(items); got != want {
		h.Fatalf("%s: got %q, want %q", what, got, want)
	}
}
