package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/store/postgres"
	"github.com/dmflow/dmflow/store/storetest"
)

// benchStore opens a store on a fresh schema with a pool large enough for
// the parallel benchmarks, and leaves schema creation out of the timing.
func benchStore(b *testing.B) dmflow.Store {
	db := openSchema(b, newSchema(b), 64)
	b.ResetTimer()
	return db
}

// BenchmarkStore runs the shared store benchmarks (storetest.Bench).
func BenchmarkStore(b *testing.B) {
	pgtest.URL(b)
	storetest.Bench(b, benchStore)
}

// BenchmarkAppendInbox appends one event per call from 64 goroutines.
func BenchmarkAppendInbox(b *testing.B) {
	storetest.BenchAppend(b, benchStore(b), 64)
}

// BenchmarkAppendInboxBatch appends batches of 32 events (one webhook
// delivery with many entries) from 16 goroutines; ns/op is per batch.
func BenchmarkAppendInboxBatch(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		g := fmt.Sprintf("%p", pb)
		for i := 0; pb.Next(); i++ {
			evs := make([]dmflow.Event, 32)
			for j := range evs {
				evs[j] = storetest.Msg(fmt.Sprint("u", j), fmt.Sprint(g, "-", i, "-", j))
			}
			if _, err := db.AppendInbox(ctx, evs, storetest.T0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCommit commits a session update with one reply from 64
// goroutines, each for its own user.
func BenchmarkCommit(b *testing.B) {
	storetest.BenchCommit(b, benchStore(b), 64)
}

// BenchmarkClaimCommit is the worker loop: claim one item, commit it with a
// session and a reply, from 16 owners over 64 users.
func BenchmarkClaimCommit(b *testing.B) {
	db := benchStore(b).(*postgres.DB)
	ctx := context.Background()
	var evs []dmflow.Event
	for i := range b.N + 64 {
		evs = append(evs, storetest.Msg(fmt.Sprint("u", i%64), fmt.Sprint(i)))
	}
	if _, err := db.AppendInbox(ctx, evs, storetest.T0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		owner := fmt.Sprintf("w%p", pb)
		for pb.Next() {
			items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: owner, Max: 1, Now: storetest.T0})
			if err != nil {
				b.Error(err)
				return
			}
			for _, it := range items {
				k := it.Event.SessionKey()
				out := dmflow.Outgoing{Key: k, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}}
				if err := db.Commit(ctx, dmflow.Commit{Owner: owner, Seq: it.Seq, Key: k, Outbox: []dmflow.Outgoing{out}, Now: storetest.T0}); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}
