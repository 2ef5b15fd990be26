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
// With Config.Bot the page is the studio (docs/studio.md): several
// simulated users side by side, the other event kinds (reactions, story
// mentions, comments, ice breakers, ad referrals), and a flow pane fed by
// bot.OnStep through the same event stream: the flow graph drawn by the
// vendored Mermaid with the current state and the transition just taken,
// the session's variables, attempts and timers, each step's trace, and
// controls (reset, jump to a state, handoff, advance the Clock to fire
// timers, reload the flows with file:line:col errors).
//
// With Config.Messenger the studio also simulates Messenger (SetChannel,
// POST api/channel): input goes through the real Messenger webhook handler
// as deliveries to a Facebook Page, an account of its own, and
// MessengerGraphHandler records the replies the bot's Messenger client
// sends to the Messenger double; a user on both channels has two
// conversations.
//
// The page is plain HTML, CSS and JavaScript modules embedded with the
// binary: no CDN, no build step (static/vendor/README.md says where
// mermaid.min.js.gz comes from).
//
// # Caveats
//
//   - The feed lives in memory: a restart of the server empties the page's
//     history (the bot's sessions survive in the store).
//   - Private replies to comments are addressed to a comment, not a user;
//     they are recorded under the user "comment:<id>".
//   - The sandbox has no accounts: serve enables it only without Instagram
//     credentials, on a loopback address unless a public token is set
//     (Config.Token). Every request passes one guard (guard.go): a loopback
//     Host against DNS rebinding, no cross-site Origin or Sec-Fetch-Site,
//     and Content-Type: application/json on POSTs.
//   - Steps are observed just before the bot commits them: the page can
//     show a step a moment before api/session returns it, and a step whose
//     commit fails (rare: a lost lease) is shown anyway.
//   - Say holds a lock while the webhook handler runs so a step is recorded
//     after its input; the bot worker waits for it in the observer.
package sandbox
