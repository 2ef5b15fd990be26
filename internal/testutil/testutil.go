// Package testutil holds the one rule for time in dmflow's tests: a test
// never races a short fixed timeout against real work. It waits for events
// (channels, or a condition polled until it holds) with a generous deadline,
// and every such deadline is scaled by one knob, DMFLOW_TEST_TIMEOUT_SCALE
// (a positive number, default 1), so that a slow or busy machine can give
// the suite more time without editing tests:
//
//	DMFLOW_TEST_TIMEOUT_SCALE=3 go test -race ./...
//
// A deadline only bounds how long a broken test hangs before it fails; a
// passing test finishes as soon as its condition holds. Speed is measured
// by benchmarks and the load tools (loadtest, dmflow bench), not asserted
// by pass/fail tests.
package testutil

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Env is the environment variable that scales every test deadline.
const Env = "DMFLOW_TEST_TIMEOUT_SCALE"

// Wait is the unscaled default deadline of Eventually: long enough for a
// race-enabled test on a loaded 2-core machine, short enough that a broken
// test fails well before go test's own timeout.
const Wait = 30 * time.Second

// pollMax is the longest pause between two checks of a condition.
const pollMax = time.Second / 50

// Factor returns DMFLOW_TEST_TIMEOUT_SCALE as a number (1 when unset). An
// invalid value panics: a typo must not silently shorten every deadline.
func Factor() float64 {
	v := os.Getenv(Env)
	if v == "" {
		return 1
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || f > 1000 {
		panic(Env + " must be a positive number (a factor such as 2 or 0.5), not " + strconv.Quote(v))
	}
	return f
}

// Scale returns d multiplied by DMFLOW_TEST_TIMEOUT_SCALE.
func Scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * Factor())
}

// Eventually polls cond until it holds, failing tb (with what, the thing
// waited for) when it still does not after Scale(Wait).
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	EventuallyWithin(tb, Wait, what, cond)
}

// EventuallyWithin is Eventually with the unscaled deadline d (for a test
// that knowingly waits for something slow, such as a server start).
func EventuallyWithin(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(Scale(d), cond) {
		tb.Fatalf("timed out after %s waiting for %s", Scale(d), what)
	}
}

// Poll checks cond, pausing briefly (growing up to a fiftieth of a second)
// between checks, until it holds (true) or the already scaled timeout
// passes (false). It is for helpers that report the failure themselves.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		left := time.Until(deadline)
		if left <= 0 {
			return cond()
		}
		t := time.NewTimer(min(pause, left))
		<-t.C
		pause = min(2*pause, pollMax)
	}
	return true
}

// Recv waits for a value from ch for up to Scale(Wait), failing tb with
// what when none comes (or ch is closed).
func Recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	t := time.NewTimer(Scale(Wait))
	defer t.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			tb.Fatalf("%s: channel closed", what)
		}
		return v
	case <-t.C:
		tb.Fatalf("timed out after %s waiting for %s", Scale(Wait), what)
	}
	panic("unreachable")
}
