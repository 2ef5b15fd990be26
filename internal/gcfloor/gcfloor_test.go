package gcfloor_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/dmflow/dmflow/internal/gcfloor"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name           string
		live, headroom uint64
		base, want     int
	}{
		{"large heap keeps GOGC", 200 * mib, 48 * mib, 100, 100},
		{"heap of the floor keeps GOGC", 48 * mib, 48 * mib, 100, 100},
		{"small heap gets the floor", 20 * mib, 48 * mib, 100, 240},
		{"a larger GOGC wins", 20 * mib, 48 * mib, 300, 300},
		{"a smaller GOGC gets the floor", 20 * mib, 48 * mib, 50, 240},
		{"tiny heap is capped", 1 * mib, 48 * mib, 100, gcfloor.MaxPercent},
		{"empty heap is capped", 0, 48 * mib, 100, gcfloor.MaxPercent},
		{"GOGC above the cap stays", 1 * mib, 48 * mib, 2000, 2000},
		{"no headroom", 1 * mib, 0, 100, 100},
	} {
		if got := gcfloor.Percent(c.live, c.headroom, c.base); got != c.want {
			t.Errorf("%s: Percent(%d, %d, %d) = %d, want %d", c.name, c.live, c.headroom, c.base, got, c.want)
		}
	}
}

// TestStartSetsAndStopRestores runs collections until the tuner has
// adjusted the percent for a headroom far above this test's live heap,
// then checks that Stop restores the percent in force before Start.
func TestStartSetsAndStopRestores(t *testing.T) {
	old := debug.SetGCPercent(70)
	defer debug.SetGCPercent(old)

	tu := gcfloor.Start(1 << 40)
	// Start adjusts at once from the last cycle's live heap.
	if got := tu.Percent(); got != gcfloor.MaxPercent {
		t.Fatalf("after Start: percent %d, want %d", got, gcfloor.MaxPercent)
	}
	if got := debug.SetGCPercent(gcfloor.MaxPercent); got != gcfloor.MaxPercent {
		t.Fatalf("runtime GC percent %d, want %d", got, gcfloor.MaxPercent)
	}
	// A collection runs the cleanup, which re-arms: after many cycles the
	// percent is still the tuner's, not reset by anything.
	for range 20 {
		runtime.GC()
	}
	if got := tu.Percent(); got != gcfloor.MaxPercent {
		t.Fatalf("after collections: percent %d, want %d", got, gcfloor.MaxPercent)
	}
	other := gcfloor.Start(1 << 40)
	other.Stop() // does nothing: the first keeps running
	if got := debug.SetGCPercent(gcfloor.MaxPercent); got != gcfloor.MaxPercent {
		t.Fatalf("after a second tuner's Stop: runtime GC percent %d, want %d", got, gcfloor.MaxPercent)
	}
	tu.Stop()
	if got := debug.SetGCPercent(70); got != 70 {
		t.Fatalf("after Stop: runtime GC percent %d, want 70", got)
	}
	tu.Stop() // twice is fine
}

// TestFollowsTheLiveHeap checks that the percent set after a collection
// follows the live heap that collection measured: with a live heap larger
// than the headroom, the floor is not needed and the base is restored.
func TestFollowsTheLiveHeap(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	tu := gcfloor.Start(8 << 20)
	defer tu.Stop()
	withBallast(t, tu)
	for i := 0; i < 1000 && tu.Percent() == 100; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := tu.Percent(); got <= 100 {
		t.Fatalf("after the live heap shrank: percent %d, want above 100", got)
	}
}

func TestZeroHeadroomLeavesGCAlone(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	tu := gcfloor.Start(0)
	runtime.GC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("percent %d, want 100", got)
	}
	tu.Stop()
}

// withBallast holds 64 MiB live until the tuner has seen it: the floor of
// 8 MiB is then not needed.
func withBallast(t *testing.T, tu *gcfloor.Tuner) {
	ballast := make([][]byte, 0, 64)
	for range 64 {
		ballast = append(ballast, make([]byte, 1<<20))
	}
	// The cleanup runs on its own goroutine after a cycle; give it a
	// bounded number of cycles, not a time, to catch up.
	for i := 0; i < 1000 && tu.Percent() != 100; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := tu.Percent(); got != 100 {
		t.Fatalf("with 64 MiB live and 8 MiB headroom: percent %d, want 100", got)
	}
	runtime.KeepAlive(ballast)
}
