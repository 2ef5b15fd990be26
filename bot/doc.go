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
// Leases outlive a claim's work: every Config.Lease/3 the dispatcher renews
// the inbox leases of the users with claimed items not committed yet
// (Store.RenewInbox; commits renew them too), so items waiting in a slow
// worker queue, or a long step, do not lose the user to another replica.
// The outbox drainer renews, every Lease/3, the leases of the users it
// delivers to whose lease was not renewed since (Store.RenewOutbox); before
// each send it checks that the user's lease is not known lost and, when
// less than half of it is left by its own estimate (the start of the last
// successful claim or renewal plus Lease), renews it first. Each
// acknowledgement renews the lease in the store too. When a renewal or an
// acknowledgement reports the lease lost (dmflow.ErrLeaseLost), or a
// renewal fails, the drainer sends none of the user's remaining claimed
// items: it releases them for their new owner or the next claim
// (dmflow_outbox_leases_lost_total counts these).
//
// # Isolation between accounts
//
// One bot serves any number of business accounts, and one account's
// trouble (a backlog after an outage, Meta throttling it, a slow Graph
// API) must not delay another account's users:
//
//   - Inbox claims and outbox claims are shared between accounts
//     round-robin (dmflow.Inbox.ClaimInbox, dmflow.Outbox.ClaimOutbox):
//     every account with waiting items gets its oldest one before any
//     account gets a second.
//   - Each inbox worker takes the accounts queued in its partition in
//     turns (partition), so a user waits for at most one item of each
//     other account queued there.
//   - Nothing slow runs on a worker while other users wait: the profile
//     and media lookups and an echo's wait for a send in flight run in a
//     goroutine; one still running after 50 ms parks its item (its user
//     is skipped in the partition until it ended) and the worker goes on
//     (see lookups). Actions run in the action runner, not in the worker.
//   - Send slots (Config.Senders) are shared fairly: one account holds at
//     most Senders − Senders/8, and a freed slot goes to the waiting
//     account with the fewest (fairSlots). Outbox items claimed and not
//     sent (at most 16×Senders per queue) are shared the same way: one
//     account holds at most 7/8, and an account at its share is left out
//     of claims (dmflow.Claim.Skip), so a throttled or paced account's
//     waiting replies never take the room another account's need.
//   - Action calls (Config.ActionWorkers at once) are shared the same
//     way: one account runs at most 7/8 of them and an account at its
//     share is left out of claims, so an account whose action endpoint is
//     slow never holds every action worker. Within an account's share
//     calls are claimed oldest first.
//
// What is shared without a fair share: the store (its fsyncs and, with
// PostgreSQL, its connections), the CPU and a step of the engine (fast, no
// I/O). Several accounts stalled at once can fill the send slots, claimed
// items or action workers between them; a new account then waits for one
// of them to move.
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
// waits for it (at most Config.EchoGrace, off the worker: see Isolation)
// before deciding. An echo whose id
// is unknown is then compared by content (its text, else its first
// attachment's type) with the last few replies this process delivered to
// the user (5 minutes) and with the user's replies still in the outbox
// (store/bolt, store/mem and store/postgres list them; a text above
// dmflow.MaxTextBytes, which the Instagram adapter sends in parts, matches
// an echo whose text of at least a third of that is part of it); then its
// id is looked up among the ids any replica acknowledged
// (Store.Remembered). The outbox is read before the ids: an acknowledgement
// removes the reply and remembers its id atomically, so a reply another
// replica is sending is found by one look or the other. While the echo is
// still unknown but the user has replies in the outbox, the worker looks
// again every 25 ms until they are gone or Config.EchoGrace is over. A
// match is ours. Any other echo is a person answering from the Instagram
// inbox: it goes to the engine, which hands the session off and answers
// nothing (the handoff and admin rules are the engine's alone). With
// notices on, the reply.sent notice is queued when the
// reply is acknowledged.
//
// # Caveats
//
//   - What is still taken for a person (a false handoff): the echo of a
//     reply whose send was accepted but not acknowledged (a crash after
//     the send, then a resend with a new id that left the outbox; or an
//     ambiguous send, dead-lettered) once the sender's memory is gone;
//     echoes of the earlier parts of a text split into several messages
//     (their ids are not returned by the Send API client, so never
//     remembered, and only the pending reply is matched part by part)
//     processed after the reply was acknowledged, on any replica (an inbox
//     backlog; they normally arrive while the later parts are being sent);
//     echoes processed after the dedupe retention forgot their id. The
//     reverse error is
//     possible too: a person typing, from the inbox, exactly the text of a
//     recent or pending reply (or a long part of a long one) is taken for
//     the bot (no handoff).
//   - A person's echo to a user with replies in the outbox waits up to
//     Config.EchoGrace before it hands off; the user's later events wait
//     with it (the worker's other users do not).
//   - Delivery is at least once: a crash between a successful send and its
//     acknowledgement sends the message again after restart.
//   - A user whose commit fails for a transient store error is released and
//     picked up again by the next claim (at the latest after Config.Poll).
//   - Leases compare the replicas' clocks: a replica whose clock runs ahead
//     by more than half the lease may take a user over while its owner
//     still sends. A single send that outlasts the lease while renewals
//     fail (the store unreachable for a whole lease) may be repeated by the
//     new owner, as after a crash.
//   - Actions are at least once too (the call id is sent as
//     Idempotency-Key). Shutdown does not wait for running calls: it
//     cancels them at once, records no result for them (they stay
//     recorded), and releases their leases (Store.ReleaseActions), so the
//     next claim, another replica's or this process's after a restart, runs
//     them again. They are not unfinished work: Shutdown returns nil for
//     them. An ActionRunner that ignores its context holds Shutdown until
//     it returns or Shutdown's context ends.
//   - An action call is cut short after 90% of Config.ActionLease, so that
//     it is completed while this process still holds it; the lease is not
//     renewed. flows.MaxActionTime (timeout × attempts ≤ 90 s) and
//     actions.MaxRetryDelay keep flow actions within the default 2 min; a
//     shorter ActionLease fails long calls.
//   - Config.Profiles is called before stepping a message or postback of
//     a user without a fresh profile; the user's events wait for it, at
//     most Config.ProfileTimeout, the worker's other users for at most 50
//     ms (then the lookup goes on off the worker). A failed lookup is not
//     retried for Config.ProfileRetry (per process). A lookup is made once
//     per item, so a parked item sees the profile as it was when its
//     lookup started.
package bot
