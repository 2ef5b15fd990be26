package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Traffic counts what a DB asked of PostgreSQL since Open. It is a debug
// counter: tests bound the round trips per event with it, and a replica's
// numbers show where the database time goes.
type Traffic struct {
	// RoundTrips counts requests that wait for the server's answer once:
	// each Query, QueryRow and Exec (transaction begin and commit
	// included) and each SendBatch (a pipelined batch, whatever its size).
	// Statement preparation on a connection's first use of a statement is
	// not counted.
	RoundTrips uint64
	// Statements counts SQL statements executed: each statement of a batch
	// counts on its own.
	Statements uint64
	// Deadlocks counts transactions PostgreSQL aborted as deadlocked (each
	// waited deadlock_timeout, 1 s by default, and was retried).
	Deadlocks uint64
}

// Traffic returns the counters since Open.
func (db *DB) Traffic() Traffic {
	return Traffic{RoundTrips: db.tracer.trips.Load(), Statements: db.tracer.stmts.Load(), Deadlocks: db.tracer.deadlocks.Load()}
}

// tracer counts round trips and statements (pgx.QueryTracer and
// pgx.BatchTracer on every connection of the pool).
type tracer struct {
	trips, stmts, deadlocks atomic.Uint64
}

var (
	_ pgx.QueryTracer = (*tracer)(nil)
	_ pgx.BatchTracer = (*tracer)(nil)
)

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.trips.Add(1)
	t.stmts.Add(1)
	return ctx
}

func (t *tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	t.trips.Add(1)
	return ctx
}

func (t *tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	t.stmts.Add(1)
}

func (t *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}
