package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/dmflow/dmflow"
)

// Bench runs the shared store benchmarks on stores from open: AppendInbox
// from 1 and 64 goroutines, and Commit from 64 goroutines (distinct users).
func Bench(b *testing.B, open func(b *testing.B) dmflow.Store) {
	for _, g := range []int{1, 64} {
		b.Run(fmt.Sprint("AppendInbox/goroutines=", g), func(b *testing.B) { BenchAppend(b, open(b), g) })
	}
	b.Run("Commit/goroutines=64", func(b *testing.B) { BenchCommit(b, open(b), 64) })
}

// parallel runs body b.N times in total from about goroutines goroutines;
// each goroutine gets its own number g.
func parallel(b *testing.B, goroutines int, body func(g, i int) error) {
	if goroutines <= 1 {
		for i := range b.N {
			if err := body(0, i); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism((goroutines + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		g := int(next.Add(1))
		for i := 0; pb.Next(); i++ {
			if err := body(g, i); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchAppend measures AppendInbox of one event per call from goroutines
// goroutines (1: serial); every op is one durable append.
func BenchAppend(b *testing.B, s dmflow.Store, goroutines int) {
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	parallel(b, goroutines, func(g, i int) error {
		e := Msg(fmt.Sprint("u", g), fmt.Sprint(g, "-", i))
		_, err := s.AppendInbox(ctx, []dmflow.Event{e}, T0)
		return err
	})
}

// BenchCommit measures Commit of a session update with one reply, each
// goroutine for its own user (no inbox item, so no lease).
func BenchCommit(b *testing.B, s dmflow.Store, goroutines int) {
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	parallel(b, goroutines, func(g, i int) error {
		k := Key(fmt.Sprint("u", g))
		sess := &dmflow.Session{Key: k, State: "s", Vars: map[string]any{"i": i}, Version: uint64(i)}
		out := dmflow.Outgoing{Key: k, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hello"}}
		return s.Commit(ctx, dmflow.Commit{Key: k, Session: sess, Outbox: []dmflow.Outgoing{out}, Now: T0})
	})
}
