package instagram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/metahook"
	"github.com/dmflow/dmflow/internal/secure"
)

// Signature headers Meta sets on every webhook POST.
const (
	HeaderSignature256 = "X-Hub-Signature-256"
	HeaderSignature1   = "X-Hub-Signature"
)

// DefaultMaxBody is the default webhook body limit (1 MiB). Meta batches at
// most 1000 updates per request, far below it.
const DefaultMaxBody = 1 << 20

// Signature errors. Both wrap dmflow.ErrInvalid; ErrNoSignature also
// wraps dmflow.ErrUnsigned.
var (
	// ErrNoSignature reports a request without a usable signature header.
	ErrNoSignature = fmt.Errorf("instagram: %w", dmflow.ErrUnsigned)
	// ErrBadSignature reports a signature that matches none of the secrets.
	ErrBadSignature = fmt.Errorf("instagram: webhook signature mismatch: %w", dmflow.ErrInvalid)
)

// Verifier checks webhook signatures: X-Hub-Signature-256 (HMAC-SHA256 of the
// raw body) against each secret, and the legacy sha1 header only when
// AllowSHA1 is set and no sha256 header is present. Comparisons are constant
// time. The zero Verifier rejects everything.
type Verifier struct {
	// Secrets are the candidate app secrets: the Instagram app secret and,
	// optionally, the Meta app secret. Empty strings are ignored.
	Secrets   []string
	AllowSHA1 bool
}

// Verify returns nil if body carries a valid signature in h, ErrNoSignature
// if there is none, and ErrBadSignature otherwise.
func (v Verifier) Verify(body []byte, h http.Header) error {
	if sig := h.Get(HeaderSignature256); sig != "" {
		return v.check(body, sig, false)
	}
	if sig := h.Get(HeaderSignature1); sig != "" && v.AllowSHA1 {
		return v.check(body, sig, true)
	}
	return ErrNoSignature
}

// check uses the HMAC comparison every Meta channel shares (metahook).
func (v Verifier) check(body []byte, sig string, sha1 bool) error {
	if !metahook.Match(body, sig, sha1, v.Secrets) {
		return ErrBadSignature
	}
	return nil
}

// VerifySignature checks the X-Hub-Signature-256 header of a webhook body
// against the given secrets (any one may match). See Verifier.
func VerifySignature(body []byte, h http.Header, secrets ...string) error {
	return Verifier{Secrets: secrets}.Verify(body, h)
}

// WebhookConfig configures the webhook handler.
type WebhookConfig struct {
	// VerifyToken is the token typed in the App Dashboard; the GET handshake
	// succeeds only when it matches (an empty token never matches).
	VerifyToken string
	// AppSecrets are the candidate signing secrets (see Verifier).
	AppSecrets []string
	// AllowSHA1 accepts the legacy X-Hub-Signature (sha1) header when no
	// sha256 header is present.
	AllowSHA1 bool
	// MaxBody limits the request body (default DefaultMaxBody).
	MaxBody int64
	// Logger receives rejected requests and sink failures (default: discard).
	Logger *slog.Logger
	// OnInvalid is told about each event of a verified delivery that
	// fails dmflow.Event.Check (no account or user, a NUL byte): it is
	// dropped, and the rest of the delivery goes to the sink. Default: the
	// event is logged.
	OnInvalid func(ev dmflow.Event, err error)
}

// Sink receives the events of one verified webhook delivery. It must return
// nil only once the events are durable; the handler then answers 200.
type Sink func(ctx context.Context, events []dmflow.Event) error

// NewWebhook returns the webhook endpoint:
//
//   - GET: the subscription handshake; hub.mode=subscribe with a matching
//     hub.verify_token echoes hub.challenge as text/plain, anything else is 403.
//   - POST: 413 for a body over MaxBody, 401 without a signature, 403 for a
//     signature that matches no secret (checked on the raw bytes, before
//     parsing), 400 for a body that is not JSON; then the events go to sink:
//     200 when it returns nil, 503 otherwise so that Meta redelivers. A
//     delivery with no events is answered 200 without calling sink. Events
//     that fail dmflow.Event.Check are dropped (OnInvalid) and the valid
//     rest is delivered: one bad event never makes Meta redeliver a batch.
//   - other methods: 405.
//
// Echo and self events are passed to sink too, marked (KindEcho, Self).
// NewWebhook panics if sink is nil.
func NewWebhook(cfg WebhookConfig, sink Sink) http.Handler {
	if sink == nil {
		panic("instagram: NewWebhook needs a sink")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &webhook{cfg: cfg, verifier: Verifier{Secrets: cfg.AppSecrets, AllowSHA1: cfg.AllowSHA1}, sink: sink}
}

type webhook struct {
	cfg      WebhookConfig
	verifier Verifier
	sink     Sink
}

func (wh *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		wh.handshake(w, r)
	case http.MethodPost:
		wh.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (wh *webhook) handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	ok := q.Get("hub.mode") == "subscribe" && wh.cfg.VerifyToken != "" &&
		secure.Equal(token, wh.cfg.VerifyToken)
	if !ok {
		wh.cfg.Logger.Warn("instagram webhook: verification refused", "mode", q.Get("hub.mode"))
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, q.Get("hub.challenge"))
}

func (wh *webhook) deliver(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, wh.cfg.MaxBody))
	if err != nil {
		wh.reject(w, r, readStatus(err), err)
		return
	}
	if err := wh.verifier.Verify(body, r.Header); err != nil {
		status := http.StatusForbidden
		if errors.Is(err, ErrNoSignature) {
			status = http.StatusUnauthorized
		}
		wh.reject(w, r, status, err)
		return
	}
	events, err := Parse(body)
	if err != nil {
		wh.reject(w, r, http.StatusBadRequest, err)
		return
	}
	events = wh.dropInvalid(events)
	if len(events) > 0 {
		if err := wh.sink(r.Context(), events); err != nil {
			wh.cfg.Logger.Error("instagram webhook: sink failed, Meta will redeliver", "events", len(events), "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// dropInvalid removes the events no store can keep, telling OnInvalid or
// else logging each (kind and error, which quotes the ids; never the
// message content).
func (wh *webhook) dropInvalid(events []dmflow.Event) []dmflow.Event {
	out := events[:0:0]
	for i := range events {
		err := events[i].Check()
		if err == nil {
			out = append(out, events[i])
			continue
		}
		if wh.cfg.OnInvalid != nil {
			wh.cfg.OnInvalid(events[i], err)
			continue
		}
		wh.cfg.Logger.Warn("instagram webhook: invalid event dropped, the rest of the delivery is kept", "kind", events[i].Kind, "err", err)
	}
	return out
}

func readStatus(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (wh *webhook) reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	wh.cfg.Logger.Warn("instagram webhook: rejected", "status", status, "remote", r.RemoteAddr, "err", err)
	http.Error(w, http.StatusText(status), status)
}
