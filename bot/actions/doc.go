// Package actions runs dmflow action calls: HTTP requests declared in flow
// files ([HTTP]) and Go functions registered by an embedder ([Registry]).
// [Runner] dispatches a call by its Kind and satisfies bot.ActionRunner.
//
// Every run ends in a dmflow.ActionResult with one of the outcomes "ok",
// "error" (non-2xx status, transport or Go error), "timeout" or "invalid"
// (a response that is too large or not JSON); runners never panic on bad
// input and never return Go errors.
//
// # Caveats
//
//   - The URL and header values may reference secrets as ${NAME} (a whole
//     base URL such as ${LEADS_URL}, an API key in the query, a bearer
//     token). They are resolved when the call runs, from HTTP.Secrets and
//     then HTTP.LookupEnv; the call record keeps the reference, and resolved
//     values never appear in results or errors. The engine keeps values a
//     flow inserts from expressions from forming a reference.
//   - Only idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried,
//     after transport errors, timeouts, 429 and 5xx, with exponential
//     backoff of at most MaxRetryDelay (1 s) per delay. Every request carries
//     "Idempotency-Key: <call id>", also across the bot's at-least-once
//     re-runs after a crash.
package actions
