package instagram

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/metahook"
)

// Signature headers Meta sets on every webhook POST.
const (
	HeaderSignature256 = "X-Hub-Signature-256"
	HeaderSignature1   = "X-Hub-Signature"
)

// DefaultMaxBody is the default webhook body limit (1 MiB). Meta batches at
// most 1000 updates per request, far below it.
const DefaultMaxBody = metahook.DefaultMaxBody

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
	a := Adapter{VerifyToken: cfg.VerifyToken, Verifier: Verifier{Secrets: cfg.AppSecrets, AllowSHA1: cfg.AllowSHA1}}
	// The handling every Meta channel shares (statuses, limits, logging).
	return metahook.NewWebhook(a, metahook.Config{MaxBody: cfg.MaxBody, Logger: cfg.Logger, OnInvalid: cfg.OnInvalid}, metahook.Sink(sink))
}
