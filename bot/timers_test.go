package bot

import (
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

// TestWakeTimers: a committed timer wakes the timer loop only when the loop
// is awake or sleeps past the timer's due time.
func TestWakeTimers(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	sleep := now.Add(time.Second)
	cases := []struct {
		name   string
		sleep  int64 // 0: the loop is awake
		timers []dmflow.Timer
		wake   bool
	}{
		{"awake", 0, []dmflow.Timer{{ID: "a", Due: now.Add(time.Hour)}}, true},
		{"due after the loop wakes", sleep.UnixNano(), []dmflow.Timer{{ID: "a", Due: now.Add(time.Hour)}}, false},
		{"due when the loop wakes", sleep.UnixNano(), []dmflow.Timer{{ID: "a", Due: sleep}}, false},
		{"due before the loop wakes", sleep.UnixNano(), []dmflow.Timer{{ID: "a", Due: now.Add(time.Hour)}, {ID: "b", Due: now.Add(time.Millisecond)}}, true},
		{"no timers", 0, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &Bot{timerWake: make(chan struct{}, 1)}
			b.timerSleep.Store(c.sleep)
			b.wakeTimers(c.timers)
			woke := len(b.timerWake) == 1
			if woke != c.wake {
				t.Errorf("woke = %v, want %v", woke, c.wake)
			}
		})
	}
}
