// Package bot is the dmflow pipeline: it takes normalized events from an
// adapter, stores them durably, runs them one user at a time through the
// flow engine, and delivers the resulting replies, notices and action calls.
//
//	Ingest → Store inbox → dispatcher → per-user ordered workers → Engine.Step
//	       → one Store.Commit (session + outbox + notices + actions + item done)
//	       → DM sender (dmflow.Sender) · notice poster (outgoing webhooks)
//	       → action runner → KindActionResult back into the inbox
//	timers: Store.FireTimers → KindTimer events into the same inbox
//
// A [Bot] is built with [New] from a plain [Config] and started with
// [Bot.Run]. The HTTP side is separate: the adapter's webhook handler calls
// [Bot.Ingest] before it answers 200; [Bot.AdminHandler] serves the admin
// API, [Bot.OpsHandler] serves /healthz, /readyz and /metrics.
//
// # Ordering and leases
//
// The dispatcher claims inbox items with a lease per user (Config.Lease) and
// routes every item of a user to the same worker (hash of the SessionKey), so
// one user's events are processed in Seq order and never concurrently, while
// different users run on different workers in parallel. Workers commit
// concurrently so the store can group their fsyncs. Several replicas may
// share one store: the store's leases keep each user on one owner at a time.
// The outbox is drained the same way: one goroutine per user at a time, users
// in parallel.
//
// # Echoes
//
// Instagram echoes every message the account sends. When a send succeeds,
// the drainer acknowledges the outbox item with the dedupe key
// "echo:<mid>" (dmflow.Ack.Remember), recorded in the same transaction, so
// the platform's echo, which the Instagram adapter keys "echo:<mid>" too,
// is dropped as a duplicate at ingest when it arrives later. When the
// platform echo wins the race, the worker recognises it by the message ids
// this process sent recently; if a send to that user is still in flight it
// waits for it (at most Config.EchoGrace) before deciding. Any other echo is
// a person answering from the Instagram inbox: it goes to the engine and
// the session is handed off (the bot sets Session.Handoff if the engine did
// not), and replies produced for an echo are dropped. With notices on, the
// reply.sent notice is queued when the reply is acknowledged.
//
// # Caveats
//
//   - Recognising an own echo that arrives before its acknowledgement
//     relies on the in-memory list of this process. With several replicas,
//     the replica that sent a reply and the replica that processes the echo
//     may differ; such an echo is then taken for a human reply (handoff).
//     The window is the time between Graph accepting the message and its
//     acknowledgement.
//   - Delivery is at least once: a crash between a successful send and its
//     acknowledgement sends the message again after restart.
//   - A user whose commit fails for a transient store error is released and
//     picked up again by the next claim (at the latest after Config.Poll).
//   - Actions are at least once too (the call id is sent as Idempotency-Key).
//   - Config.Profiles is called by the worker before stepping a message or
//     postback of a user without a fresh profile; the worker's other users
//     wait for it, at most Config.ProfileTimeout. A failed lookup is not
//     retried for Config.ProfileRetry (per process).
package bot
