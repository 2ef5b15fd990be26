// Package pace spaces a Meta Send API client's sends per account (an
// Instagram professional account, a Facebook Page) and class of message,
// at the platform's published per-account rates: in this process with a
// token bucket per account and class, or across every process sharing a
// dmflow.Pacer (store/postgres) with evenly spaced slots reserved in
// batches. adapters/instagram and adapters/messenger both pace through it;
// the rates are each adapter's (and documented with their sources there).
//
// A Pacer is safe for concurrent use.
package pace

import (
	"context"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
	"golang.org/x/time/rate"
)

// Class is the budget a send counts against.
type Class int

// Classes, named in a shared Pacer by dmflow.PaceText, PaceMedia and
// PacePrivate.
const (
	Text    Class = iota // text, links, reactions, stickers, templates, sender actions
	Media                // audio and video
	Private              // private replies to comments
	nClasses
)

var classNames = [nClasses]string{dmflow.PaceText, dmflow.PaceMedia, dmflow.PacePrivate}

// Rates are one account's send rates, per second; a negative rate leaves
// its class unpaced.
type Rates struct {
	// Text and Media may go in bursts of one second's worth in this
	// process; a shared pacer spaces them evenly, at the rate less
	// Headroom.
	Text, Media float64
	// Private may go PrivateBurst at once, then at the rate (in both
	// modes; no headroom).
	Private      float64
	PrivateBurst int
	// Headroom is the fraction of Text and Media a shared pacer leaves
	// unused, so that jitter between a slot and the send's arrival at the
	// platform does not put more than the rate into one second there (0:
	// none).
	Headroom float64
}

// DefaultHeadroom is the Headroom of an adapter's rate limits left at
// zero.
const DefaultHeadroom = 0.15

// HeadroomOr is an adapter's configured headroom h: DefaultHeadroom for 0,
// none for a value outside [0, 1).
func HeadroomOr(h float64) float64 {
	switch {
	case h == 0:
		return DefaultHeadroom
	case h < 0 || h >= 1:
		return 0
	}
	return h
}

// Pacer hands out send slots per account and class.
type Pacer struct {
	rates  Rates
	shared dmflow.Pacer
	clock  func() time.Time

	mu    sync.Mutex
	local map[string]*[nClasses]*rate.Limiter
	slots map[string]*[nClasses]*sharedPace
}

// New returns a pacer at r: across every process sharing shared, or in
// this process when shared is nil. clock is the time source of shared
// slots (nil: time.Now).
func New(r Rates, shared dmflow.Pacer, clock func() time.Time) *Pacer {
	if clock == nil {
		clock = time.Now
	}
	return &Pacer{rates: r, shared: shared, clock: clock,
		local: map[string]*[nClasses]*rate.Limiter{}, slots: map[string]*[nClasses]*sharedPace{}}
}

// Wait blocks until account may send a message of class c; it fails only
// when ctx ends first (or the wait would outlast ctx's deadline), or a
// shared pacer fails.
func (p *Pacer) Wait(ctx context.Context, account string, c Class) error {
	if c < 0 || c >= nClasses {
		c = Text
	}
	if p.shared != nil {
		return p.sharedFor(account)[c].wait(ctx)
	}
	return p.localFor(account)[c].Wait(ctx)
}

func (p *Pacer) localFor(account string) *[nClasses]*rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.local[account]
	if !ok {
		mk := func(perSec float64, burst int) *rate.Limiter {
			if perSec < 0 {
				return rate.NewLimiter(rate.Inf, 1)
			}
			return rate.NewLimiter(rate.Limit(perSec), max(burst, 1))
		}
		r := p.rates
		l = &[nClasses]*rate.Limiter{mk(r.Text, int(r.Text)), mk(r.Media, int(r.Media)), mk(r.Private, r.PrivateBurst)}
		p.local[account] = l
	}
	return l
}

func (p *Pacer) sharedFor(account string) *[nClasses]*sharedPace {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.slots[account]
	if !ok {
		r, keep := p.rates, 1-p.rates.Headroom
		mk := func(c Class, perSec float64, burst int) *sharedPace {
			return newSharedPace(p.shared, account, classNames[c], perSec, burst, p.clock)
		}
		s = &[nClasses]*sharedPace{mk(Text, r.Text*keep, 1), mk(Media, r.Media*keep, 1), mk(Private, r.Private, r.PrivateBurst)}
		p.slots[account] = s
	}
	return s
}

// Sleep waits d or until ctx ends (its error); d <= 0 returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
