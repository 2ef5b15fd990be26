package bot

import (
	"hash/fnv"
	"strconv"
	"testing"

	"github.com/dmflow/dmflow"
)

// TestHashIsFNV1a checks the inline hashes against hash/fnv.
func TestHashIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "a", "mid.123", "t:1 17", "\x00\xff"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := hash(s), h.Sum64(); got != want {
			t.Errorf("hash(%q) = %x, want %x", s, got, want)
		}
	}
	key := dmflow.SessionKey{Account: "1784", User: "9001"}
	h := fnv.New64a()
	h.Write([]byte("1784\x009001"))
	if got, want := userHash(key), h.Sum64(); got != want {
		t.Errorf("userHash = %x, want %x", got, want)
	}
	if userHash(dmflow.SessionKey{Account: "17", User: "849001"}) == userHash(dmflow.SessionKey{Account: "178", User: "49001"}) {
		t.Error("the account/user boundary does not change the hash")
	}
}

// TestEchoTracker walks one user through sends in flight, delivered and
// failed, and checks what match reports at each step.
func TestEchoTracker(t *testing.T) {
	tr := newEchoTracker()
	a := dmflow.SessionKey{Account: "acct", User: "a"}
	b := dmflow.SessionKey{Account: "acct", User: "b"}
	type check struct {
		key      dmflow.SessionKey
		mid, sig string
		ours     bool
		inflight bool
	}
	steps := []struct {
		name   string
		do     func()
		checks []check
	}{
		{"nothing sent", func() {}, []check{{a, "m1", "t:hi", false, false}}},
		{"a send in flight", func() { tr.begin(a) }, []check{
			{a, "m1", "t:hi", false, true},
			{b, "m1", "t:hi", false, false},
		}},
		{"delivered", func() { tr.end(a, "m1", "t:hi") }, []check{
			{a, "m1", "", true, false},
			{a, "", "t:hi", true, false},
			{a, "m2", "t:other", false, false},
			{b, "m1", "t:hi", false, false},
		}},
		{"two in flight, one fails", func() { tr.begin(a); tr.begin(a); tr.end(a, "", "t:lost") }, []check{
			{a, "m1", "", true, true},
			{a, "", "t:lost", false, true},
		}},
		{"the other delivered", func() { tr.end(a, "m2", "t:two") }, []check{
			{a, "m2", "", true, false},
			{a, "m1", "", true, false},
		}},
	}
	for _, st := range steps {
		st.do()
		for _, c := range st.checks {
			ok, done := tr.match(c.key, c.mid, c.sig)
			if ok != c.ours || (done != nil) != c.inflight {
				t.Errorf("%s: match(%s, %q, %q) = %v, in flight %v; want %v, %v", st.name, c.key, c.mid, c.sig, ok, done != nil, c.ours, c.inflight)
			}
		}
	}
	if u := tr.users[userHash(a)]; u == nil || u.done != nil {
		t.Errorf("an idle user keeps its done channel: %+v", u)
	}
	// A ring of recentPerUser: the oldest delivered send is forgotten.
	for i := range recentPerUser {
		tr.begin(a)
		tr.end(a, "r"+strconv.Itoa(i), "")
	}
	if ok, _ := tr.match(a, "m1", ""); ok {
		t.Error("m1 still matched after recentPerUser newer sends")
	}
}

// TestEchoTrackerBound checks that idle users beyond maxTrackedUsers are
// evicted while a user with a send in flight stays.
func TestEchoTrackerBound(t *testing.T) {
	tr := newEchoTracker()
	busy := dmflow.SessionKey{Account: "acct", User: "busy"}
	tr.begin(busy)
	for i := range maxTrackedUsers + 1 {
		k := dmflow.SessionKey{Account: "acct", User: strconv.Itoa(i)}
		tr.begin(k)
		tr.end(k, "m"+strconv.Itoa(i), "")
	}
	if n := len(tr.users); n > maxTrackedUsers {
		t.Fatalf("%d users tracked, want at most %d", n, maxTrackedUsers)
	}
	if _, done := tr.match(busy, "", ""); done == nil {
		t.Fatal("the user with a send in flight was evicted")
	}
}
