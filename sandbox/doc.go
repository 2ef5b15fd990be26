// Package sandbox is the local stand-in for the Instagram app: a web chat
// page at /sandbox that lets a person talk to a running dmflow bot as if in
// Instagram DMs, with no Meta app, no credentials and no internet.
//
// It sits at the two edges of the real pipeline and touches nothing in
// between:
//
//	browser ──POST api/send──▶ Sandbox.Say ──signed webhook──▶ the real
//	/webhook/instagram handler ──▶ bot ──▶ Instagram client ──Send API──▶
//	Graph API double, wrapped by Sandbox.GraphHandler ──▶ feed ──SSE──▶ browser
//
// Inbound, Say builds a webhook body shaped like Meta's (igtest builders),
// signs it with the app secret the webhook handler verifies, and calls that
// handler in-process, so signature checks, parsing, dedupe and the durable
// inbox all run exactly as in production. Outbound, GraphHandler wraps the
// Graph API double the bot's sender talks to and records every accepted Send
// API request into a per-user feed, which the page receives as Server-Sent
// Events. The page renders the Send API JSON itself (text, quick-reply
// chips, button and generic templates, images, the heart sticker, typing).
//
// The page is plain HTML, CSS and JavaScript embedded with the binary: no
// CDN, no build step.
//
// # Caveats
//
//   - The feed lives in memory: a restart of the server empties the page's
//     history (the bot's sessions survive in the store).
//   - Private replies to comments are addressed to a comment, not a user;
//     they are recorded under the user "comment:<id>".
//   - The sandbox has no authentication: serve enables it only without
//     Instagram credentials, for local development on 127.0.0.1.
package sandbox
