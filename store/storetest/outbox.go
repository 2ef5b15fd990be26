package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
)

var outboxTests = []test{
	{"FIFO", testOutboxFIFO},
	{"HeadOfLine", testHeadOfLine},
	{"ClaimFairAccounts", testOutboxFairAccounts},
	{"Ack", testAck},
	{"AckRemembers", testAckRemembers},
	{"AckRemembersPendingKey", testAckRemembersPendingKey},
	{"AckRenewsLease", testAckRenewsLease},
	{"AckExpired", testAckExpired},
	{"PendingOutbox", testPendingOutbox},
	{"DeadLetters", testDeadLetters},
	{"LeaseTakeover", testOutboxTakeover},
	{"Release", testOutboxRelease},
	{"Notices", testNoticesQueue},
}

// send enqueues replies with the given texts for user u.
func (h *H) send(u string, texts ...string) {
	h.Helper()
	c := dmflow.Commit{Key: Key(u), Now: T0}
	for _, t := range texts {
		c.Outbox = append(c.Outbox, dmflow.Outgoing{Key: Key(u), To: dmflow.Recipient{ID: u}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: t}})
	}
	h.commit(c)
}

func (h *H) claimOut(owner string, max int, now ...int) []dmflow.OutboxItem {
	h.Helper()
	at := T0
	if len(now) > 0 {
		at = Min(now[0])
	}
	items, err := h.S.ClaimOutbox(h.Ctx, dmflow.QueueDM, claimOf(owner, max, at))
	h.check(err, "ClaimOutbox")
	return items
}

func outTexts(items []dmflow.OutboxItem) string {
	s := ""
	for _, it := range items {
		txt := ""
		if it.Message != nil {
			txt = it.Message.Reply.Text
		} else if it.Notice != nil {
			txt = it.Notice.Type
		}
		s += fmt.Sprintf("%s:%s ", it.Key.User, txt)
	}
	return s
}

func (h *H) wantOut(items []dmflow.OutboxItem, want, what string) {
	h.Helper()
	if got := outTexts(items); got != want {
		h.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func testOutboxFIFO(h *H) {
	h.send("u1", "a", "b")
	h.send("u2", "c")
	h.send("u1", "d")
	items := h.claimOut("A", 10)
	h.wantOut(items, "u1:a u1:b u2:c u1:d ", "claim")
	for _, it := range items {
		if it.Queue != dmflow.QueueDM || !it.Created.Equal(T0) || it.Attempts != 0 {
			h.Fatalf("item = %+v", it)
		}
	}
	h.wantOut(h.claimOut("A", 10), "", "same owner again")
	h.wantOut(h.claimOut("B", 10), "", "other owner")
	h.send("u3", "e")
	h.wantOut(h.claimOut("A", 1), "u3:e ", "new item")
}

// testOutboxFairAccounts: a claim is shared between accounts round-robin,
// so one account's backlog does not fill it while another account's
// replies wait; each user's items still come in Seq order, users waiting
// for a retry or leased to another owner contribute nothing, and the
// accounts in Claim.Skip contribute nothing.
func testOutboxFairAccounts(h *H) {
	send := func(acct, u string, texts ...string) {
		k := dmflow.SessionKey{Account: acct, User: u}
		c := dmflow.Commit{Key: k, Now: T0}
		for _, t := range texts {
			c.Outbox = append(c.Outbox, dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: u}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: t}})
		}
		h.commit(c)
	}
	claim := func(owner string, max int, skip ...string) []dmflow.OutboxItem {
		c := claimOf(owner, max, T0)
		c.Skip = skip
		items, err := h.S.ClaimOutbox(h.Ctx, dmflow.QueueDM, c)
		h.check(err, "ClaimOutbox")
		return items
	}
	send("a", "u1", "a1", "a2", "a3")
	send("a", "u2", "a4", "a5")
	send("b", "u1", "b1", "b2")
	send("c", "u9", "c1")
	h.wantOut(claim("A", 4), "u1:a1 u1:a2 u1:b1 u9:c1 ", "rounds: a1 b1 c1, then a2")
	h.wantOut(claim("A", 3), "u1:a3 u2:a4 u1:b2 ", "rounds: a3 b2, then a4")
	h.wantOut(claim("A", 10, "a"), "", "account a skipped")
	// Another owner: account a's free user u3 and account d's user share a
	// claim of 2 although a's older items of u1 and u2 (leased to A) come
	// first and u3 has more.
	send("a", "u3", "a6", "a7")
	send("d", "u1", "d1")
	bd := claim("B", 2)
	h.wantOut(bd, "u3:a6 u1:d1 ", "B: one of a's, one of d's")
	h.wantOut(claim("B", 10, "a", "d"), "", "B: a and d skipped")
	// A user of d waiting for a retry: d contributes nothing, a the rest.
	h.wantOut(claim("A", 10), "u2:a5 ", "A: the rest of a")
	h.wantOut(claim("B", 10), "u3:a7 ", "B: the rest of u3")
	send("d", "u1", "d2")
	h.check(h.S.RetryOutbox(h.Ctx, "B", bd[1].Seq, Min(5), "throttled"), "RetryOutbox")
	send("e", "u1", "e1")
	h.wantOut(claim("B", 10), "u1:e1 ", "B: d's user waits for its head, e's reply goes")
}

