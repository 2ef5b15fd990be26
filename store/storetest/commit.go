package storetest

import (
	"reflect"

	"github.com/dmflow/dmflow"
)

var commitTests = []test{
	{"Atomic", testCommitAtomic},
	{"ConflictChangesNothing", testConflictChangesNothing},
	{"CAS", testCAS},
	{"Delete", testDelete},
	{"Failed", testFailed},
	{"Invalid", testCommitInvalid},
	{"SessionRoundTrip", testSessionRoundTrip},
}

// fullCommit finishes item it with a session, two replies, a notice and an action.
func fullCommit(owner string, it dmflow.InboxItem, version uint64) dmflow.Commit {
	k := it.Event.SessionKey()
	return dmflow.Commit{
		Owner: owner, Seq: it.Seq, Key: k, Now: T0,
		Session: &dmflow.Session{Key: k, Flow: "f", State: "s1", Version: version, Updated: T0},
		Outbox: []dmflow.Outgoing{
			{Key: k, To: dmflow.Recipient{ID: k.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "one"}, Cause: it.Event.Key},
			{Key: k, To: dmflow.Recipient{ID: k.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "two"}},
		},
		Notices: []dmflow.Notice{{Type: dmflow.NoticeStateEntered, Key: k, Time: T0, Data: map[string]any{"state": "s1"}}},
		Actions: []dmflow.ActionCall{{ID: "act-" + it.Event.Key, Name: "crm", Kind: "go", Key: k}},
	}
}

func testCommitAtomic(h *H) {
	h.append(T0, Msg("u1", "1"))
	it := h.claim("A", 1, T0)[0]
	h.commit(fullCommit("A", it, 0))
	if s := h.session("u1"); s.Version != 1 || s.State != "s1" {
		h.Fatalf("session = %+v, want version 1 state s1", s)
	}
	if h.outDepth(dmflow.QueueDM) != 2 || h.outDepth(dmflow.QueueNotices) != 1 || h.depth() != 0 {
		h.Fatalf("depths: dm %d notices %d inbox %d, want 2 1 0", h.outDepth(dmflow.QueueDM), h.outDepth(dmflow.QueueNotices), h.depth())
	}
	acts, err := h.S.ClaimActions(h.Ctx, claimOf("A", 10, T0))
	h.check(err, "ClaimActions")
	if len(acts) != 1 || acts[0].Call.ID != "act-1" {
		h.Fatalf("actions = %+v, want act-1", acts)
	}
}

func testConflictChangesNothing(h *H) {
	h.append(T0, Msg("u1", "1"), Msg("u1", "2"))
	items := h.claim("A", 2, T0)
	h.commit(fullCommit("A", items[0], 0))
	err := h.S.Commit(h.Ctx, fullCommit("A", items[1], 0))
	h.wantErr(err, dmflow.ErrConflict, "stale version")
	if h.outDepth(dmflow.QueueDM) != 2 || h.outDepth(dmflow.QueueNotices) != 1 || h.depth() != 1 {
		h.Fatal("a conflicting commit left some of its effects")
	}
	if s := h.session("u1"); s.Version != 1 {
		h.Fatalf("session version = %d, want 1", s.Version)
	}
	acts, _ := h.S.ClaimActions(h.Ctx, claimOf("A", 10, T0))
	if len(acts) != 1 {
		h.Fatalf("actions after conflict = %d, want 1", len(acts))
	}
	h.commit(fullCommit("A", items[1], 1))
	if s := h.session("u1"); s.Version != 2 {
		h.Fatalf("session version after retry = %d, want 2", s.Version)
	}
}

func testCAS(h *H) {
	cases := []struct {
		name    string
		version uint64
		err     error
		stored  uint64
	}{
		{"create", 0, nil, 1},
		{"stale create", 0, dmflow.ErrConflict, 1},
		{"update", 1, nil, 2},
		{"from the future", 5, dmflow.ErrConflict, 2},
		{"update again", 2, nil, 3},
	}
	for _, tc := range cases {
		s := &dmflow.Session{Key: Key("u1"), State: tc.name, Version: tc.version}
		err := h.S.Commit(h.Ctx, dmflow.Commit{Key: Key("u1"), Session: s, Now: T0})
		if tc.err != nil {
			h.wantErr(err, tc.err, tc.name)
		} else {
			h.check(err, tc.name)
		}
		if s.Version != tc.version {
			h.Fatalf("%s: Commit changed the caller's session version", tc.name)
		}
		if got := h.session("u1").Version; got != tc.stored {
			h.Fatalf("%s: stored version %d, want %d", tc.name, got, tc.stored)
		}
	}
}

