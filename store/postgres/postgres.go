package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store"
)

// Default option values.
const (
	DefaultSchema   = "dmflow"
	DefaultMaxConns = 16
	DefaultLease    = 30 * time.Second
)

// Options configures Open. A nil *Options, or a zero field, means the default.
type Options struct {
	// Schema holds the dmflow tables. Empty means the search_path given in
	// the URL (a single schema name), or DefaultSchema. Every connection of
	// the pool uses it as its search_path.
	Schema string
	// MaxConns bounds the pool: zero means the URL's pool_max_conns, else
	// DefaultMaxConns. Concurrent calls beyond it wait for a connection.
	MaxConns int32
	// Lease is used by claims whose Claim.Lease is zero (DefaultLease).
	Lease time.Duration
	// DedupeRetention is how long done inbox items and their event keys are
	// kept (store.DefaultDedupeRetention); see Prune.
	DedupeRetention time.Duration
	// Migrate applies missing schema migrations during Open. Without it,
	// Open fails when the schema is behind this binary (run Migrate).
	Migrate bool
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.DedupeRetention <= 0 {
		c.DedupeRetention = store.DefaultDedupeRetention
	}
	return c
}

// DB is a dmflow.Store on PostgreSQL. It is safe for concurrent use, also by
// several processes (replicas) sharing the database.
type DB struct {
	pool    *pgxpool.Pool
	schema  string
	opts    Options
	closed  atomic.Bool
	acks    grouper[*ackReq]
	apps    grouper[*appendReq]
	commits grouper[*commitReq]
	tracer  *tracer   // counts Traffic
	work    workCache // sessions for WorkSession
}

var _ dmflow.Store = (*DB)(nil)

// Open connects to the database at url (a libpq URL or key=value string),
// optionally migrates the schema, and checks that the schema is current.
func Open(ctx context.Context, url string, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	cfg, schema, err := poolConfig(url, o.Schema)
	if err != nil {
		return nil, err
	}
	o.Schema = schema
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	tr := &tracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: open: %w", err)
	}
	db := &DB{pool: pool, schema: schema, opts: o, tracer: tr}
	if err := db.prepare(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) prepare(ctx context.Context) error {
	if db.opts.Migrate {
		if err := migrate(ctx, db.pool, db.schema); err != nil {
			return err
		}
	}
	return checkVersion(ctx, db.pool, db.schema)
}

// poolConfig parses url and pins the connections' search_path to the schema.
func poolConfig(url, schema string) (*pgxpool.Config, string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, "", fmt.Errorf("store/postgres: parse url: %w", err)
	}
	if schema == "" {
		schema = cfg.ConnConfig.RuntimeParams["search_path"]
	}
	if schema == "" {
		schema = DefaultSchema
	}
	if strings.ContainsAny(schema, ",\"") {
		return nil, "", fmt.Errorf("store/postgres: schema %q: want one plain name: %w", schema, dmflow.ErrInvalid)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = quoteIdent(schema)
	return cfg, schema, nil
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// Close closes the pool. Leases held by this process are not released; they
// expire, and other replicas take the work over then.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.pool.Close()
	return nil
}

// Pool returns the underlying connection pool, for health checks and
// metrics (pool.Stat). Do not change the dmflow tables through it.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema that holds the tables.
func (db *DB) Schema() string { return db.schema }

// Prune forgets done inbox items and their keys older than the
// DedupeRetention, relative to now.
func (db *DB) Prune(ctx context.Context, now time.Time) (int, error) {
	return db.PruneInbox(ctx, now.Add(-db.opts.DedupeRetention))
}

