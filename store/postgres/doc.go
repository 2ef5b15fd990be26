// Package postgres is a dmflow.Store on PostgreSQL (via pgx/v5 and
// pgxpool), so that several `dmflow serve` replicas behind a load balancer
// share the inbox, sessions, timers, outbox, action calls and tokens with
// the guarantees of the bbolt store (see dmflow.Store and store/storetest,
// which this package passes).
//
//	db, err := postgres.Open(ctx, "postgres://dmflow@db:5432/dmflow", &postgres.Options{Migrate: true})
//
// # Scaling model
//
// Every replica opens its own pool on the same database and schema. Work is
// shared through leases stored in the database, never in process memory:
//
//   - ClaimInbox and ClaimOutbox lease users, one row per (queue, user) in
//     the leases table with owner and expiry. Taking a lease is an INSERT …
//     ON CONFLICT DO UPDATE … WHERE (free, expired or ours), which locks the
//     row and re-checks it against the latest committed lease, so two
//     replicas never both win a user, and one user's items go out in Seq
//     order. A lease survives connection churn (it is a row, not a session
//     advisory lock); a replica killed with SIGKILL leaves its leases to
//     expire, or, when it kept a heartbeat (Heartbeat, the replicas
//     table), to be taken as soon as its heartbeat expired; another replica
//     then takes the user over and gets the unfinished items again
//     (Attempts counts the claims). The row keeps
//     the claim's lease duration (ttl): Commit, AckOutbox, RenewInbox and
//     RenewOutbox renew the owner's live lease to their now plus ttl
//     (greatest(), so a stale now never shortens it).
//   - Action calls and timers are claimed with SELECT … FOR UPDATE SKIP
//     LOCKED, so replicas take disjoint calls and each timer fires once.
//   - Pace reserves send slots per account and class in the pace table
//     (dmflow.Pacer), so replicas pace an account's sends together.
//   - Concurrent AppendInbox, Commit and AckOutbox calls of one DB are
//     grouped into shared transactions (one round trip and one WAL flush
//     per group); a commit whose check fails fails alone.
//   - Sessions use optimistic versioning: Commit writes with a
//     compare-and-swap on the version column (dmflow.ErrConflict when it
//     moved).
//
// Every time decision (lease expiry, due timers and retries, dedupe
// retention) compares the instants the caller passes (Claim.Now, Commit.Now,
// …), stored as int8 Unix nanoseconds, never the database's now(); keep the
// replicas' clocks in sync (NTP), since lease expiry compares one replica's
// clock with another's.
//
// # Round trips and group commit
//
// AppendInbox inserts the whole batch of events with one statement (unnest
// of arrays, ON CONFLICT (event_key) DO NOTHING, forgetting keys past the
// retention in a CTE); a Commit is one statement too (lease check, session
// CAS, timers, outbox, actions as data-modifying CTEs): one network round
// trip each, using prepared statements from pgx's statement cache. Claims
// and renewals are not prepared: PostgreSQL plans each for its arguments
// and the tables' current size, never with a generic plan cached while the
// tables were empty (see customPlan). Failed checks raise from SQL
// (dmflow_check) and roll the whole commit back. PostgreSQL itself
// group-commits the WAL of concurrent transactions, so many goroutines
// calling AppendInbox or Commit at once share fsyncs; throughput grows with
// concurrency up to the pool size.
//
// # Connection settings and pool size
//
// The URL is a libpq URL or key=value string (sslmode, connect_timeout,
// application_name and pool_* parameters such as pool_max_conn_lifetime are
// honoured). Options.MaxConns bounds the pool (DefaultMaxConns = 16): size
// it to the number of concurrent workers of the replica (inbox workers,
// outbox drainers, webhook handlers), and keep replicas × MaxConns below the
// server's max_connections. Every connection sets search_path to the schema
// (Options.Schema, else the URL's search_path, else "dmflow").
//
// # Migrations
//
// The schema is created by numbered SQL files embedded in the binary
// (Migrations lists them), recorded in the schema's schema_migrations table.
// Migrate (the CLI's `dmflow migrate`) or Open with Options.Migrate applies
// the missing ones in one transaction under a transaction-level advisory
// lock, so replicas starting together do not race. Without Migrate, Open
// fails if the schema is behind the binary. The role needs CREATE on the
// database to create the schema, or the schema must exist and be owned by it.
//
// # Backups
//
// Everything lives in one schema: `pg_dump -n dmflow -Fc` takes a
// consistent snapshot while replicas run, and pg_restore brings it back
// (stop the replicas first). Continuous archiving (WAL, PITR) works as for
// any PostgreSQL database. Records are dmflow.MarshalRecord bytes (a version
// byte then JSON) in bytea columns, readable with
// convert_from(substring(record from 2), 'UTF8')::jsonb.
//
// # Caveats
//
//   - Durability is PostgreSQL's: a nil error means the transaction
//     committed; with synchronous_commit=off or a replica that is promoted
//     asynchronously, acknowledged events can be lost.
//   - Leases rely on the replicas' clocks; a replica whose clock runs ahead
//     takes over leases early.
//   - ClaimInbox and ClaimOutbox are shared between accounts round-robin:
//     each walks every account's oldest items (indexes inbox_pending_account,
//     migration 0006, and outbox_account, migration 0007) and stops at Max
//     eligible ones per account, but skips, reading them, the items of users
//     leased by other owners and (outbox) of users waiting for a retry: both
//     cost more as such a backlog grows (fine for thousands of items, not
//     for millions).
//   - PgBouncer in transaction pooling mode breaks the per-connection
//     search_path and prepared statements; use session pooling or connect
//     directly.
//   - Tokens are stored unencrypted; restrict access to the schema and its
//     dumps.
//   - Done inbox items stay until PruneInbox (or Prune) removes them;
//     failed items stay listed by FailedInbox.
package postgres
