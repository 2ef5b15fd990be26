package storetest

import (
	"fmt"
	"reflect"

	"github.com/dmflow/dmflow"
)

var inboxTests = []test{
	{"AppendDedupe", testAppendDedupe},
	{"AppendInvalid", testAppendInvalid},
	{"ClaimOrder", testClaimOrder},
	{"ClaimMax", testClaimMax},
	{"ClaimFairAccounts", testClaimFairAccounts},
	{"RoundTrip", testInboxRoundTrip},
	{"History", testHistory},
	{"HistoryReplies", testHistoryReplies},
	{"Prune", testPrune},
}

func testAppendDedupe(h *H) {
	steps := []struct {
		evs        []dmflow.Event
		added, dup int
	}{
		{[]dmflow.Event{Msg("u1", "a"), Msg("u1", "b"), Msg("u1", "a")}, 2, 1},
		{[]dmflow.Event{Msg("u1", "a"), Msg("u2", "c")}, 1, 1},
		{[]dmflow.Event{Msg("u2", "c"), Msg("u2", "c")}, 0, 2},
		{nil, 0, 0},
	}
	for i, st := range steps {
		r := h.append(T0, st.evs...)
		if r.Added != st.added || r.Duplicates != st.dup {
			h.Fatalf("step %d: got %+v, want added %d duplicates %d", i, r, st.added, st.dup)
		}
	}
	if n := h.depth(); n != 3 {
		h.Fatalf("InboxDepth = %d, want 3", n)
	}
	items := h.claim("w", 10, T0)
	h.wantTexts(items, "u1:a u1:b u2:c ", "claimed")
	for i := 1; i < len(items); i++ {
		if items[i].Seq <= items[i-1].Seq {
			h.Fatalf("seqs not increasing: %d then %d", items[i-1].Seq, items[i].Seq)
		}
	}
}

func testAppendInvalid(h *H) {
	cases := map[string]dmflow.Event{
		"no key":     {Account: "acct", User: "u"},
		"no account": {Key: "k", User: "u"},
		"no user":    {Key: "k", Account: "acct"},
	}
	for name, e := range cases {
		_, err := h.S.AppendInbox(h.Ctx, []dmflow.Event{Msg("u", "ok"), e}, T0)
		h.wantErr(err, dmflow.ErrInvalid, name)
	}
	if n := h.depth(); n != 0 {
		h.Fatalf("InboxDepth after invalid appends = %d, want 0", n)
	}
}

func testClaimOrder(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u2", "2"), Msg("u1", "3"))
	h.append(T0, Msg("u1", "4"), Msg("u3", "5"))
	items := h.claim("A", 10, T0)
	h.wantTexts(items, "u1:1 u2:2 u1:3 u1:4 u3:5 ", "first claim")
	for _, it := range items {
		if it.Attempts != 1 || !it.Received.Equal(T0) {
			h.Fatalf("item %d: attempts %d received %v, want 1 and %v", it.Seq, it.Attempts, it.Received, T0)
		}
	}
	h.wantTexts(h.claim("A", 10, T0), "", "claim again by the same owner")
	h.wantTexts(h.claim("B", 10, T0), "", "claim by another owner")
	h.append(T0, Msg("u1", "6"), Msg("u4", "7"))
	h.wantTexts(h.claim("B", 10, T0), "u4:7 ", "B gets only the free user")
	h.wantTexts(h.claim("A", 10, T0), "u1:6 ", "A gets the new item of its user")
}

func testClaimMax(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u2", "2"), Msg("u1", "3"))
	h.wantTexts(h.claim("A", 2, T0), "u1:1 u2:2 ", "max 2")
	h.wantTexts(h.claim("A", 2, T0), "u1:3 ", "the rest")
	_, err := h.S.ClaimInbox(h.Ctx, claimOf("A", 0, T0))
	h.wantErr(err, dmflow.ErrInvalid, "Max 0")
}

// testClaimFairAccounts: a claim is shared between accounts round-robin,
// so one account's backlog does not fill it while another account's items
// wait; each user's items still come in Seq order.
func testClaimFairAccounts(h *H) {
	in := func(acct, u, k string) dmflow.Event {
		e := Msg(u, k)
		e.Account = acct
		return e
	}
	h.append(T0, in("a", "u1", "a1"), in("a", "u2", "a2"), in("a", "u1", "a3"), in("a", "u3", "a4"), in("a", "u2", "a5"), in("a", "u3", "a6"))
	h.append(T0, in("b", "u1", "b1"), in("b", "u1", "b2"), in("c", "u9", "c1"))
	h.wantTexts(h.claim("A", 5, T0), "u1:a1 u2:a2 u1:b1 u1:b2 u9:c1 ", "rounds: a1 b1 c1, then a2 b2")
	h.wantTexts(h.claim("A", 2, T0), "u1:a3 u3:a4 ", "then the backlog")
	// Another owner: account a's free user u4 and account d's user share
	// a claim of 2 although a's older items of u1-u3 (leased to A) come
	// first and u4 has more.
	h.append(T0, in("a", "u4", "a7"), in("a", "u4", "a8"), in("d", "u1", "d1"))
	h.wantTexts(h.claim("B", 2, T0), "u4:a7 u1:d1 ", "B: one of a's, one of d's")
	h.wantTexts(h.claim("C", 10, T0), "", "nothing free for C")
	h.wantTexts(h.claim("B", 1, T0), "u4:a8 ", "B: the rest of u4")
}

