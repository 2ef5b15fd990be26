// Package igtest is an in-process double of the Instagram Graph API for
// tests, the sandbox and benchmarks, plus builders of signed webhook bodies.
//
// Server behaves like graph.instagram.com (and the api.instagram.com and
// www.instagram.com OAuth endpoints) for what dmflow uses: the Send API with
// the platform's limits (1000-byte text, 13 quick replies, 3 buttons, 10
// elements, the 24-hour window and 7-day HUMAN_AGENT window, one private
// reply per comment within 7 days), /me, user profiles, messenger_profile,
// subscribed_apps and the OAuth code, long-lived and refresh exchanges. It
// records accepted sends (Messages, WaitMessages, Subscribe,
// Config.OnMessage), can deliver the signed echo webhook of each send
// (Config.OnEcho), and fails on demand (Inject a Fault: error codes,
// statuses, latency, dropped connections, for N calls or a fraction).
//
//	srv := igtest.NewServer(igtest.Config{})
//	defer srv.Close()
//	client := instagram.NewClient(instagram.ClientConfig{BaseURL: srv.URL, Tokens: instagram.StaticToken("t")})
//
// New returns the same double without a listener, to mount on a mux
// (with http.StripPrefix for a path prefix).
//
// Webhook builds bodies shaped like Meta's deliveries for every event kind
// and signs them: Sign, Request, Post; Merge batches bodies.
//
// # Caveats
//
//   - Users unknown to SetUserMessagedAt are inside the window unless
//     Config.StrictWindow is set; comments unknown to AddComment accept one
//     private reply to a made-up user ("igsid-<comment id>").
//   - Quick-reply titles longer than 20 characters are truncated in the
//     record, as Instagram truncates them on screen.
//   - Only JSON Send API bodies are understood (the real API also takes
//     form-encoded ones).
//   - A Subscribe channel that falls behind its buffer misses messages.
package igtest
