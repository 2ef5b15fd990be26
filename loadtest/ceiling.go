package loadtest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
)

// CeilingConfig configures the reference server.
type CeilingConfig struct {
	Secret   string // webhook signing secret
	GraphURL string // Send API base URL
	Token    string // access token presented to the Send API
	MaxBody  int64  // default instagram.DefaultMaxBody
}

// Ceiling is the bare reference server a load's dmflow numbers are
// compared with: it verifies the signature, parses the events, answers 200
// and then sends one counter-flow reply per message ("<n> <text>", n
// counted in memory) with the same Send API client dmflow uses. Nothing is
// persisted, nothing is ordered beyond what the HTTP exchange gives.
type Ceiling struct {
	cfg    CeilingConfig
	client *instagram.Client
	mu     sync.Mutex
	counts map[dmflow.SessionKey]int
}

// NewCeiling returns the reference handler: POST /webhook/instagram and
// GET /readyz.
func NewCeiling(cfg CeilingConfig) *Ceiling {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = instagram.DefaultMaxBody
	}
	// The client is configured as `dmflow serve` configures it.
	return &Ceiling{cfg: cfg, counts: map[dmflow.SessionKey]int{},
		client: instagram.NewClient(instagram.ClientConfig{BaseURL: cfg.GraphURL, Tokens: instagram.StaticToken(cfg.Token)})}
}

func (c *Ceiling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/readyz":
		w.WriteHeader(http.StatusOK)
	case r.URL.Path == "/webhook/instagram" && r.Method == http.MethodPost:
		c.webhook(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (c *Ceiling) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		http.Error(w, "bad body", http.StatusRequestEntityTooLarge)
		return
	}
	if err := instagram.VerifySignature(body, r.Header, c.cfg.Secret); err != nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	events, err := instagram.Parse(body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	for i := range events {
		c.reply(r.Context(), &events[i])
	}
}

func (c *Ceiling) reply(ctx context.Context, ev *dmflow.Event) {
	if ev.Kind != dmflow.KindMessage {
		return
	}
	key := ev.SessionKey()
	c.mu.Lock()
	c.counts[key]++
	n := c.counts[key]
	c.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	c.client.Send(ctx, dmflow.Outgoing{Key: key, To: dmflow.Recipient{ID: ev.User}, Cause: ev.Key,
		LastInbound: ev.Time, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: strconv.Itoa(n) + " " + ev.Text}})
}
