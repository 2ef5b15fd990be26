// Package warmstack keeps the stack of a long-lived worker goroutine from
// being shrunk by every garbage collection while the worker waits for work,
// and grown again, copied frame by frame, by the work that follows.
//
// During a GC the runtime halves the stack of a goroutine that uses less
// than a quarter of it. A worker that waits between items at a shallow
// depth is shrunk at every GC, down to the minimum if it waits through
// several, and its next item grows the stack back, one copy per doubling.
// In dmflow serve, with 256 inbox workers, copying stacks was 8–11% of
// the server's CPU per event (docs/performance.md, round 12). Run calls
// the worker's loop below a frame of Pad bytes, so the part of the stack
// in use never falls under Pad: a stack of up to 4×Pad is never shrunk
// while its goroutine waits, and a deeper one never below 4×Pad. The
// price is memory: each padded goroutine keeps a stack of at least 2×Pad,
// as deep as its deepest item needed up to 4×Pad, so pad the goroutines
// that do the work continuously, not ones that wait for rare bursts.
package warmstack

// Pad is the size of the padding frame below the worker's loop.
const Pad = 8 << 10

// Run calls f below a padding frame of Pad bytes.
func Run(f func()) {
	var pad [Pad]byte
	touch(pad[:])
	f()
}

// touch keeps pad in Run's frame.
//
//go:noinline
func touch(b []byte) { b[0] = 1 }
