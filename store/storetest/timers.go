package storetest

import (
	"fmt"

	"github.com/dmflow/dmflow"
)

var timerTests = []test{
	{"IndexedAndReplaced", testTimersReplaced},
	{"FireOnce", testFireOnce},
	{"FireMax", testFireMax},
	{"KeptAcrossCommits", testTimersKept},
}

func timerSession(u string, version uint64, ts ...dmflow.Timer) *dmflow.Session {
	return &dmflow.Session{Key: Key(u), State: "wait", Timers: ts, Version: version}
}

func (h *H) wantNext(want string) {
	h.Helper()
	due, ok, err := h.S.NextTimer(h.Ctx)
	h.check(err, "NextTimer")
	got := "none"
	if ok {
		got = due.UTC().Format("15:04")
	}
	if got != want {
		h.Fatalf("NextTimer = %s, want %s", got, want)
	}
}

func testTimersReplaced(h *H) {
	h.wantNext("none")
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 0, dmflow.Timer{ID: "t1", Due: Min(2)}, dmflow.Timer{ID: "t2", Due: Min(1)}), Now: T0})
	h.wantNext("12:01")
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 1, dmflow.Timer{ID: "t3", Due: Min(5)}), Now: T0})
	h.wantNext("12:05")
	n, err := h.S.FireTimers(h.Ctx, Min(4), 10)
	h.check(err, "FireTimers")
	if n != 0 || h.depth() != 0 {
		h.Fatalf("replaced timers fired: %d", n)
	}
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0})
	h.wantNext("12:05")
}

func testFireOnce(h *H) {
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 0, dmflow.Timer{ID: "t1", Name: "remind", Due: Min(5)}), Now: T0})
	n, err := h.S.FireTimers(h.Ctx, Min(5), 10)
	h.check(err, "FireTimers at the due time")
	if n != 1 {
		h.Fatalf("fired %d, want 1", n)
	}
	h.wantNext("none")
	if n, _ := h.S.FireTimers(h.Ctx, Min(9), 10); n != 0 {
		h.Fatalf("fired again: %d", n)
	}
	items := h.claim("A", 10, Min(5))
	if len(items) != 1 {
		h.Fatalf("inbox after fire: %d items, want 1", len(items))
	}
	e := items[0].Event
	if e.Kind != dmflow.KindTimer || e.Key != "timer:t1" || e.SessionKey() != Key("u1") ||
		e.Timer == nil || e.Timer.ID != "t1" || e.Timer.Name != "remind" || !e.Timer.Due.Equal(Min(5)) {
		h.Fatalf("timer event = %+v", e)
	}
}

func testFireMax(h *H) {
	for i := range 3 {
		u := fmt.Sprint("u", i)
		h.commit(dmflow.Commit{Key: Key(u), Session: timerSession(u, 0, dmflow.Timer{ID: u, Due: Min(i)}), Now: T0})
	}
	for _, want := range []int{2, 1, 0} {
		n, err := h.S.FireTimers(h.Ctx, Min(10), 2)
		h.check(err, "FireTimers")
		if n != want {
			h.Fatalf("fired %d, want %d", n, want)
		}
	}
	h.wantTexts(h.claim("A", 10, Min(10)), "u0:timer:u0 u1:timer:u1 u2:timer:u2 ", "fired in due order")
}

// testTimersKept: a timer a commit keeps (same ID and due; a backend may
// leave its index entry alone) still fires exactly once, and one the
// commit drops does not fire.
func testTimersKept(h *H) {
	t1 := dmflow.Timer{ID: "t1", Name: "a", Due: Min(5)}
	t2 := dmflow.Timer{ID: "t2", Name: "b", Due: Min(3)}
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 0, t1), Now: T0})
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 1, t1), Now: Min(1)})
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 2, t1, t2), Now: Min(2)})
	h.wantNext("12:03")
	h.commit(dmflow.Commit{Key: Key("u1"), Session: timerSession("u1", 3, t1), Now: Min(2)})
	h.wantNext("12:05")
	n, err := h.S.FireTimers(h.Ctx, Min(9), 10)
	h.check(err, "FireTimers")
	if n != 1 {
		h.Fatalf("fired %d, want only the kept timer", n)
	}
	h.wantNext("none")
	items := h.claim("A", 10, Min(9))
	if len(items) != 1 || items[0].Event.Timer == nil || items[0].Event.Timer.ID != "t1" {
		h.Fatalf("inbox after fire: %+v, want t1 once", items)
	}
}
