package cli

import (
	"runtime/debug"
	"testing"
)

// TestTuneGCLeavesAnOperatorsGOGCAlone: with GOGC set, or a headroom of
// 0, serve does not change the GC percent.
func TestTuneGCLeavesAnOperatorsGOGCAlone(t *testing.T) {
	for _, c := range []struct {
		name     string
		gogc     bool
		headroom int
	}{
		{"GOGC set", true, 1 << 20},
		{"headroom 0", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.gogc {
				t.Setenv("GOGC", "100")
			}
			old := debug.SetGCPercent(100)
			defer debug.SetGCPercent(old)
			s := &server{cfg: &serveConfig{GCHeadroom: c.headroom}}
			tu := s.tuneGC()
			defer tu.Stop()
			if got := debug.SetGCPercent(100); got != 100 {
				t.Fatalf("GC percent %d after tuneGC, want 100 (left alone)", got)
			}
		})
	}
}
