// Package metahook is the webhook plumbing every Meta channel shares
// (Instagram, Messenger, and any later Meta platform): the
// X-Hub-Signature-256 check over the raw body, the hub.challenge
// subscription handshake, and an http.Handler that serves any
// dmflow.Adapter. Secrets are compared with internal/secure, in constant
// time.
package metahook

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
)

// Signature headers Meta sets on every webhook POST.
const (
	HeaderSignature256 = "X-Hub-Signature-256"
	HeaderSignature1   = "X-Hub-Signature"
)

// DefaultMaxBody is the default webhook body limit (1 MiB).
const DefaultMaxBody = 1 << 20

// Match reports whether sig ("sha256=<hex>", or "sha1=<hex>" with sha1)
// is the HMAC of body under one of secrets. Every secret is tried, so the
// time taken tells nothing about which one matched; empty secrets never
// match.
func Match(body []byte, sig string, sha1Sig bool, secrets []string) bool {
	prefix, alg := "sha256=", sha256.New
	if sha1Sig {
		prefix, alg = "sha1=", func() hash.Hash { return sha1.New() }
	}
	hexsum, ok := strings.CutPrefix(strings.TrimSpace(sig), prefix)
	if !ok {
		return false
	}
	want, err := hex.DecodeString(strings.ToLower(hexsum))
	if err != nil {
		return false
	}
	match := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(alg, []byte(s))
		m.Write(body)
		if secure.EqualBytes(m.Sum(nil), want) {
			match = true
		}
	}
	return match
}

// Verify checks the signature headers of a delivery: the sha256 header when
// present, else the sha1 one when allowSHA1. It returns nil, an error
// wrapping dmflow.ErrUnsigned when there is no usable header, or one
// wrapping dmflow.ErrInvalid for a mismatch. name prefixes the errors.
func Verify(name string, body []byte, h http.Header, secrets []string, allowSHA1 bool) error {
	if sig := h.Get(HeaderSignature256); sig != "" {
		if Match(body, sig, false, secrets) {
			return nil
		}
		return fmt.Errorf("%s: webhook signature mismatch: %w", name, dmflow.ErrInvalid)
	}
	if sig := h.Get(HeaderSignature1); sig != "" && allowSHA1 {
		if Match(body, sig, true, secrets) {
			return nil
		}
		return fmt.Errorf("%s: webhook signature mismatch: %w", name, dmflow.ErrInvalid)
	}
	return fmt.Errorf("%s: %w", name, dmflow.ErrUnsigned)
}

// Sign returns the X-Hub-Signature-256 value of body under secret, as
// Meta computes it (for doubles and tests).
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Handshake answers a subscription check: hub.mode=subscribe with a
// hub.verify_token equal to token (compared in constant time; an empty
// token never matches) returns hub.challenge.
func Handshake(name string, q url.Values, token string) (string, error) {
	if q.Get("hub.mode") != "subscribe" || token == "" || !secure.Equal(q.Get("hub.verify_token"), token) {
		return "", fmt.Errorf("%s: webhook verification refused (mode %q): %w", name, q.Get("hub.mode"), dmflow.ErrInvalid)
	}
	return q.Get("hub.challenge"), nil
}

// Sink receives the events of one verified delivery. It must return nil
// only once they are durable; the handler then answers 200.
type Sink func(ctx context.Context, events []dmflow.Event) error

// Config configures NewWebhook.
type Config struct {
	// MaxBody limits the request body (default DefaultMaxBody).
	MaxBody int64
	// Logger receives rejected requests and sink failures (default: discard).
	Logger *slog.Logger
	// OnInvalid is told about each parsed event that fails
	// dmflow.Event.Check; it is dropped and the rest delivered. Default:
	// logged.
	OnInvalid func(ev dmflow.Event, err error)
}

// NewWebhook serves a's webhook endpoint:
//
//   - GET: the handshake (a.Handshake); the challenge as text/plain, else 403.
//   - POST: 413 over MaxBody, 401 unsigned, 403 for a bad signature
//     (checked on the raw bytes before parsing), 400 for a body a.Parse
//     refuses; then the valid events go to sink: 200 when it returns nil,
//     503 otherwise so that Meta redelivers. No events: 200 without sink.
//   - other methods: 405.
func NewWebhook(a dmflow.Adapter, cfg Config, sink Sink) http.Handler {
	if a == nil || sink == nil {
		panic("metahook: NewWebhook needs an adapter and a sink")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &webhook{a: a, cfg: cfg, sink: sink}
}

type webhook struct {
	a    dmflow.Adapter
	cfg  Config
	sink Sink
}

func (wh *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		challenge, err := wh.a.Handshake(r.URL.Query())
		if err != nil {
			wh.cfg.Logger.Warn(wh.a.Channel()+" webhook: verification refused", "err", err)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, challenge)
	case http.MethodPost:
		wh.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (wh *webhook) deliver(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wh.cfg.MaxBody))
	if err != nil {
		status := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		wh.reject(w, r, status, err)
		return
	}
	if err := wh.a.Verify(body, r.Header); err != nil {
		status := http.StatusForbidden
		if errors.Is(err, dmflow.ErrUnsigned) {
			status = http.StatusUnauthorized
		}
		wh.reject(w, r, status, err)
		return
	}
	events, err := wh.a.Parse(body)
	if err != nil {
		wh.reject(w, r, http.StatusBadRequest, err)
		return
	}
	events = wh.dropInvalid(events)
	if len(events) > 0 {
		if err := wh.sink(r.Context(), events); err != nil {
			wh.cfg.Logger.Error(wh.a.Channel()+" webhook: sink failed, Meta will redeliver", "events", len(events), "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (wh *webhook) dropInvalid(events []dmflow.Event) []dmflow.Event {
	out := events[:0:0]
	for i := range events {
		err := events[i].Check()
		switch {
		case err == nil:
			out = append(out, events[i])
		case wh.cfg.OnInvalid != nil:
			wh.cfg.OnInvalid(events[i], err)
		default:
			wh.cfg.Logger.Warn(wh.a.Channel()+" webhook: invalid event dropped", "kind", events[i].Kind, "err", err)
		}
	}
	return out
}

func (wh *webhook) reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	wh.cfg.Logger.Warn(wh.a.Channel()+" webhook: rejected", "status", status, "remote", r.RemoteAddr, "err", err)
	http.Error(w, http.StatusText(status), status)
}
