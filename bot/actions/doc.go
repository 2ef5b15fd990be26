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
//     token), in the flow's literal text only. A call keeps its URL and
//     headers as dmflow.Text segments; the runner resolves the Secret
//     segments, from HTTP.Secrets and then HTTP.LookupEnv, when the call
//     runs, and sends literal and inserted (Value) segments as they are, so
//     no inserted value can form a reference. The call record keeps the
//     reference; every resolved value is redacted from the result's error.
//   - A value inserted before the URL's host ends is refused (flows refuses
//     such templates at load time; the runner checks again).
//   - Redirects are followed only within the request's origin, without
//     Referer; a redirect elsewhere is outcome "error" with its 3xx status.
//   - Only idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried,
//     after transport errors, timeouts, 429 and 5xx, with exponential
//     backoff of at most MaxRetryDelay (1 s) per delay. Every request carries
//     "Idempotency-Key: <call id>", also across the bot's at-least-once
//     re-runs after a crash.
package actions
