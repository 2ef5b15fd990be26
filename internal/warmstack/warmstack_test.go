package warmstack_test

import (
	"runtime"
	"testing"

	"github.com/dmflow/dmflow/internal/warmstack"
)

func TestRunCallsFOnce(t *testing.T) {
	n := 0
	warmstack.Run(func() { n++ })
	if n != 1 {
		t.Fatalf("f ran %d times", n)
	}
}

// BenchmarkIdleWorkers: workers wait for an item, a GC runs while they
// wait (as it does every few hundred milliseconds in dmflow serve), then
// each does one item that needs ~12 KiB of stack. Unpadded, every GC
// shrinks the waiting workers' stacks and every item grows them back;
// padded (warmstack.Run), the stacks keep their size.
func BenchmarkIdleWorkers(b *testing.B) {
	for _, bc := range []struct {
		name string
		run  func(func())
	}{{"plain", func(f func()) { f() }}, {"padded", warmstack.Run}} {
		b.Run(bc.name, func(b *testing.B) {
			const workers = 64
			work, done := make(chan int), make(chan byte)
			for range workers {
				go bc.run(func() {
					for n := range work {
						done <- deep(n)
					}
				})
			}
			defer close(work)
			for b.Loop() {
				b.StopTimer() // the GC's own cost is not what is compared
				runtime.GC()
				b.StartTimer()
				for range workers {
					work <- 24
				}
				for range workers {
					<-done
				}
			}
		})
	}
}

// deep uses n frames of ~512 bytes.
//
//go:noinline
func deep(n int) byte {
	var buf [512]byte
	buf[n%len(buf)] = byte(n)
	if n == 0 {
		return buf[0]
	}
	return deep(n-1) + buf[n%len(buf)]
}