// customPlan runs a statement unprepared (pgx's unnamed statement, still
// one round trip), so PostgreSQL plans it for its arguments and the tables'
// current size every time. The claims and renewals need it: a prepared
// statement switches to a generic plan after five runs, planned while the
// tables were nearly empty (a fresh schema, or statistics older than the
// backlog), and keeps it; for the claims that plan joined every pending row
// against every candidate with filters instead of index lookups
// (`auto_explain`: 176,000 buffers and 2.7 s for one outbox claim of 256
// items during `dmflow bench`, and the backlog it caused made the next claim
// slower still). A claim runs once per tens of events, so planning it each
// time costs little.
const customPlan = pgx.QueryExecModeExec

// SQLSTATEs raised by dmflow_check and PostgreSQL codes worth a retry.
const (
	stateConflict  = "DF001"
	stateLeaseLost = "DF002"
	stateInvalid   = "DF003"
	stateNotFound  = "DF004"
	stateDeadlock  = "40P01"
	stateSerialize = "40001"
)

const maxRetries = 8

// run calls fn, retrying transactions PostgreSQL aborted for a deadlock or
// a serialization failure (fn must be a whole transaction), and maps errors
// to dmflow sentinels wrapped with "store/postgres: <op>".
func (db *DB) run(ctx context.Context, op string, fn func(context.Context) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store/postgres: %s: %w", op, dmflow.ErrClosed)
	}
	var err error
	for range maxRetries {
		err = fn(ctx)
		if !db.retryable(err) {
			break
		}
	}
	return wrap(op, err)
}

// retryable reports whether err is worth a retry (counting deadlocks in
// Traffic).
func (db *DB) retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == stateDeadlock {
		db.tracer.deadlocks.Add(1)
	}
	return retryable(err)
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == stateDeadlock || pe.Code == stateSerialize)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case stateConflict:
			return fmt.Errorf("store/postgres: %s: %s: %w", op, pe.Message, dmflow.ErrConflict)
		case stateLeaseLost:
			return fmt.Errorf("store/postgres: %s: %s: %w", op, pe.Message, dmflow.ErrLeaseLost)
		case stateInvalid:
			return fmt.Errorf("store/postgres: %s: %s: %w", op, pe.Message, dmflow.ErrInvalid)
		case stateNotFound:
			return fmt.Errorf("store/postgres: %s: %s: %w", op, pe.Message, dmflow.ErrNotFound)
		}
	}
	return fmt.Errorf("store/postgres: %s: %w", op, err)
}

// nanos encodes t for the int8 instant columns; the zero time is 0 and
// times outside int64 nanoseconds are clamped.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Year() < 1678:
		return math.MinInt64 + 1
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos decodes an instant column; 0 is the zero time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// leaseTTL is the claim's lease, or the default.
func (db *DB) leaseTTL(c dmflow.Claim) time.Duration {
	if c.Lease > 0 {
		return c.Lease
	}
	return db.opts.Lease
}

func pageSize(limit int) int {
	if limit <= 0 {
		return store.DefaultPageSize
	}
	return limit
}

// decode unmarshals a record column, naming what it was on failure.
func decode(b []byte, v any, what string) error {
	if err := dmflow.UnmarshalRecord(b, v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// getRecord decodes the record column of the one row sql selects; no row
// is ErrNotFound.
func getRecord[T any](ctx context.Context, db *DB, op, sql string, args ...any) (*T, error) {
	var rec []byte
	err := db.run(ctx, op, func(ctx context.Context) error {
		err := db.pool.QueryRow(ctx, sql, args...).Scan(&rec)
		if errors.Is(err, pgx.ErrNoRows) {
			return dmflow.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var v T
	if err := decode(rec, &v, "store/postgres: "+op); err != nil {
		return nil, err
	}
	return &v, nil
}

// listRecords decodes the record column of every row sql selects.
func listRecords[T any](ctx context.Context, db *DB, op, sql string, args ...any) ([]*T, error) {
	var out []*T
	err := db.run(ctx, op, func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*T, error) {
			var rec []byte
			var v T
			if err := row.Scan(&rec); err != nil {
				return nil, err
			}
			return &v, decode(rec, &v, "record")
		})
		return err
	})
	return out, err
}
