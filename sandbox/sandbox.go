package sandbox

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

//go:embed static
var static embed.FS

// Config configures a Sandbox.
type Config struct {
	// Account is the business account id (IG_ID) the sandbox plays: the
	// entry.id of every webhook it builds. Required.
	Account string
	// Secret is the app secret the webhook handler verifies signatures with.
	// Required.
	Secret string
	// Webhook is the real Instagram webhook handler user input is delivered
	// to (instagram.NewWebhook). Required.
	Webhook http.Handler
	// Graph is the Graph API double the bot's sender talks to. GraphHandler
	// wraps it. Required.
	Graph http.Handler
	// History is how many messages are kept per user. Default 500.
	History int
	// Now is the clock of webhook timestamps. Default time.Now.
	Now func() time.Time
	// Logger receives rejected input and delivery failures. Default: discard.
	Logger *slog.Logger
}

// Sandbox is the web chat and its message feed. It is safe for concurrent
// use. Create it with New.
type Sandbox struct {
	cfg  Config
	feed *feed
	mids atomic.Uint64
	run  string // random prefix of this process's message ids
}

// New checks cfg and returns a Sandbox.
func New(cfg Config) (*Sandbox, error) {
	switch {
	case cfg.Account == "":
		return nil, errors.New("sandbox: config: Account is required")
	case cfg.Secret == "":
		return nil, errors.New("sandbox: config: Secret is required")
	case cfg.Webhook == nil || cfg.Graph == nil:
		return nil, errors.New("sandbox: config: Webhook and Graph handlers are required")
	}
	if cfg.History <= 0 {
		cfg.History = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &Sandbox{cfg: cfg, feed: newFeed(cfg.History), run: hex.EncodeToString(r[:])}, nil
}

// Handler serves the chat page and its API, rooted at "/": mount it with
// http.StripPrefix, e.g. under "/sandbox":
//
//	GET  /                  the chat page (index.html, app.js, style.css)
//	GET  /api/config        {"account": ...}
//	POST /api/send          an Input (JSON) → {"status": <webhook status>, "message": Message}
//	GET  /api/messages      ?user=U[&after=SEQ] → the user's recorded messages (JSON array)
//	GET  /api/events        ?user=U → Server-Sent Events, one "message" event per Message;
//	                        history after Last-Event-ID (or ?after) is replayed first
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("sandbox: embedded files: " + err.Error())
	}
	mux.Handle("GET /", pageHeaders(http.FileServerFS(sub)))
	mux.HandleFunc("GET /api/config", s.serveConfig)
	mux.HandleFunc("POST /api/send", s.serveSend)
	mux.HandleFunc("GET /api/messages", s.serveMessages)
	mux.HandleFunc("GET /api/events", s.serveEvents)
	return mux
}

// pageHeaders forbids everything but same-origin scripts and styles; images
// may come from anywhere because flows send image URLs.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'self'; img-src * data:; media-src *; connect-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// Close ends every open event stream (so an http.Server can shut down)
// and refuses new subscriptions. Say and the Graph recording keep working.
func (s *Sandbox) Close() { s.feed.close() }

// Messages returns the recorded messages of user after seq (0: all).
func (s *Sandbox) Messages(user string, after uint64) []Message {
	return s.feed.since(user, after)
}

// Subscribe returns a channel of the user's new messages and a function
// that ends the subscription. A subscriber that falls behind by more than
// the channel's buffer is dropped (the channel is closed); it may read the
// missed messages with Messages and subscribe again.
func (s *Sandbox) Subscribe(user string) (<-chan Message, func()) {
	return s.feed.subscribe(user)
}
