package sandbox

import (
	"cmp"
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
	InputText         = "text"          // Text
	InputQuickReply   = "quick_reply"   // a chip tap: Text is its title, Payload its payload
	InputPostback     = "postback"      // a template button tap: Text is its title, Payload its payload
	InputImage        = "image"         // an image attachment at URL
	InputAgent        = "agent"         // Text typed by a human agent in the Instagram inbox (an echo)
	InputReaction     = "reaction"      // a reaction (Reaction, "" to unreact) to the message MID
	InputStoryMention = "story_mention" // the user mentioned the account in a story (image at URL)
	InputComment      = "comment"       // a comment with Text on one of the account's posts
	InputIceBreaker   = "ice_breaker"   // an ice-breaker question tapped: Text its title, Payload its payload
	InputAdReferral   = "ad_referral"   // the first message (Text) after a click-to-DM ad (Ref, AdID)
	// InputReferral is an ig.me link with Ref opened in an existing thread
	// (a referral webhook, no message): flows route it with `entry:`.
	InputReferral = "referral"
	// InputInboxTake is an agent taking the thread in the Instagram inbox
	// (take_thread_control webhook): the bot goes silent.
	InputInboxTake = "inbox_take"
	// InputInboxPass is the inbox passing the thread back to the bot
	// (pass_thread_control webhook): a handoff ends.
	InputInboxPass = "inbox_pass"
)

// inboxApp is the app id the sandbox's inbox simulation speaks for (Meta's
// Instagram inbox app).
const inboxApp = "1217981644879628"

// threadOwners is implemented by a Graph double that keeps thread
// ownership (igtest.Server): the sandbox's inbox simulation moves it too.
type threadOwners interface {
	ThreadOwner(account, user string) string
	SetThreadOwner(account, user, app string)
}

// ErrNotThreadOwner refuses a simulated inbox pass while the inbox does not
// own the thread (the bot has not passed it yet): Meta sends a pass from
// the app that owns the thread only.
var ErrNotThreadOwner = errors.New("sandbox: the Instagram inbox does not own this thread (yet), so it cannot pass it back")

