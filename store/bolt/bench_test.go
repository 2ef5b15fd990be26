package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/storetest"
)

// syncModes are the fsync settings every benchmark runs with.
var syncModes = []struct {
	name   string
	noSync bool
}{{"fsync", false}, {"nosync", true}}

// benchOpen opens a store for one benchmark and reports, when it ends, how
// many requests each group commit carried on average.
func benchOpen(b *testing.B, noSync bool) dmflow.Store {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), &bolt.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if st := db.Stats(); st.Commits > 0 {
			b.ReportMetric(float64(st.Requests)/float64(st.Commits), "req/commit")
		}
	})
	return db
}

func BenchmarkAppendInbox(b *testing.B) {
	for _, m := range syncModes {
		for _, g := range []int{1, 64} {
			b.Run(m.name+"/goroutines="+map[int]string{1: "1", 64: "64"}[g], func(b *testing.B) {
				storetest.BenchAppend(b, benchOpen(b, m.noSync), g)
			})
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	for _, m := range syncModes {
		b.Run(m.name+"/goroutines=64", func(b *testing.B) {
			storetest.BenchCommit(b, benchOpen(b, m.noSync), 64)
		})
	}
}
