// Package gcfloor gives a server's garbage collector a floor of headroom:
// after every collection the heap may grow by at least a fixed number of
// bytes beyond its live data before the next one starts, on top of what
// GOGC allows.
//
// With Go's default GOGC=100 the next collection starts when the heap has
// grown by as much as it held live. A server whose live heap is small but
// which allocates fast then collects many times a second, and each cycle
// has costs that do not shrink with the heap: scanning every goroutine's
// stack (dmflow serve keeps several hundred workers and senders), the
// globals, and the write barriers and assists while marking. In dmflow
// serve on bbolt, with ~20 MB live, that was ~14% of the server's CPU per
// event (docs/performance.md, round 13). A floor of headroom lowers the
// collection rate of a small heap and leaves a large heap to GOGC: with a
// floor of 48 MiB a 20 MB live heap is collected at ~68 MB instead of
// ~40 MB, a 100 MB one at 200 MB as before.
//
// It is the same trade Go's own memory limit makes, seen from the other
// side: a little more memory for less GC work, bounded by a constant. The
// runtime has no such setting, so Start adjusts the GC percent
// (debug.SetGCPercent) after each cycle from the live heap that cycle
// measured. A memory limit (GOMEMLIMIT or debug.SetMemoryLimit) still
// applies on top and wins when it is lower.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MaxPercent caps the GC percent Start sets, so that a tiny live heap (a
// process that just started) does not get an unbounded ratio.
const MaxPercent = 1000

// liveMetric is the heap occupied by objects the last cycle marked live.
const liveMetric = "/gc/heap/live:bytes"

// Percent is the GC percent that lets a heap with live bytes grow by at
// least headroom bytes, and by at least base percent of live, before the
// next collection; at most MaxPercent (or base, when base is larger).
func Percent(live, headroom uint64, base int) int {
	need := headroom * 100 / max(live, 1)
	return max(base, int(min(need, MaxPercent)))
}

// Tuner keeps the GC percent at Percent(live, headroom, base) after every
// collection. Stop ends it and restores base.
type Tuner struct {
	headroom uint64
	base     int

	mu      sync.Mutex
	stopped bool
	percent int
	sample  [1]metrics.Sample
}

// active is the running tuner: the GC percent is the process's, so one
// tuner at a time.
var (
	activeMu sync.Mutex
	active   *Tuner
)

// Start gives the collector headroom bytes of headroom beyond the live
// heap, on top of the GC percent in force (base: GOGC, 100 by default),
// until Stop. headroom 0, GC turned off (GOGC=off), or another tuner
// already running leaves the collector alone and returns a Tuner whose
// Stop does nothing.
func Start(headroom uint64) *Tuner {
	activeMu.Lock()
	defer activeMu.Unlock()
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	t := &Tuner{headroom: headroom, base: base, percent: base}
	t.sample[0].Name = liveMetric
	if headroom == 0 || base < 0 || active != nil {
		t.stopped = true
		return t
	}
	active = t
	t.adjust()
	t.arm()
	return t
}

// arm registers a cleanup on a fresh object that only the runtime can
// reach: it runs after the next collection finds the object unreachable,
// adjusts the percent and arms again.
func (t *Tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *Tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// sentinel is big enough not to be batched with other tiny objects, whose
// liveness would delay its cleanup.
type sentinel struct{ _ [32]byte }

// adjust sets the percent for the live heap the last cycle measured. It
// reports whether the tuner is still running.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample[:])
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := Percent(live, t.headroom, t.base)
	// Small changes are not worth a pacer update.
	if d := p - t.percent; d > t.percent/16 || -d > t.percent/16 {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// Stop ends the tuning and restores the GC percent in force at Start.
func (t *Tuner) Stop() {
	activeMu.Lock()
	defer activeMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.base)
	t.percent = t.base
	active = nil
}

// Percent reports the GC percent the tuner set last.
func (t *Tuner) Percent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.percent
}
