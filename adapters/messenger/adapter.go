package messenger

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/metahook"
)

// Adapter is the Messenger channel as a dmflow.Adapter.
type Adapter struct {
	// VerifyToken is the token typed in the App Dashboard for the
	// subscription handshake (empty never matches).
	VerifyToken string
	// AppSecrets are the candidate signing secrets (the Meta app secret);
	// any one may match. Empty strings are ignored.
	AppSecrets []string
	// AllowSHA1 accepts the legacy X-Hub-Signature (sha1) header when no
	// sha256 header is present.
	AllowSHA1 bool
}

var _ dmflow.Adapter = Adapter{}

// Channel returns Channel.
func (Adapter) Channel() string { return Channel }

// Handshake answers hub.mode=subscribe with a matching hub.verify_token.
func (a Adapter) Handshake(q url.Values) (string, error) {
	return metahook.Handshake("messenger", q, a.VerifyToken)
}

// Verify checks X-Hub-Signature-256 (HMAC-SHA256 of the raw body) against
// a.AppSecrets, in constant time.
func (a Adapter) Verify(body []byte, h http.Header) error {
	return metahook.Verify("messenger", body, h, a.AppSecrets, a.AllowSHA1)
}

// Parse is the package's Parse.
func (Adapter) Parse(body []byte) ([]dmflow.Event, error) { return Parse(body) }

// Capabilities returns the package's Capabilities.
func (Adapter) Capabilities() dmflow.Capabilities { return Capabilities }

// Capabilities of the Messenger Send API as this package encodes it.
// Instagram-only kinds (like_heart, media_share, react, comment replies
// and moderation) are not rendered.
var Capabilities = dmflow.Capabilities{
	Replies: []dmflow.ReplyKind{dmflow.ReplyText, dmflow.ReplyMedia, dmflow.ReplyGeneric,
		dmflow.ReplyButtons, dmflow.ReplyAction},
	MaxText: MaxTextChars, MaxTextUnit: "characters",
	MaxQuickReplies: MaxQuickReplies, MaxButtons: MaxButtons, MaxElements: MaxElements,
	Tags: []string{dmflow.TagHumanAgent},
}

// WebhookConfig configures NewWebhook.
type WebhookConfig struct {
	Adapter
	MaxBody   int64        // default 1 MiB
	Logger    *slog.Logger // default: discard
	OnInvalid func(ev dmflow.Event, err error)
}

// Sink receives the events of one verified delivery; it returns nil only
// once they are durable.
type Sink = metahook.Sink

// NewWebhook serves POST/GET /webhook/messenger with the shared Meta
// webhook handler (see metahook.NewWebhook for the status codes).
func NewWebhook(cfg WebhookConfig, sink Sink) http.Handler {
	return metahook.NewWebhook(cfg.Adapter, metahook.Config{MaxBody: cfg.MaxBody, Logger: cfg.Logger, OnInvalid: cfg.OnInvalid}, sink)
}
