package storetest

import (
	"encoding/json"
	"strings"

	"github.com/dmflow/dmflow"
)

var personalTests = []test{
	{"ForgetErasesPerson", testForgetPerson},
	{"ForgetQueuedBehind", testForgetQueued},
	{"ForgetAccount", testForgetAccount},
	{"Export", testExport},
	{"Sweep", testSweep},
}

// secret is the distinctive text the personal-data tests look for.
const secret = "zebra-4711-secret"

// person stores one of everything about user u of account acct: a done
// message, a failed one, a pending one (seq returned), a session with a
// timer, a pending reply and notice, a dead letter and an action call.
func (h *H) person(acct, u string) (pending uint64) {
	h.Helper()
	k := dmflow.SessionKey{Account: acct, User: u}
	msg := func(key string) dmflow.Event {
		e := Msg(u, acct+u+key)
		e.Account, e.Text = acct, secret+" "+key
		return e
	}
	h.append(T0, msg("m1"), msg("m2"))
	items := h.claim("A", 10, T0)
	var mine []dmflow.InboxItem
	for _, it := range items {
		if it.Event.SessionKey() == k {
			mine = append(mine, it)
		}
	}
	if len(mine) != 2 {
		h.Fatalf("claimed %d items of %s, want 2", len(mine), k)
	}
	s := &dmflow.Session{Key: k, State: "s", Vars: map[string]any{"said": secret},
		Timers: []dmflow.Timer{{ID: "t-" + u, Name: "remind", Due: Min(60)}}}
	h.commit(dmflow.Commit{Owner: "A", Seq: mine[0].Seq, Key: k, Session: s, Now: T0,
		Outbox:  []dmflow.Outgoing{reply(k, secret+" reply1"), reply(k, secret+" reply2")},
		Notices: []dmflow.Notice{{Type: "lead", Key: k, Time: T0, Data: map[string]any{"text": secret}}},
		Actions: []dmflow.ActionCall{{ID: "act-" + acct + u, Name: "crm", Key: k, Args: map[string]any{"text": secret}}}})
	h.commit(dmflow.Commit{Owner: "A", Seq: mine[1].Seq, Key: k, Failed: "boom " + secret, Now: T0})
	out := h.claimOut("A", 10)
	for _, it := range out {
		if it.Key == k && it.Message != nil && strings.HasSuffix(it.Message.Reply.Text, "reply1") {
			h.check(h.S.DeadLetter(h.Ctx, "A", it.Seq, "bad", T0), "DeadLetter")
		}
	}
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueDM, "A"), "ReleaseOutbox")
	h.check(h.S.ReleaseInbox(h.Ctx, "A"), "ReleaseInbox")
	h.append(Min(1), msg("m3"))
	for _, it := range h.historyOf(k) {
		if it.Event.Key == acct+u+"m3" {
			return it.Seq
		}
	}
	h.Fatalf("pending item of %s not in history", k)
	return 0
}

func reply(k dmflow.SessionKey, text string) dmflow.Outgoing {
	return dmflow.Outgoing{Key: k, To: dmflow.Recipient{ID: k.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: text}}
}

func (h *H) historyOf(k dmflow.SessionKey) []dmflow.InboxItem {
	h.Helper()
	items, err := h.S.History(h.Ctx, k, 100)
	h.check(err, "History")
	return items
}

func (h *H) export(k dmflow.SessionKey) *dmflow.PersonalExport {
	h.Helper()
	x, err := h.S.Export(h.Ctx, k)
	h.check(err, "Export")
	return x
}

// exportText is the export as JSON, for looking for the secret.
func exportText(x *dmflow.PersonalExport) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// wantGone checks that nothing about k is stored but its pending items
// (wantPending of them).
func (h *H) wantGone(k dmflow.SessionKey, wantPending int) {
	h.Helper()
	x := h.export(k)
	if x.Session != nil || len(x.Failed)+len(x.Outbox)+len(x.DeadLetters)+len(x.Actions) != 0 || len(x.Inbox) != wantPending {
		h.Fatalf("after forget, %s still has: %s", k, exportText(x))
	}
	if _, err := h.S.GetSession(h.Ctx, k); err == nil {
		h.Fatalf("session of %s still there", k)
	}
	dead, err := h.S.DeadLetters(h.Ctx, 100)
	h.check(err, "DeadLetters")
	for _, d := range dead {
		if d.Item.Key == k {
			h.Fatalf("dead letter of %s still listed", k)
		}
	}
	failed, err := h.S.FailedInbox(h.Ctx, 100)
	h.check(err, "FailedInbox")
	for _, f := range failed {
		if f.Item.Event.SessionKey() == k {
			h.Fatalf("failed item of %s still listed", k)
		}
	}
}

// wantKept checks that everything about k is still stored.
func (h *H) wantKept(k dmflow.SessionKey) {
	h.Helper()
	x := h.export(k)
	if x.Session == nil || len(x.Inbox) != 3 || len(x.Failed) != 1 || len(x.Outbox) != 2 || len(x.DeadLetters) != 1 || len(x.Actions) != 1 {
		h.Fatalf("export of %s: %s", k, exportText(x))
	}
}

