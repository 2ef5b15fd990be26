package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
)

var sessionTests = []test{
	{"NotFound", testNotFound},
	{"List", testList},
	{"Expire", testExpire},
	{"ExpireExact", testExpireExact},
}

func testNotFound(h *H) {
	_, err := h.S.GetSession(h.Ctx, Key("nobody"))
	h.wantErr(err, dmflow.ErrNotFound, "GetSession")
}

func (h *H) put(s *dmflow.Session) {
	h.Helper()
	h.commit(dmflow.Commit{Key: s.Key, Session: s, Now: T0})
}

func keys(ss []*dmflow.Session) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.Key.String() + " ")
	}
	return b.String()
}

func testList(h *H) {
	for i := range 5 {
		s := &dmflow.Session{Key: Key(fmt.Sprint("u", i)), State: []string{"a", "b"}[i%2]}
		if i == 3 {
			s.Handoff = &dmflow.Handoff{Since: T0, By: "agent"}
		}
		h.put(s)
	}
	h.put(&dmflow.Session{Key: dmflow.SessionKey{Account: "ac", User: "z"}, State: "a"})
	h.put(&dmflow.Session{Key: dmflow.SessionKey{Account: "other", User: "u0"}, State: "a"})
	cases := []struct {
		name string
		f    dmflow.SessionFilter
		want string
	}{
		{"all", dmflow.SessionFilter{}, "ac/z acct/u0 acct/u1 acct/u2 acct/u3 acct/u4 other/u0 "},
		{"account", dmflow.SessionFilter{Account: "acct"}, "acct/u0 acct/u1 acct/u2 acct/u3 acct/u4 "},
		{"state", dmflow.SessionFilter{Account: "acct", State: "b"}, "acct/u1 acct/u3 "},
		{"handoff", dmflow.SessionFilter{Handoff: true}, "acct/u3 "},
		{"page 1", dmflow.SessionFilter{Limit: 2}, "ac/z acct/u0 "},
		{"page 2", dmflow.SessionFilter{Limit: 2, After: Key("u0")}, "acct/u1 acct/u2 "},
		{"account after", dmflow.SessionFilter{Account: "acct", After: Key("u3")}, "acct/u4 "},
		{"state page", dmflow.SessionFilter{State: "a", Limit: 2, After: Key("u0")}, "acct/u2 acct/u4 "},
		{"none", dmflow.SessionFilter{Account: "nobody"}, ""},
	}
	for _, tc := range cases {
		got, err := h.S.ListSessions(h.Ctx, tc.f)
		h.check(err, tc.name)
		if keys(got) != tc.want {
			h.Fatalf("%s: got %q, want %q", tc.name, keys(got), tc.want)
		}
	}
}

func testExpire(h *H) {
	h.put(&dmflow.Session{Key: Key("old"), Updated: T0, Timers: []dmflow.Timer{{ID: "t", Due: Min(1)}}})
	h.put(&dmflow.Session{Key: Key("new"), Updated: Min(120)})
	h.commit(dmflow.Commit{Key: Key("zero"), Session: &dmflow.Session{Key: Key("zero")}, Now: Min(90)})
	if u := h.session("zero").Updated; !u.Equal(Min(90)) {
		h.Fatalf("zero Updated stored as %v, want Commit.Now", u)
	}
	n, err := h.S.ExpireSessions(h.Ctx, Min(60))
	h.check(err, "ExpireSessions")
	if n != 1 {
		h.Fatalf("expired %d, want 1", n)
	}
	_, err = h.S.GetSession(h.Ctx, Key("old"))
	h.wantErr(err, dmflow.ErrNotFound, "expired session")
	h.wantNext("none")
	n, _ = h.S.ExpireSessions(h.Ctx, Min(100))
	if n != 1 || h.session("new").Updated.IsZero() {
		h.Fatalf("second expiry removed %d, want only the zero one", n)
	}
}

// testExpireExact: ExpireSessions compares Updated exactly, also for
// sessions updated again seconds later (a backend may index the update
// time coarsely and must then check each candidate).
func testExpireExact(h *H) {
	sec := func(n int) time.Time { return T0.Add(time.Duration(n) * time.Second) }
	h.put(&dmflow.Session{Key: Key("a"), Updated: sec(0)})
	h.put(&dmflow.Session{Key: Key("b"), Updated: sec(0)})
	for _, at := range []int{10, 20, 30} {
		s := h.session("b")
		s.Updated = sec(at)
		h.put(s)
	}
	h.put(&dmflow.Session{Key: Key("c"), Updated: sec(59)})
	cases := []struct {
		before int
		want   int
		left   string
	}{
		{0, 0, "acct/a acct/b acct/c "},
		{1, 1, "acct/b acct/c "},
		{30, 0, "acct/b acct/c "},
		{31, 1, "acct/c "},
		{59, 0, "acct/c "},
		{60, 1, ""},
	}
	for _, tc := range cases {
		n, err := h.S.ExpireSessions(h.Ctx, sec(tc.before))
		h.check(err, "ExpireSessions")
		left, err := h.S.ListSessions(h.Ctx, dmflow.SessionFilter{})
		h.check(err, "ListSessions")
		if n != tc.want || keys(left) != tc.left {
			h.Fatalf("expire before %ds: %d expired, %q left; want %d, %q", tc.before, n, keys(left), tc.want, tc.left)
		}
	}
}