func testInboxRoundTrip(h *H) {
	e := Msg("u1", "rt")
	e.Attachments = []dmflow.Attachment{{Type: "image", URL: "https://x/y.png"}}
	e.ReplyTo = &dmflow.ReplyTo{MID: "m0"}
	e.Raw = []byte(`{"raw":true}`)
	h.append(T0, e)
	items := h.claim("A", 1, T0)
	if len(items) != 1 || !reflect.DeepEqual(items[0].Event, e) {
		h.Fatalf("round trip: got %+v, want %+v", items, e)
	}
}

func testHistory(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u10", "x"), Msg("u1", "2"), Msg("u1", "3"))
	items := h.claim("A", 10, T0)
	h.done("A", items[0], T0)
	got, err := h.S.History(h.Ctx, Key("u1"), 0)
	h.check(err, "History")
	h.wantTexts(got, "u1:1 u1:2 u1:3 ", "history of u1 (done and pending)")
	got, err = h.S.History(h.Ctx, Key("u1"), 2)
	h.check(err, "History limit 2")
	h.wantTexts(got, "u1:2 u1:3 ", "newest 2, oldest first")
	got, err = h.S.History(h.Ctx, Key("nobody"), 5)
	h.check(err, "History of unknown user")
	h.wantTexts(got, "", "unknown user")
}

// testHistoryReplies: a finished item keeps the replies its commit
// enqueued (InboxItem.Replies), a failed one too; items without replies
// and pending items have none. Export returns them as well.
func testHistoryReplies(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u1", "2"), Msg("u1", "3"), Msg("u1", "4"))
	items := h.claim("A", 10, T0)
	k := Key("u1")
	out := func(texts ...string) []dmflow.Outgoing {
		var o []dmflow.Outgoing
		for _, t := range texts {
			o = append(o, dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: "u1"}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: t}, Cause: items[0].Event.Key})
		}
		return o
	}
	h.commit(dmflow.Commit{Owner: "A", Seq: items[0].Seq, Key: k, Outbox: out("a", "b"), Now: T0})
	h.commit(dmflow.Commit{Owner: "A", Seq: items[1].Seq, Key: k, Now: T0})
	h.commit(dmflow.Commit{Owner: "A", Seq: items[2].Seq, Key: k, Outbox: out("c"), Failed: "boom", Now: T0})
	got, err := h.S.History(h.Ctx, k, 0)
	h.check(err, "History")
	want := [][]string{{"a", "b"}, nil, {"c"}, nil}
	texts := func(it dmflow.InboxItem) []string {
		var s []string
		for _, r := range it.Replies {
			s = append(s, r.Reply.Text)
		}
		return s
	}
	if len(got) != len(want) {
		h.Fatalf("history: %d items, want %d", len(got), len(want))
	}
	for i, it := range got {
		if g := texts(it); fmt.Sprint(g) != fmt.Sprint(want[i]) {
			h.Errorf("history item %d (%s): replies %q, want %q", i, it.Event.Text, g, want[i])
		}
	}
	if r := got[0].Replies[0]; r.Key != k || r.To.ID != "u1" || r.Cause != items[0].Event.Key {
		h.Errorf("recorded reply lost fields: %+v", r)
	}
	ex, err := h.S.Export(h.Ctx, k)
	h.check(err, "Export")
	if len(ex.Inbox) != 4 || fmt.Sprint(texts(ex.Inbox[0])) != "[a b]" {
		h.Errorf("export: inbox %d items, first replies %q; want 4 and [a b]", len(ex.Inbox), texts(ex.Inbox[0]))
	}
}

func testPrune(h *H) {
	h.append(T0, Msg("u1", "old"))
	h.done("A", h.claim("A", 1, T0)[0], T0)
	h.append(Min(60), Msg("u2", "pending"))
	if r := h.append(Min(61), Msg("u1", "old")); r.Duplicates != 1 {
		h.Fatalf("redelivery of a done item before pruning: %+v, want a duplicate", r)
	}
	n, err := h.S.PruneInbox(h.Ctx, Min(30))
	h.check(err, "PruneInbox")
	if n != 1 {
		h.Fatalf("PruneInbox removed %d, want 1", n)
	}
	got, _ := h.S.History(h.Ctx, Key("u1"), 10)
	h.wantTexts(got, "", "history after prune")
	n, err = h.S.PruneInbox(h.Ctx, Min(600))
	h.check(err, "PruneInbox of pending")
	if n != 0 || h.depth() != 1 {
		h.Fatalf("pending item pruned: removed %d, depth %d", n, h.depth())
	}
	if r := h.append(Min(62), Msg("u2", "pending"), Msg("u1", "old")); r.Added != 1 || r.Duplicates != 1 {
		h.Fatalf("after prune: %+v, want the pruned key added and the pending one a duplicate", r)
	}
}
