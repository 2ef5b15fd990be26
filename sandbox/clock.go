package sandbox

import (
	"sync"
	"time"
)

// Clock is the sandbox's time: a base clock (the wall clock) plus an
// offset that only grows. Advancing it is how the studio fires timers
// without waiting. Give Clock.Now to everything that reads time in sandbox
// mode (bot.Config.Clock, igtest.Config.Now) so they agree. It is safe for
// concurrent use.
type Clock struct {
	base func() time.Time

	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a Clock over base (nil: time.Now) with no offset.
func NewClock(base func() time.Time) *Clock {
	if base == nil {
		base = time.Now
	}
	return &Clock{base: base}
}

// Now is the base time plus the offset.
func (c *Clock) Now() time.Time { return c.base().Add(c.Offset()) }

// Offset is how far the clock has been advanced.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Advance moves the clock forward by d (negative d is ignored) and returns
// the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	if d > 0 {
		c.offset += d
	}
	off := c.offset
	c.mu.Unlock()
	return c.base().Add(off)
}
