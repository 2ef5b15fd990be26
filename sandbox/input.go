package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// Input kinds a person can send from the chat page.
const (
	InputText       = "text"        // Text
	InputQuickReply = "quick_reply" // a chip tap: Text is its title, Payload its payload
	InputPostback   = "postback"    // a template button tap: Text is its title, Payload its payload
	InputImage      = "image"       // an image attachment at URL
	InputAgent      = "agent"       // Text typed by a human agent in the Instagram inbox (an echo)
)

// Input is one thing typed or tapped on the chat page.
type Input struct {
	User    string `json:"user"`
	Kind    string `json:"kind"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
	URL     string `json:"url,omitempty"`
}

// maxUserLen bounds sandbox user ids (they become IGSIDs in the store).
const maxUserLen = 64

func (in *Input) check() error {
	switch {
	case in.User == "" || len(in.User) > maxUserLen || strings.ContainsAny(in.User, "/ \t\r\n"):
		return fmt.Errorf("user %q: want 1-%d characters without '/' or spaces", in.User, maxUserLen)
	case in.Kind == InputImage && in.URL == "":
		return errors.New("image: url is required")
	case (in.Kind == InputQuickReply || in.Kind == InputPostback) && in.Payload == "":
		return fmt.Errorf("%s: payload is required", in.Kind)
	case (in.Kind == InputText || in.Kind == InputAgent) && strings.TrimSpace(in.Text) == "":
		return fmt.Errorf("%s: text is required", in.Kind)
	}
	switch in.Kind {
	case InputText, InputQuickReply, InputPostback, InputImage, InputAgent:
		return nil
	}
	return fmt.Errorf("kind %q: want text, quick_reply, postback, image or agent", in.Kind)
}

// ErrInput reports input that cannot be turned into a webhook.
var ErrInput = errors.New("sandbox: invalid input")

// Say delivers in to the bot as a signed Instagram webhook through the real
// webhook handler, records it in the feed when the handler accepted it
// (HTTP 200), and returns the handler's status with the recorded message.
// Bad input fails with an error wrapping ErrInput.
func (s *Sandbox) Say(ctx context.Context, in Input) (int, Message, error) {
	if err := in.check(); err != nil {
		return 0, Message{}, fmt.Errorf("%w: %v", ErrInput, err)
	}
	mid := s.nextMID()
	body := s.body(in, mid)
	rec := httptest.NewRecorder()
	wh := igtest.Webhook{Secret: s.cfg.Secret, Now: s.cfg.Now}
	s.cfg.Webhook.ServeHTTP(rec, wh.Request(ctx, "http://sandbox.local/webhook/instagram", body))
	if rec.Code != http.StatusOK {
		s.cfg.Logger.Warn("sandbox: webhook refused the input", "status", rec.Code, "user", in.User)
		return rec.Code, Message{}, nil
	}
	from := FromUser
	if in.Kind == InputAgent {
		from = FromAgent
	}
	m := s.feed.add(Message{User: in.User, From: from, Time: s.cfg.Now().UTC(), MID: mid, Input: &in})
	return rec.Code, m, nil
}

func (s *Sandbox) nextMID() string {
	return "m_sbx_" + s.run + "_" + strconv.FormatUint(s.mids.Add(1), 10)
}

func (s *Sandbox) body(in Input, mid string) []byte {
	wh := igtest.Webhook{Secret: s.cfg.Secret, Now: s.cfg.Now}
	acct := s.cfg.Account
	switch in.Kind {
	case InputQuickReply:
		return wh.QuickReply(acct, in.User, mid, in.Text, in.Payload)
	case InputPostback:
		return wh.Postback(acct, in.User, mid, in.Text, in.Payload)
	case InputImage:
		return wh.Attachment(acct, in.User, mid, "image", in.URL)
	case InputAgent:
		return wh.Echo(acct, in.User, mid, in.Text, "")
	default:
		return wh.Text(acct, in.User, mid, in.Text)
	}
}
