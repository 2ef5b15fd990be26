package sandbox

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

// Channels the studio simulates.
const (
	ChannelInstagram = "instagram"
	ChannelMessenger = "messenger"
)

// MessengerConfig lets the studio play a Facebook Page on Messenger beside
// the Instagram account (Config.Messenger). The Page is an account of its
// own, so a user who writes on both channels has two conversations, as in
// production.
type MessengerConfig struct {
	// Page is the Page id the studio's Messenger users write to (entry.id
	// of the webhooks it builds). Required.
	Page string
	// Secret is the app secret the Messenger webhook handler verifies.
	// Required.
	Secret string
	// Webhook is the real Messenger webhook handler (messenger.NewWebhook).
	// Required.
	Webhook http.Handler
	// Graph is the Messenger Send API double (messengertest.Server) the
	// bot's Messenger client talks to; MessengerGraphHandler wraps it.
	// Required.
	Graph http.Handler
}

func (c *MessengerConfig) check() error {
	if c.Page == "" || c.Secret == "" || c.Webhook == nil || c.Graph == nil {
		return fmt.Errorf("sandbox: config: Messenger needs Page, Secret, Webhook and Graph")
	}
	return nil
}

// Channels lists the channels the studio can simulate: instagram, and
// messenger when Config.Messenger is set.
func (s *Sandbox) Channels() []string {
	if s.cfg.Messenger == nil {
		return []string{ChannelInstagram}
	}
	return []string{ChannelInstagram, ChannelMessenger}
}

// Channel is the channel the studio simulates now.
func (s *Sandbox) Channel() string {
	if c := s.channel.Load(); c != nil {
		return *c
	}
	return ChannelInstagram
}

// SetChannel switches the channel the studio simulates: new input goes
// through that channel's webhook as that channel's events (event.channel),
// from the Instagram account played or the Messenger Page, and the page
// shows that channel's conversations. channel must be one of Channels
// (dmflow.ErrInvalid otherwise).
func (s *Sandbox) SetChannel(channel string) error {
	if !slices.Contains(s.Channels(), channel) {
		return fmt.Errorf("sandbox: channel %q is not one the studio simulates (%s): %w", channel, strings.Join(s.Channels(), ", "), dmflow.ErrInvalid)
	}
	s.channel.Store(&channel)
	return nil
}

// messengerKinds are the inputs a Messenger user can make in the studio.
var messengerKinds = []string{InputText, InputQuickReply, InputPostback, InputImage, InputAgent, InputReaction,
	InputIceBreaker, InputAdReferral, InputReferral}

// sayMessenger delivers in to the Messenger webhook handler as a signed
// delivery; the caller holds s.order.
func (s *Sandbox) sayMessenger(ctx context.Context, in Input, mid string) (int, error) {
	if !slices.Contains(messengerKinds, in.Kind) {
		return 0, fmt.Errorf("%w: %s is not something a person does on Messenger (%s)", ErrInput, in.Kind, strings.Join(messengerKinds, ", "))
	}
	m := s.cfg.Messenger
	wh := messengertest.Webhook{Secret: m.Secret, Now: s.cfg.Now}
	var body []byte
	switch in.Kind {
	case InputQuickReply:
		body = wh.QuickReply(m.Page, in.User, mid, in.Text, in.Payload)
	case InputPostback, InputIceBreaker:
		body = wh.Postback(m.Page, in.User, mid, in.Text, in.Payload, "")
	case InputImage:
		body = wh.Attachment(m.Page, in.User, mid, "image", in.URL)
	case InputAgent:
		body = wh.Echo(m.Page, in.User, mid, in.Text, "")
	case InputReaction:
		body = wh.Reaction(m.Page, in.User, in.MID, cmp.Or(in.Reaction, "love"), "")
	case InputAdReferral:
		body = messengertest.Merge(wh.Referral(m.Page, in.User, cmp.Or(in.Ref, "ad")), wh.Text(m.Page, in.User, mid, in.Text))
	case InputReferral: // an m.me link opened in an existing thread
		body = wh.Referral(m.Page, in.User, in.Ref)
	default:
		body = wh.Text(m.Page, in.User, mid, in.Text)
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://sandbox.local/webhook/messenger", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", wh.Sign(body))
	rec := httptest.NewRecorder()
	m.Webhook.ServeHTTP(rec, req)
	return rec.Code, nil
}

// MessengerGraphHandler returns the Messenger Send API double wrapped so
// that every send it accepts (POST …/messages answered 2xx) is recorded in
// the feed as a FromBot message of the Page's conversation with its
// recipient. Point the bot's Messenger client at it. Valid only with
// Config.Messenger.
func (s *Sandbox) MessengerGraphHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.cfg.Messenger
		if m == nil {
			http.Error(w, "sandbox: no Messenger channel", http.StatusNotFound)
			return
		}
		s.recorded(w, r, m.Graph, func() string { return m.Page })
	})
}
