// Package bolt is the default dmflow.Store: one embedded bbolt file
// (go.etcd.io/bbolt) holding the inbox, sessions, timers, outbox, action
// calls, dead letters and tokens, for a single `dmflow serve` process. The
// contract it implements is documented on [dmflow.Store] (checked by
// store/storetest, shared with store/mem through store/internal/kvstore);
// this page says how bbolt carries it out.
//
//	db, err := bolt.Open("dmflow.db", nil)
//	if err != nil { ... }
//	defer db.Close()
//
// # Group commit
//
// Every write (Commit, claims, acks, ...) is queued to one writer
// goroutine that runs all queued requests in one bbolt transaction and
// commits once (one fsync pair), and returns to each caller after that
// commit. A request that fails after writing aborts its batch; the others
// are re-run without it and it runs alone. There is no batching delay: a
// lone caller commits at once. DB.Stats tells how many requests the commits
// carried.
//
// # Inbox log
//
// AppendInbox does not wait for that writer: new events go to an
// append-only log next to the file (PATH.inbox/, segment files with a
// CRC-32C per record) with its own group commit (one write and one
// fdatasync per batch), and the call returns after that sync. The next
// bbolt write transaction, whatever it is, first applies the logged events
// (the same pending items and indexes as before) with the highest applied
// log sequence number, so every claim, commit, forget or prune sees them;
// inbox reads and Backup apply first. Open replays what a kill -9 left
// unapplied (a torn tail, never acknowledged, is dropped) and deletes the
// log; Close applies everything and deletes it; Forget and Compact delete
// every applied segment, so a forgotten person's text leaves the log with
// the call. Options.NoInboxLog appends straight into bbolt instead. See
// inboxlog.go.
//
// # Layout
//
// The records written on every event (sessions, inbox and outbox items)
// use a compact binary codec (first byte 2, see
// store/internal/kvstore/codec.go); the others, and values the binary form
// cannot hold as JSON would, are encoded with dmflow.MarshalRecord (a
// version byte 1, then JSON). A record's first byte selects its decoder, so
// files written by older versions (all JSON) open unchanged;
// numeric keys are big-endian, times are encoded so they sort. Top-level
// buckets: inbox.items (by seq), inbox.pending, inbox.pendacct, inbox.byuser, inbox.recv,
// inbox.dedupe, inbox.failed, sessions, sessions.upd, timers (by due time),
// outbox.index, outbox.items/<queue>, outbox.queue/<queue>, outbox.acct/<queue>
// (queued items by account, for fair claims), outbox.dead,
// actions, actions.id and tokens. The lease buckets (inbox.lease,
// outbox.lease/<queue>, actions.lease) are kept in memory, not in the file:
// only this process can hold a lease, and a restart drops them anyway. Their
// writes join the transaction (an overlay applied once bbolt committed), so
// they roll back with it. Leases idle for a few seconds (expired, nothing
// claimed) are swept every 2 s, so memory follows the users active in the
// last lease duration, not every user seen.
//
// # Performance
//
// The freelist is not written on each commit (bbolt NoFreelistSync); Open
// rebuilds it by scanning the file. Keeping leases in memory spares a
// scattered page write per claim, commit and acknowledgement. See
// docs/performance.md for measured numbers (BenchmarkAppendInbox,
// BenchmarkCommit, and `dmflow bench` end to end).
//
// # Caveats
//
//   - One process only: bbolt holds an exclusive lock on the file. A second
//     Open (another `dmflow serve`, an admin CLI) fails after
//     Options.Timeout (1s by default) with an error saying another process
//     has the file open. Use store/postgres for several replicas, and the
//     running server's Backup for copies.
//   - A read-only Open does not read the inbox log: after a kill -9, events
//     acknowledged but not yet applied show only once a read-write Open
//     (the next `dmflow serve`) replayed them. Read-only users (validate
//     --against, instagram setup) read sessions and tokens, which are not
//     logged.
//   - Leases live in memory and die with the process: the file lock proves
//     their owners died with it, so their work is claimable at once after a
//     restart. (Files written by versions that stored leases keep them in
//     lease buckets, which Open deletes.)
//   - Open of a large file takes longer than with a synced freelist: bbolt
//     scans the file's pages to rebuild the freelist.
//   - Options.NoSync is unsafe (a machine crash can lose acknowledged writes
//     or corrupt the file); it exists for benchmarks. Crash safety relies on
//     fsync being honest; a kill -9 of the process loses nothing that was
//     acknowledged.
//   - The file never shrinks; deleted pages are reused. Compact offline with
//     `bbolt compact` if it grew from a backlog.
//   - Claims read each account's oldest items of the inbox or of one outbox
//     queue (inbox.pendacct, outbox.acct/<queue>; built at the first claim
//     after upgrading a file) and stop at Max per account, but they read
//     past the items of users leased by another owner or (outbox) waiting
//     for a retry, so such a backlog of many thousands of items makes each
//     claim slower; depths (InboxDepth, OutboxDepth) walk the bucket's pages.
//   - A record a newer dmflow wrote in a format this version does not know
//     reads as dmflow.ErrCorrupt, as garbage does.
package bolt