func testForgetPerson(h *H) {
	h.person("acct", "u1")
	h.person("acct", "u2")
	n, err := h.S.Forget(h.Ctx, dmflow.Forget{Key: Key("u1"), Now: Min(2)})
	h.check(err, "Forget")
	want := dmflow.Forgotten{Sessions: 1, Inbox: 2, Outbox: 2, DeadLetters: 1, Actions: 1}
	if n != want {
		h.Fatalf("Forget = %+v, want %+v", n, want)
	}
	h.wantGone(Key("u1"), 1) // the pending m3 arrived after the request
	h.wantKept(Key("u2"))
	if x := exportText(h.export(Key("u1"))); strings.Count(x, secret) != 1 {
		h.Fatalf("secret outside the pending item: %s", x)
	}
	// The timer went with the session: only u2's fires.
	fired, err := h.S.FireTimers(h.Ctx, Min(61), 10)
	h.check(err, "FireTimers")
	if fired != 1 {
		h.Fatalf("fired %d timers, want u2's only", fired)
	}
	acts := h.claimActs("B", 5)
	if len(acts) != 1 || acts[0].Call.Key != Key("u2") {
		h.Fatalf("actions after forget: %+v", acts)
	}
	n, err = h.S.Forget(h.Ctx, dmflow.Forget{Key: Key("nobody"), Now: Min(2)})
	if err != nil || n.Total() != 0 {
		h.Fatalf("forget nobody = %+v, %v", n, err)
	}
}

func testForgetQueued(h *H) {
	pending := h.person("acct", "u1")
	admin := dmflow.Event{Key: "admin:f1", Kind: dmflow.KindAdmin, Account: "acct", User: "u1",
		Admin: &dmflow.AdminCommand{Op: dmflow.AdminForget}}
	h.append(Min(2), admin)
	h.append(Min(3), func() dmflow.Event { e := Msg("u1", "after"); e.Text = "later words"; return e }())
	items := h.claim("A", 10, Min(3))
	if len(items) != 3 || items[0].Seq != pending {
		h.Fatalf("claimed %s", texts(items))
	}
	h.done("A", items[0], Min(3))
	f := dmflow.Forget{Key: Key("u1"), Owner: "B", Seq: items[1].Seq, Now: Min(3)}
	_, err := h.S.Forget(h.Ctx, f)
	h.wantErr(err, dmflow.ErrLeaseLost, "Forget by a non-owner")
	f.Owner = "A"
	n, err := h.S.Forget(h.Ctx, f)
	h.check(err, "Forget")
	if n.Inbox != 4 {
		h.Fatalf("forgot %d inbox items, want m1, m2, m3 and the command", n.Inbox)
	}
	h.wantGone(Key("u1"), 1)
	if got := h.historyOf(Key("u1")); len(got) != 1 || got[0].Event.Text != "later words" {
		h.Fatalf("history after forget: %s", texts(got))
	}
	// The later item is still A's to finish.
	h.done("A", items[2], Min(3))
	if h.depth() != 0 {
		h.Fatalf("inbox depth %d after finishing", h.depth())
	}
}

func testForgetAccount(h *H) {
	h.person("acct", "u1")
	h.person("acct", "u2")
	h.person("other", "u1")
	n, err := h.S.Forget(h.Ctx, dmflow.Forget{Key: dmflow.SessionKey{Account: "acct"}, Now: Min(2)})
	h.check(err, "Forget account")
	if n.Sessions != 2 || n.Actions != 2 {
		h.Fatalf("Forget account = %+v", n)
	}
	h.wantGone(Key("u1"), 1)
	h.wantGone(Key("u2"), 1)
	h.wantKept(dmflow.SessionKey{Account: "other", User: "u1"})
	_, err = h.S.Forget(h.Ctx, dmflow.Forget{Now: Min(2)})
	h.wantErr(err, dmflow.ErrInvalid, "Forget without an account")
}

func testExport(h *H) {
	h.person("acct", "u1")
	h.person("acct", "u2")
	x := h.export(Key("u1"))
	h.wantKept(Key("u1"))
	if x.Key != Key("u1") || x.Session.Vars["said"] != secret || len(x.Session.Timers) != 1 {
		h.Fatalf("export session: %+v", x.Session)
	}
	if x.Failed[0].Reason != "boom "+secret || x.Actions[0].Call.ID != "act-acctu1" {
		h.Fatalf("export: %s", exportText(x))
	}
	for _, it := range append(x.Outbox, x.DeadLetters[0].Item) {
		if it.Key != Key("u1") {
			h.Fatalf("export of u1 holds %s's item", it.Key)
		}
	}
	if x := h.export(Key("nobody")); x.Session != nil || len(x.Inbox) != 0 || x.Outbox == nil {
		h.Fatalf("export of nobody: %s", exportText(x))
	}
}

func testSweep(h *H) {
	h.person("acct", "u1")
	h.check(h.S.AckOutbox(h.Ctx, "A", T0, dmflow.Ack{Remember: "echo:m.1"}), "AckOutbox")
	// Nothing is older than T0.
	n, err := h.S.Sweep(h.Ctx, dmflow.Sweep{History: T0, Delivered: T0, DeadLetters: T0, Notices: T0})
	h.check(err, "Sweep at T0")
	if n != (dmflow.Swept{}) {
		h.Fatalf("Sweep at T0 = %+v", n)
	}
	n, err = h.S.Sweep(h.Ctx, dmflow.Sweep{History: Min(5), Delivered: Min(5), DeadLetters: Min(5), Notices: Min(5)})
	h.check(err, "Sweep")
	if n != (dmflow.Swept{History: 2, Delivered: 1, DeadLetters: 1, Notices: 1}) {
		h.Fatalf("Sweep = %+v", n)
	}
	x := h.export(Key("u1"))
	// The pending message, the session, the pending reply and the action stay.
	if len(x.Inbox) != 1 || len(x.Failed) != 0 || len(x.DeadLetters) != 0 || len(x.Outbox) != 1 || x.Session == nil || len(x.Actions) != 1 {
		h.Fatalf("after sweep: %s", exportText(x))
	}
	if h.remembered("echo:m.1", Min(6)) {
		h.Fatalf("delivery record survived its retention")
	}
}