func testHeadOfLine(h *H) {
	h.send("u1", "a", "b")
	h.send("u2", "c")
	items := h.claimOut("A", 10)
	h.check(h.S.RetryOutbox(h.Ctx, "A", items[0].Seq, Min(5), "429"), "RetryOutbox")
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: items[2].Seq}), "AckOutbox")
	h.send("u2", "d")
	h.wantOut(h.claimOut("A", 10, 4), "u2:d ", "u1 waits for its head")
	h.wantOut(h.claimOut("B", 10, 4), "", "others wait too")
	got := h.claimOut("A", 10, 5)
	h.wantOut(got, "u1:a u1:b ", "head due again")
	if got[0].Attempts != 1 || got[0].LastError != "429" || !got[0].NotBefore.Equal(Min(5)) {
		h.Fatalf("retried item = %+v", got[0])
	}
}

func testAck(h *H) {
	h.send("u1", "a", "b")
	items := h.claimOut("A", 10)
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: items[0].Seq}, dmflow.Ack{Seq: 999999}), "AckOutbox")
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: items[0].Seq}), "AckOutbox twice")
	if n := h.outDepth(dmflow.QueueDM); n != 1 {
		h.Fatalf("depth %d, want 1", n)
	}
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueDM, "A"), "ReleaseOutbox")
	h.wantOut(h.claimOut("B", 10), "u1:b ", "after ack and release")
}

// testAckRemembers: an acknowledgement's Remember key deduplicates like an
// inbox key (the platform's echo of a delivered reply), until pruned.
func testAckRemembers(h *H) {
	h.send("u1", "a", "b")
	items := h.claimOut("A", 10, 1)
	h.check(h.S.AckOutbox(h.Ctx, "A", Min(1), dmflow.Ack{Seq: items[0].Seq, Remember: "echo:m1"},
		dmflow.Ack{Seq: 999999, Remember: "echo:m9"}, dmflow.Ack{Seq: items[1].Seq}), "AckOutbox")
	if n := h.outDepth(dmflow.QueueDM); n != 0 {
		h.Fatalf("outbox depth %d after the acks, want 0", n)
	}
	echo := func(mid string) dmflow.Event {
		return dmflow.Event{Key: "echo:" + mid, Kind: dmflow.KindEcho, Channel: "test", Account: "acct", User: "u1", Time: T0, MID: mid}
	}
	if r := h.append(Min(2), echo("m1"), echo("m9")); r.Added != 0 || r.Duplicates != 2 {
		h.Fatalf("echoes of remembered mids: %+v, want 2 duplicates", r)
	}
	if h.depth() != 0 || len(h.claim("B", 10, Min(2))) != 0 {
		h.Fatal("a remembered key became an inbox item")
	}
	h.check(h.S.AckOutbox(h.Ctx, "A", Min(3), dmflow.Ack{Seq: 999998, Remember: "echo:m1"}), "remember twice")
	n, err := h.S.PruneInbox(h.Ctx, Min(2))
	h.check(err, "PruneInbox")
	if n != 2 {
		h.Fatalf("PruneInbox removed %d, want the 2 remembered keys", n)
	}
	if r := h.append(Min(4), echo("m1")); r.Added != 1 {
		h.Fatalf("after prune: %+v, want the forgotten key added", r)
	}
}

