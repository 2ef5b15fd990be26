package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/loadtest"
)

// TestPGScaleMeasure measures one and two replicas on PostgreSQL under the
// same load (loadtest's counter flow, users spread over 100 accounts so the
// per-account send pacing does not bound it), through the round-robin
// balancer in both cases. It checks the load's result (nothing lost,
// duplicated or out of order) and logs events/s and latencies; the numbers
// are recorded in docs/scaling.md. DMFLOW_LONG=1 only; DMFLOW_PG_RATE paces
// the load (events/s, default as fast as acknowledged).
func TestPGScaleMeasure(t *testing.T) {
	if !long() {
		t.Skip("a measurement, not a check: DMFLOW_LONG=1 runs it")
	}
	pgtest.URL(t)
	var rate float64
	fmt.Sscan(os.Getenv("DMFLOW_PG_RATE"), &rate)
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			graph, err := loadtest.StartGraph()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { graph.Close() })
			w := newWorld(t, worldOpts{})
			if w.flows, err = loadtest.WriteFlows(filepath.Join(w.dir, "load")); err != nil {
				t.Fatal(err)
			}
			w.env = append(slices.Clone(w.env), "DMFLOW_GRAPH_URL="+graph.URL) // the last one wins
			c := clusterOn(w, replicas, 30*time.Second, "--log-level", "warn", "--session-ttl", "0")
			l, err := loadtest.NewLoad(loadtest.Options{URL: c.lb.URL + "/webhook/instagram", Secret: appSecret,
				Users: 1000, Accounts: 100, Events: 20000, Concurrency: 32, Rate: rate, Duration: time.Minute, Run: "pg"})
			if err != nil {
				t.Fatal(err)
			}
			l.Send(context.Background())
			l.WaitReplies(graph.Recorder, 60*time.Second)
			r := l.Result(fmt.Sprintf("pg×%d", replicas), graph.Recorder)
			t.Log(r.Summary(0))
			if r.Lost+r.Duplicates+r.OutOfOrder+r.Miscounted > 0 {
				t.Errorf("lost %d, duplicated %d, out of order %d, miscounted %d", r.Lost, r.Duplicates, r.OutOfOrder, r.Miscounted)
			}
		})
	}
}
