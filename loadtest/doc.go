// Package loadtest drives a dmflow server (or any webhook receiver) with
// signed Instagram webhooks and measures what comes out the other side. It
// backs `dmflow bench` and the crash, fault, bad-input and soak suites.
//
// The pieces:
//
//   - [Graph] is a minimal Graph API double that accepts Send API calls for
//     any account and records every reply with its arrival time. Replies are
//     expected to read "<n> <seq>" (the counter flow in testdata/flows), so
//     each reply names the event it answers and the session's count.
//   - [Load] sends signed webhook POSTs in Meta's payload format (one or
//     several events per POST) for many users with bounded concurrency,
//     optionally at a fixed rate, one user's events strictly one after the
//     other (the next only after the previous POST was acknowledged), and
//     redelivers a POST that was not answered 200, as Meta does.
//   - [Result] combines both: events/s end to end, ack and end-to-end latency
//     percentiles, lost, duplicated and out-of-order replies, replies whose
//     count shows an event processed twice or skipped.
//   - [Process] starts a server binary, waits until it serves, samples its
//     peak RSS, and stops or SIGKILLs it.
//   - [Ceiling] is the reference server: verify the signature, parse, ack,
//     and send one reply per event, with no persistence.
//
// Everything binds 127.0.0.1 only and is bounded by counts and deadlines.
//
// # Caveats
//
//   - The generator, the Graph double and the server share the machine. On
//     a small machine they compete for CPU, which is why `dmflow bench`
//     reports ratios against the ceiling measured in the same run.
//   - Peak RSS is read from /proc (VmHWM), so it is Linux-only; elsewhere it
//     is reported as 0.
//   - The instagram client paces sends at 100/s per business account (the
//     platform's limit), so a load must spread its users over enough
//     accounts (Options.Accounts) to measure the pipeline, not the limiter.
package loadtest