// echoEvent is the platform's echo of message mid to user u.
func echoEvent(u, mid string) dmflow.Event {
	return dmflow.Event{Key: "echo:" + mid, Kind: dmflow.KindEcho, Channel: "test", Account: "acct", User: u, Time: T0, MID: mid}
}

func (h *H) remembered(key string, now time.Time) bool {
	h.Helper()
	ok, err := h.S.Remembered(h.Ctx, key, now)
	h.check(err, "Remembered")
	return ok
}

// testAckRemembersPendingKey: the echo of a reply may reach the inbox
// before the reply is acknowledged; the acknowledgement still remembers
// its key, so Remembered reports it (a replica that did not send the
// reply asks it before taking the echo for a person's message).
func testAckRemembersPendingKey(h *H) {
	h.append(T0, echoEvent("u1", "m1"), Msg("u1", "k1"))
	if h.remembered("echo:m1", T0) || h.remembered("k1", T0) || h.remembered("nope", T0) {
		h.Fatal("an inbox key or an unknown key reported as remembered")
	}
	h.send("u1", "a")
	items := h.claimOut("A", 10)
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: items[0].Seq, Remember: "echo:m1"}), "AckOutbox")
	if !h.remembered("echo:m1", Min(1)) {
		h.Fatal("key of a pending echo not remembered by the ack")
	}
	if h.depth() != 2 {
		h.Fatalf("inbox depth %d, want the 2 pending items kept", h.depth())
	}
	if r := h.append(Min(1), echoEvent("u1", "m1")); r.Duplicates != 1 {
		h.Fatalf("redelivered echo: %+v, want a duplicate", r)
	}
	if _, err := h.S.PruneInbox(h.Ctx, Min(1)); err != nil {
		h.Fatal(err)
	}
	if h.remembered("echo:m1", Min(1)) {
		h.Fatal("pruned key still remembered")
	}
}

