package storetest

import (
	"github.com/dmflow/dmflow"
)

var copyTests = []test{
	{"ReturnedValues", testReturnedCopies},
	{"InputValues", testInputCopies},
	{"Closed", testClosed},
}

func testReturnedCopies(h *H) {
	s := &dmflow.Session{Key: Key("u1"), Vars: map[string]any{"k": "v", "l": []any{"x"}}, Timers: []dmflow.Timer{{ID: "t", Due: Min(9)}}}
	h.put(s)
	got := h.session("u1")
	got.Vars["k"] = "changed"
	got.Vars["l"].([]any)[0] = "changed"
	got.Timers[0].ID = "changed"
	if again := h.session("u1"); again.Vars["k"] != "v" || again.Vars["l"].([]any)[0] != "x" || again.Timers[0].ID != "t" {
		h.Fatalf("mutating a returned session changed the store: %+v", again)
	}
	h.append(T0, Msg("u1", "a"))
	hist, _ := h.S.History(h.Ctx, Key("u1"), 1)
	hist[0].Event.Text = "changed"
	if again, _ := h.S.History(h.Ctx, Key("u1"), 1); again[0].Event.Text != "a" {
		h.Fatal("mutating a returned item changed the store")
	}
	h.send("u1", "m")
	out := h.claimOut("A", 1)
	out[0].Message.Reply.Text = "changed"
	h.check(h.S.ReleaseOutbox(h.Ctx, dmflow.QueueDM, "A"), "ReleaseOutbox")
	h.wantOut(h.claimOut("A", 1), "u1:m ", "after mutating a claimed message")
	h.check(h.S.PutToken(h.Ctx, dmflow.Token{Account: "a", Scopes: []string{"s"}}), "PutToken")
	tok, _ := h.S.GetToken(h.Ctx, "a")
	tok.Scopes[0] = "changed"
	if again, _ := h.S.GetToken(h.Ctx, "a"); again.Scopes[0] != "s" {
		h.Fatal("mutating a returned token changed the store")
	}
}

func testInputCopies(h *H) {
	s := &dmflow.Session{Key: Key("u1"), Vars: map[string]any{"k": "v"}}
	h.put(s)
	s.Vars["k"] = "changed"
	s.State = "changed"
	if got := h.session("u1"); got.Vars["k"] != "v" || got.State != "" {
		h.Fatalf("mutating a committed session changed the store: %+v", got)
	}
	evs := []dmflow.Event{Msg("u1", "a")}
	h.append(T0, evs...)
	evs[0].Text = "changed"
	h.wantTexts(h.claim("A", 1, T0), "u1:a ", "after mutating the appended event")
}

func testClosed(h *H) {
	h.check(h.S.Close(), "Close")
	_, err := h.S.AppendInbox(h.Ctx, []dmflow.Event{Msg("u1", "a")}, T0)
	h.wantErr(err, dmflow.ErrClosed, "AppendInbox after Close")
	_, err = h.S.GetSession(h.Ctx, Key("u1"))
	h.wantErr(err, dmflow.ErrClosed, "GetSession after Close")
}
