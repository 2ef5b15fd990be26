// Package store documents the storage contract of dmflow and holds the few
// constants its backends share. The Go interface itself, [dmflow.Store], lives
// in the root package; the backends are sub-packages:
//
//	store/bolt       the default: one embedded bbolt file, one process
//	store/mem        in memory, for tests, `dmflow chat` and embedding
//	store/postgres   several replicas sharing one PostgreSQL database
//	store/storetest  the conformance suite every backend passes
//
// No backend imports another. bolt and mem share one implementation of the
// semantics below (store/internal/kvstore) over an ordered key-value
// transaction, so the two cannot drift apart; postgres implements the same
// contract in SQL and proves it with storetest.Run.
//
// # Inbox
//
// AppendInbox stores events in order and returns only once they are durable;
// an event whose Key was seen before (also earlier in the same batch) is
// counted as a duplicate and dropped. Each stored event gets a Seq from one
// store-wide increasing sequence. Events must carry Key, Account and User
// (otherwise the whole call fails with dmflow.ErrInvalid and stores nothing).
//
// # Leases
//
// Work is handed out under leases. ClaimInbox leases a user (SessionKey) to a
// Claim.Owner until Claim.Now+Claim.Lease; while the lease is live no other
// owner gets that user's items, so one user's events are processed in Seq
// order and never concurrently. The store keeps Claim.Lease with the lease;
// each claim, Commit, AckOutbox, RenewInbox and RenewOutbox renews it to
// their now plus that duration (never shortening it), so an owner whose
// claimed items take longer than one lease keeps the user by renewing.
// An expired lease may be taken over by another owner, who then gets the
// unfinished items again (Attempts counts the claims). Every time decision
// (lease expiry, due timers, due outbox retries) uses the time passed in by
// the caller (Claim.Now, Commit.Now, ...), never the store's clock, so tests
// are deterministic. A Commit that finishes an item (Seq != 0) fails with
// dmflow.ErrLeaseLost unless its Owner holds a live lease on the user. The
// outbox has the same leases per (queue, user): AckOutbox still removes
// delivered items of a user the owner lost, but reports dmflow.ErrLeaseLost
// so that the owner stops sending that user's other items. Action calls
// are leased one by one.
//
// # Commit
//
// Commit is all or nothing: compare-and-swap of the session on Version
// (dmflow.ErrConflict when it moved), re-indexing of the session's timers,
// the outbox messages and notices, the action calls, and marking the inbox
// item done (or failed). Nothing of a failed Commit is visible.
//
// # Group commit
//
// Durable backends share one transaction and one fsync among concurrent
// callers: many goroutines calling AppendInbox, Commit or AckOutbox at once
// cost about one disk flush per batch, not one per call. A call that fails
// inside a batch does not fail the others.
//
// # Retention
//
// Done items stay in the inbox history (History) and their Keys keep
// deduplicating redeliveries until PruneInbox forgets items received before
// the given time; pending items and their keys are never pruned. Failed items
// stay listed by FailedInbox. ExpireSessions deletes sessions whose Updated
// time (set to Commit.Now when the caller left it zero) is older than the
// TTL, with their timers. Sweep applies retention cut-offs per kind (done and
// failed history, delivery records, dead letters, notices); the bot runs it
// in the background.
//
// # Personal data
//
// Forget erases one person (or a whole business account) in one
// transaction: session and timers, inbox items up to the forget command's
// Seq with their dedupe keys, failed items, pending outbox items and
// notices, dead letters and action calls. Pending inbox items after that
// Seq (newer messages) stay. Export returns the same records. Deleted data
// may remain on disk until store/bolt's Compact rewrites the file, or
// PostgreSQL's VACUUM reclaims the rows.
package store

import "time"

// DefaultPageSize is the page size of listings whose limit is 0.
const DefaultPageSize = 100

// DefaultDedupeRetention is how long backends remember an event Key by
// default when they are not pruned explicitly: Instagram retries a webhook
// for hours, never for days.
const DefaultDedupeRetention = 7 * 24 * time.Hour