// testAckRenewsLease: acknowledgements and RenewOutbox keep the user
// leased to the owner beyond the claim's lease; once the lease expired and
// another owner took the user over, the first owner's acknowledgement
// still removes its item but reports ErrLeaseLost.
func testAckRenewsLease(h *H) {
	h.send("u1", "a", "b", "c", "d")
	h.send("u2", "x")
	items := h.claimOut("A", 1) // u1's lease ends at Min(1)
	items = append(items, h.claimOut("A", 10)...)
	sec := func(n int) time.Time { return T0.Add(time.Duration(n) * time.Second) }
	h.check(h.S.AckOutbox(h.Ctx, "A", sec(50), dmflow.Ack{Seq: items[0].Seq}), "ack a")
	h.wantOut(h.claimOut("B", 10, 1), "u2:x ", "B after the claim's lease: u1 renewed by the ack")
	lost, err := h.S.RenewOutbox(h.Ctx, dmflow.QueueDM, "A", sec(100), Key("u1"), Key("u3"))
	h.check(err, "RenewOutbox")
	if len(lost) != 1 || lost[0] != Key("u3") {
		h.Fatalf("RenewOutbox lost %v, want [u3] (never leased)", lost)
	}
	if lost, _ = h.S.RenewOutbox(h.Ctx, dmflow.QueueNotices, "A", sec(100), Key("u1")); len(lost) != 1 {
		h.Fatalf("RenewOutbox of another queue lost %v, want [u1]", lost)
	}
	h.wantOut(h.claimOut("B", 10, 2), "", "B before the renewed lease ends (sec 160)")
	got, err := h.S.ClaimOutbox(h.Ctx, dmflow.QueueDM, claimOf("B", 10, sec(160)))
	h.check(err, "ClaimOutbox")
	h.wantOut(got, "u1:b u1:c u1:d ", "B takes u1 over at the end of the renewed lease")
	err = h.S.AckOutbox(h.Ctx, "A", sec(160), dmflow.Ack{Seq: items[1].Seq, Remember: "echo:mb"})
	h.wantErr(err, dmflow.ErrLeaseLost, "A acks after the takeover")
	if h.outDepth(dmflow.QueueDM) != 3 || !h.remembered("echo:mb", sec(160)) {
		h.Fatal("an ack reporting ErrLeaseLost did not remove its item and remember its key")
	}
	if lost, _ = h.S.RenewOutbox(h.Ctx, dmflow.QueueDM, "A", sec(160), Key("u1")); len(lost) != 1 {
		h.Fatalf("A renews B's lease: lost %v, want [u1]", lost)
	}
	h.check(h.S.AckOutbox(h.Ctx, "B", sec(161), dmflow.Ack{Seq: items[2].Seq}), "B acks")
}

// testAckExpired: an owner whose lease expired holds the user no more,
// even when nobody took it over; its acknowledgement still counts.
func testAckExpired(h *H) {
	h.send("u1", "a", "b")
	items := h.claimOut("A", 10)
	h.wantErr(h.S.AckOutbox(h.Ctx, "A", Min(1), dmflow.Ack{Seq: items[0].Seq}), dmflow.ErrLeaseLost, "ack at the lease end")
	if lost, err := h.S.RenewOutbox(h.Ctx, dmflow.QueueDM, "A", Min(1), Key("u1")); err != nil || len(lost) != 1 {
		h.Fatalf("renew at the lease end: lost %v, %v, want [u1]", lost, err)
	}
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueDM, "A"), "ReleaseOutbox")
	h.wantOut(h.claimOut("A", 10, 1), "u1:b ", "the expired ack removed a")
}

// PendingLister is implemented by the stores that list a user's pending
// outbox items without claiming them (all of dmflow's; the bot uses it to
// recognise echoes of replies it has not acknowledged yet).
type PendingLister interface {
	PendingOutbox(ctx context.Context, queue string, key dmflow.SessionKey, limit int) ([]dmflow.OutboxItem, error)
}

func testPendingOutbox(h *H) {
	pl, ok := h.S.(PendingLister)
	if !ok {
		h.Fatalf("%T has no PendingOutbox method", h.S)
	}
	h.send("u1", "a", "b", "c")
	h.send("u2", "x")
	claimed := h.claimOut("A", 1)
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: claimed[0].Seq}), "AckOutbox")
	got, err := pl.PendingOutbox(h.Ctx, dmflow.QueueDM, Key("u1"), 1)
	h.check(err, "PendingOutbox")
	h.wantOut(got, "u1:b ", "first pending of u1")
	got, err = pl.PendingOutbox(h.Ctx, dmflow.QueueDM, Key("u1"), 0)
	h.check(err, "PendingOutbox")
	h.wantOut(got, "u1:b u1:c ", "pending of u1")
	got, err = pl.PendingOutbox(h.Ctx, dmflow.QueueNotices, Key("u1"), 0)
	h.check(err, "PendingOutbox notices")
	h.wantOut(got, "", "other queue")
	h.wantOut(h.claimOut("A", 10), "u1:b u1:c u2:x ", "listing claimed nothing")
}

