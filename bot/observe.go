package bot

import (
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// Step is one engine step the bot ran, as observers see it.
type Step struct {
	// Event is the event the engine handled.
	Event dmflow.Event
	// Before is the session the step started from (nil: a new user).
	Before *dmflow.Session
	// Turn is the engine's outcome; nil when Err is set.
	Turn *dmflow.Turn
	// Err is why the step failed (the item is then recorded as failed).
	Err error
	// Now is the bot clock's time of the step.
	Now time.Time
}

// OnStep registers fn to be called after every engine step, on the worker
// goroutine, before the step is committed; remove unregisters it. fn must
// be quick and must not modify the Step; the commit then updates
// Turn.Session (key, version), so fn must Clone what it keeps. A step retried after a lost
// compare-and-swap is observed again; a step whose commit fails is observed
// but has no effect. The sandbox studio uses it to show each step's trace.
func (b *Bot) OnStep(fn func(Step)) (remove func()) { return b.observers.add(fn) }

// observers is the set of OnStep functions; the zero value is ready.
type observers struct {
	mu   sync.RWMutex
	next int
	fns  map[int]func(Step)
}

func (o *observers) add(fn func(Step)) func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fns == nil {
		o.fns = map[int]func(Step){}
	}
	id := o.next
	o.next++
	o.fns[id] = fn
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.fns, id)
	}
}

// observe calls every observer with the step.
func (o *observers) observe(s *dmflow.Session, ev *dmflow.Event, turn *dmflow.Turn, err error, now time.Time) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, fn := range o.fns {
		fn(Step{Event: *ev, Before: s, Turn: turn, Err: err, Now: now})
	}
}