// Input is one thing typed, tapped or simulated on the chat page.
type Input struct {
	User    string `json:"user"`
	Kind    string `json:"kind"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
	URL     string `json:"url,omitempty"`
	// account is the account played when the input was said.
	account  string
	MID      string `json:"mid,omitempty"`      // reaction: the message reacted to
	Reaction string `json:"reaction,omitempty"` // reaction: "love" (or another reaction); "" unreacts
	Ref      string `json:"ref,omitempty"`      // ad_referral, referral
	AdID     string `json:"ad_id,omitempty"`    // ad_referral
	// Media is the post or reel an InputComment is made on (its
	// event.media_id; default a sample post's id): digits only.
	Media string `json:"media,omitempty"`
	// Comment is the id of the comment an InputComment created (set by Say).
	Comment string `json:"comment,omitempty"`
}

// maxUserLen bounds sandbox user ids (they become IGSIDs in the store).
const maxUserLen = 64

// maxIDLen bounds the media and ad ids of simulated events (Meta's ids are
// numeric, up to about 20 digits).
const maxIDLen = 32

func checkUser(user string) error {
	if user == "" || len(user) > maxUserLen || strings.ContainsAny(user, "/ \t\r\n") {
		return fmt.Errorf("user %q: want 1-%d characters without '/' or spaces", user, maxUserLen)
	}
	return nil
}

// required lists, per kind, the fields it needs.
var required = map[string][]string{
	InputText: {"text"}, InputQuickReply: {"payload"}, InputPostback: {"payload"}, InputImage: {"url"},
	InputAgent: {"text"}, InputReaction: {"mid"}, InputStoryMention: {"url"}, InputComment: {"text"},
	InputIceBreaker: {"text", "payload"}, InputAdReferral: {"text"}, InputReferral: {"ref"}, InputInboxTake: nil, InputInboxPass: nil,
}

func (in *Input) check() error {
	if err := checkUser(in.User); err != nil {
		return err
	}
	fields, ok := required[in.Kind]
	if !ok {
		return fmt.Errorf("kind %q: want text, quick_reply, postback, image, agent, reaction, story_mention, comment, ice_breaker, ad_referral, referral, inbox_take or inbox_pass", in.Kind)
	}
	values := map[string]string{"text": in.Text, "payload": in.Payload, "url": in.URL, "mid": in.MID, "ref": in.Ref}
	for _, f := range fields {
		if strings.TrimSpace(values[f]) == "" {
			return fmt.Errorf("%s: %s is required", in.Kind, f)
		}
	}
	for name, id := range map[string]string{"media": in.Media, "ad_id": in.AdID} {
		if id != "" && (len(id) > maxIDLen || strings.Trim(id, "0123456789") != "") {
			return fmt.Errorf("%s: %s %q: want an id of 1-%d digits", in.Kind, name, id, maxIDLen)
		}
	}
	return nil
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
	if in.Kind == InputComment {
		in.Comment = "c_" + mid
		s.comments.put(in.Comment, in.User)
	}
	in.account = s.account()
	if s.Channel() == ChannelMessenger {
		s.order.Lock()
		defer s.order.Unlock()
		code, err := s.sayMessenger(ctx, in, mid)
		return s.said(in, mid, code, err)
	}
	body := s.body(in, mid)
	if o, ok := s.cfg.Graph.(threadOwners); ok && (in.Kind == InputInboxTake || in.Kind == InputInboxPass) {
		owner := inboxApp
		if in.Kind == InputInboxPass {
			if o.ThreadOwner(in.account, in.User) != inboxApp {
				return 0, Message{}, ErrNotThreadOwner
			}
			owner = ""
		}
		o.SetThreadOwner(in.account, in.User, owner)
	}
	// Hold the engine's step of this input back until the input is in the
	// feed, so the page sees the input first (see observe).
	s.order.Lock()
	defer s.order.Unlock()
	rec := httptest.NewRecorder()
	wh := igtest.Webhook{Secret: s.cfg.Secret, Now: s.cfg.Now}
	s.cfg.Webhook.ServeHTTP(rec, wh.Request(ctx, "http://sandbox.local/webhook/instagram", body))
	return s.said(in, mid, rec.Code, nil)
}

// said records in in the feed when the webhook handler accepted it (HTTP
// 200); the caller holds s.order.
func (s *Sandbox) said(in Input, mid string, code int, err error) (int, Message, error) {
	if err != nil {
		return 0, Message{}, err
	}
	if code != http.StatusOK {
		s.cfg.Logger.Warn("sandbox: webhook refused the input", "status", code, "user", in.User)
		return code, Message{}, nil
	}
	from := FromUser
	if in.Kind == InputAgent {
		from = FromAgent
	}
	m := s.feed.add(Message{User: in.User, Account: in.account, From: from, Time: s.cfg.Now().UTC(), MID: mid, Input: &in})
	return code, m, nil
}

func (s *Sandbox) nextMID() string {
	return "m_sbx_" + s.run + "_" + strconv.FormatUint(s.mids.Add(1), 10)
}

// sampleMedia is the media id the sandbox's comments are made on.
const sampleMedia = "17900000000000042"

func (s *Sandbox) body(in Input, mid string) []byte {
	wh := igtest.Webhook{Secret: s.cfg.Secret, Now: s.cfg.Now}
	acct := in.account
	switch in.Kind {
	case InputQuickReply:
		return wh.QuickReply(acct, in.User, mid, in.Text, in.Payload)
	case InputPostback, InputIceBreaker:
		return wh.Postback(acct, in.User, mid, in.Text, in.Payload)
	case InputImage, InputStoryMention:
		return wh.Attachment(acct, in.User, mid, in.Kind, in.URL)
	case InputAgent:
		return wh.Echo(acct, in.User, mid, in.Text, "")
	case InputReaction:
		return wh.Reaction(acct, in.User, in.MID, in.Reaction)
	case InputComment:
		return wh.Comment(acct, in.User, in.User, in.Comment, cmp.Or(in.Media, sampleMedia), in.Text)
	case InputAdReferral:
		return wh.AdReferral(acct, in.User, mid, in.Text, cmp.Or(in.AdID, "120200000000000001"), in.Ref)
	case InputReferral:
		return wh.Referral(acct, in.User, in.Ref)
	case InputInboxTake:
		return wh.Handover(acct, in.User, "take", "", inboxApp)
	case InputInboxPass:
		return wh.Handover(acct, in.User, "pass", inboxApp, "")
	default:
		return wh.Text(acct, in.User, mid, in.Text)
	}
}
