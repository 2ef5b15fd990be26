package storetest

import (
	"time"

	"github.com/dmflow/dmflow"
)

var leaseTests = []test{
	{"Exclusive", testLeaseExclusive},
	{"Takeover", testLeaseTakeover},
	{"CommitWithoutLease", testCommitWithoutLease},
	{"CommitExpired", testCommitExpired},
	{"Release", testRelease},
	{"Renew", testRenewInbox},
}

// testRenewInbox: RenewInbox keeps a user whose claimed items wait leased
// to the owner; an expired lease is not renewed.
func testRenewInbox(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u1", "2"), Msg("u2", "3"))
	items := h.claim("A", 10, T0)
	at := T0.Add(50 * time.Second)
	lost, err := h.S.RenewInbox(h.Ctx, "A", at, Key("u1"), Key("u3"))
	h.check(err, "RenewInbox")
	if len(lost) != 1 || lost[0] != Key("u3") {
		h.Fatalf("RenewInbox lost %v, want [u3]", lost)
	}
	h.done("A", items[0], T0.Add(10*time.Second)) // a stale now does not shorten the renewed lease
	h.wantTexts(h.claim("B", 10, T0.Add(80*time.Second)), "u2:3 ", "B after the claim's lease: only the user not renewed")
	if lost, _ = h.S.RenewInbox(h.Ctx, "A", Min(1), Key("u2")); len(lost) != 1 {
		h.Fatalf("A renews u2 taken by B: lost %v", lost)
	}
	later := T0.Add(110 * time.Second)
	if lost, _ = h.S.RenewInbox(h.Ctx, "A", later, Key("u1")); len(lost) != 1 {
		h.Fatalf("A renews at the lease end: lost %v", lost)
	}
	h.wantTexts(h.claim("B", 10, later), "u1:2 ", "B after A's renewed lease ended")
}

func testLeaseExclusive(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u1", "2"))
	h.wantTexts(h.claim("A", 1, T0), "u1:1 ", "A")
	h.wantTexts(h.claim("B", 10, Min(0).Add(59e9)), "", "B within the lease")
	h.wantTexts(h.claim("A", 10, T0), "u1:2 ", "A again")
}

func testLeaseTakeover(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u1", "2"))
	a := h.claim("A", 10, T0)
	b := h.claim("B", 10, Min(1))
	h.wantTexts(b, "u1:1 u1:2 ", "B after A's lease expired")
	if b[0].Attempts != 2 {
		h.Fatalf("attempts after takeover = %d, want 2", b[0].Attempts)
	}
	err := h.S.Commit(h.Ctx, dmflow.Commit{Owner: "A", Seq: a[0].Seq, Key: Key("u1"), Now: Min(1)})
	h.wantErr(err, dmflow.ErrLeaseLost, "A commits after takeover")
	h.done("B", b[0], Min(1))
	h.wantTexts(h.claim("A", 10, Min(1)), "", "A while B holds the lease")
	h.wantTexts(h.claim("A", 10, Min(2)), "u1:2 ", "A after B's lease (renewed by its commit) expired")
}

func testCommitWithoutLease(h *H) {
	h.append(T0, Msg("u1", "1"))
	items, _ := h.S.History(h.Ctx, Key("u1"), 1)
	err := h.S.Commit(h.Ctx, dmflow.Commit{Owner: "A", Seq: items[0].Seq, Key: Key("u1"), Now: T0})
	h.wantErr(err, dmflow.ErrLeaseLost, "commit of an unclaimed item")
	it := h.claim("A", 1, T0)[0]
	h.done("A", it, T0)
	err = h.S.Commit(h.Ctx, dmflow.Commit{Owner: "A", Seq: it.Seq, Key: Key("u1"), Now: T0})
	h.wantErr(err, dmflow.ErrNotFound, "second commit of the same item")
}

func testCommitExpired(h *H) {
	h.append(T0, Msg("u1", "1"))
	it := h.claim("A", 1, T0)[0]
	err := h.S.Commit(h.Ctx, dmflow.Commit{Owner: "A", Seq: it.Seq, Key: Key("u1"), Now: Min(1)})
	h.wantErr(err, dmflow.ErrLeaseLost, "commit at the lease end")
	if h.depth() != 1 {
		h.Fatal("failed commit finished the item")
	}
}

func testRelease(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u2", "2"), Msg("u3", "3"))
	h.wantTexts(h.claim("A", 10, T0), "u1:1 u2:2 u3:3 ", "A")
	h.check(h.S.ReleaseInbox(h.Ctx, "B", Key("u1")), "release by a non-owner")
	h.wantTexts(h.claim("B", 10, T0), "", "B after a foreign release")
	h.check(h.S.ReleaseInbox(h.Ctx, "A", Key("u1")), "ReleaseInbox u1")
	h.wantTexts(h.claim("B", 10, T0), "u1:1 ", "B after release of u1")
	h.check(h.S.ReleaseInbox(h.Ctx, "A"), "ReleaseInbox all")
	h.wantTexts(h.claim("B", 10, T0), "u2:2 u3:3 ", "B after release of all")
	h.check(h.S.ReleaseInbox(h.Ctx, "B"), "ReleaseInbox B")
	h.wantTexts(h.claim("B", 10, T0), "u1:1 u2:2 u3:3 ", "B re-claims its released items")
}