func testDelete(h *H) {
	s := &dmflow.Session{Key: Key("u1"), State: "a", Timers: []dmflow.Timer{{ID: "t1", Due: Min(5)}}}
	h.commit(dmflow.Commit{Key: Key("u1"), Session: s, Now: T0})
	h.commit(dmflow.Commit{Key: Key("u1"), Delete: true, Now: T0})
	_, err := h.S.GetSession(h.Ctx, Key("u1"))
	h.wantErr(err, dmflow.ErrNotFound, "GetSession after delete")
	if _, ok, err := h.S.NextTimer(h.Ctx); ok || err != nil {
		h.Fatalf("NextTimer after delete: ok=%v err=%v, want no timer", ok, err)
	}
	h.commit(dmflow.Commit{Key: Key("u1"), Session: &dmflow.Session{Key: Key("u1")}, Now: T0})
	if v := h.session("u1").Version; v != 1 {
		h.Fatalf("recreated session version = %d, want 1", v)
	}
}

func testFailed(h *H) {
	h.append(T0, Msg("u1", "bad"), Msg("u1", "good"))
	items := h.claim("A", 2, T0)
	s := &dmflow.Session{Key: Key("u1"), State: "after-failure"}
	h.commit(dmflow.Commit{Owner: "A", Seq: items[0].Seq, Key: Key("u1"), Session: s, Failed: "boom", Now: Min(0)})
	failed, err := h.S.FailedInbox(h.Ctx, 0)
	h.check(err, "FailedInbox")
	if len(failed) != 1 || failed[0].Reason != "boom" || failed[0].Item.Event.Key != "bad" || !failed[0].At.Equal(T0) {
		h.Fatalf("FailedInbox = %+v", failed)
	}
	if h.depth() != 1 || h.session("u1").State != "after-failure" {
		h.Fatal("failed commit did not finish the item or apply the session")
	}
	hist, _ := h.S.History(h.Ctx, Key("u1"), 10)
	h.wantTexts(hist, "u1:bad u1:good ", "history includes the failed item")
}

func testCommitInvalid(h *H) {
	cases := map[string]dmflow.Commit{
		"no key":         {Now: T0},
		"other session":  {Key: Key("u1"), Session: &dmflow.Session{Key: Key("u2")}, Now: T0},
		"action sans id": {Key: Key("u1"), Actions: []dmflow.ActionCall{{Name: "x"}}, Now: T0},
	}
	for name, c := range cases {
		h.wantErr(h.S.Commit(h.Ctx, c), dmflow.ErrInvalid, name)
	}
}

func testSessionRoundTrip(h *H) {
	s := &dmflow.Session{
		Key: Key("u1"), Flow: "lead", FlowVersion: 3, State: "ask_email",
		Vars: map[string]any{"s": "x", "i": 42, "f": 1.5, "b": true, "nil": nil,
			"list": []any{"a", 1, 2.5}, "map": map[string]any{"k": []any{int(7)}}},
		Attempts: 2, Stack: []dmflow.Frame{{Flow: "main", State: "menu"}, // stored before variable scopes
			{Flow: "lead", State: "call", Scoped: true, Vars: map[string]any{"i": 7, "f": 2.5, "l": []any{1, "x"}}}},
		Timers:  []dmflow.Timer{{ID: "t", Name: "n", Due: Min(3)}},
		Handoff: &dmflow.Handoff{Since: T0, Reason: "asked", By: "flow"},
		Pending: &dmflow.ActionCall{ID: "p", Name: "crm", Args: map[string]any{"n": 1}},
		Profile: &dmflow.Profile{Username: "bob"}, LastInbound: T0, Created: T0, Updated: Min(1),
	}
	h.commit(dmflow.Commit{Key: Key("u1"), Session: s, Now: T0})
	got := h.session("u1")
	want := s.Clone()
	want.Version = 1
	if !reflect.DeepEqual(got, want) {
		h.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
	}
}