func testDeadLetters(h *H) {
	h.send("u1", "a", "b")
	items := h.claimOut("A", 10)
	h.check(h.S.DeadLetter(h.Ctx, "A", items[0].Seq, "bad recipient", Min(1)), "DeadLetter")
	h.wantErr(h.S.DeadLetter(h.Ctx, "A", items[0].Seq, "again", Min(1)), dmflow.ErrNotFound, "dead-letter twice")
	dead, err := h.S.DeadLetters(h.Ctx, 0)
	h.check(err, "DeadLetters")
	if len(dead) != 1 || dead[0].Reason != "bad recipient" || !dead[0].At.Equal(Min(1)) || dead[0].Item.Message.Reply.Text != "a" {
		h.Fatalf("DeadLetters = %+v", dead)
	}
	if h.outDepth(dmflow.QueueDM) != 1 {
		h.Fatal("dead letter still counted in the queue")
	}
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Seq: items[1].Seq}), "ack b")
	h.check(h.S.RequeueDead(h.Ctx, dead[0].Item.Seq), "RequeueDead")
	got := h.claimOut("A", 10)
	h.wantOut(got, "u1:a ", "requeued")
	if got[0].Attempts != 0 || got[0].Seq <= items[1].Seq {
		h.Fatalf("requeued item = %+v, want attempts 0 and a new seq", got[0])
	}
	h.check(h.S.DeadLetter(h.Ctx, "A", got[0].Seq, "again", Min(2)), "DeadLetter again")
	dead, _ = h.S.DeadLetters(h.Ctx, 10)
	h.check(h.S.DeleteDead(h.Ctx, dead[0].Item.Seq), "DeleteDead")
	h.wantErr(h.S.DeleteDead(h.Ctx, dead[0].Item.Seq), dmflow.ErrNotFound, "DeleteDead twice")
	h.wantErr(h.S.RequeueDead(h.Ctx, dead[0].Item.Seq), dmflow.ErrNotFound, "RequeueDead deleted")
	if dead, _ = h.S.DeadLetters(h.Ctx, 10); len(dead) != 0 {
		h.Fatalf("dead letters left: %d", len(dead))
	}
}

func testOutboxTakeover(h *H) {
	h.send("u1", "a")
	items := h.claimOut("A", 10)
	h.wantOut(h.claimOut("B", 10, 1), "u1:a ", "B after A's lease")
	h.wantErr(h.S.RetryOutbox(h.Ctx, "A", items[0].Seq, Min(9), "x"), dmflow.ErrLeaseLost, "A retries B's item")
	h.wantErr(h.S.DeadLetter(h.Ctx, "A", items[0].Seq, "x", Min(1)), dmflow.ErrLeaseLost, "A dead-letters B's item")
	h.wantErr(h.S.RetryOutbox(h.Ctx, "B", 999999, Min(9), "x"), dmflow.ErrNotFound, "unknown seq")
}

func testOutboxRelease(h *H) {
	h.send("u1", "a")
	h.send("u2", "b")
	h.claimOut("A", 10)
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueDM, "A", Key("u2")), "ReleaseOutbox u2")
	h.wantOut(h.claimOut("B", 10), "u2:b ", "B after release")
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueNotices, "A"), "release of another queue")
	h.wantOut(h.claimOut("B", 10), "", "u1 still held")
}

func testNoticesQueue(h *H) {
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Notices: []dmflow.Notice{{Type: "a", Key: Key("u1")}, {Type: "b"}}})
	h.send("u1", "m")
	items, err := h.S.ClaimOutbox(h.Ctx, dmflow.QueueNotices, claimOf("A", 10, T0))
	h.check(err, "ClaimOutbox notices")
	h.wantOut(items, "u1:a u1:b ", "notices (key defaults to the commit's)")
	if items[0].Message != nil || items[0].Queue != dmflow.QueueNotices {
		h.Fatalf("notice item = %+v", items[0])
	}
	if h.outDepth(dmflow.QueueDM) != 1 || h.outDepth("nope") != 0 {
		h.Fatal("queue depths mixed")
	}
}
