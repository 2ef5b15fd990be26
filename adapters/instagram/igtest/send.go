package igtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"
)

// Platform limits the double enforces.
const (
	MaxTextBytes    = 1000
	MaxQuickReplies = 13
	MaxQuickTitle   = 20 // characters; longer titles are truncated, as Instagram does
	MaxElements     = 10
	MaxButtons      = 3
	MaxImages       = 10
	Window          = 24 * time.Hour
	HumanAgentLimit = 7 * 24 * time.Hour
	PrivateReplyAge = 7 * 24 * time.Hour
)

// Error codes the double returns, named after what they mean.
var (
	errOutsideWindow = apiErr{Code: 10, Subcode: 2534022, Message: "(#10) This message is sent outside of allowed window."}
	errCommentGone   = apiErr{Code: 100, Subcode: 2534025, Message: "The comment is invalid for private replies."}
	errReplied       = apiErr{Code: 10900, Message: "Activity already replied to"}
)

func invalidParam(format string, args ...any) *apiErr {
	return &apiErr{Code: 100, Message: "(#100) " + fmt.Sprintf(format, args...)}
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, id string) {
	acct, ok := s.node(w, r, id)
	if !ok {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, 400, *invalidParam("could not read body"))
		return
	}
	var req SendRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		writeError(w, 400, *invalidParam("Invalid JSON for postbody: %v", err))
		return
	}
	if e := validate(&req); e != nil {
		writeError(w, 400, *e)
		return
	}
	m, e := s.accept(acct, req, raw)
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	s.echo(m)
	if m.ID == "" {
		writeJSON(w, 200, map[string]string{"recipient_id": m.RecipientID})
		return
	}
	writeJSON(w, 200, map[string]string{"recipient_id": m.RecipientID, "message_id": m.ID})
}

// validate applies the Send API's request rules.
func validate(req *SendRequest) *apiErr {
	if req.Recipient.ID == "" && req.Recipient.CommentID == "" {
		return invalidParam("The parameter recipient is required")
	}
	if req.MessagingType == "MESSAGE_TAG" && req.Tag != "HUMAN_AGENT" {
		return invalidParam("Param tag must be one of {HUMAN_AGENT}")
	}
	if req.SenderAction != "" {
		return validateAction(req)
	}
	if req.Message == nil {
		return invalidParam("The parameter message is required")
	}
	return validateMessage(req.Message)
}

func validateAction(req *SendRequest) *apiErr {
	if req.Message != nil {
		return invalidParam("sender_action cannot be sent with message")
	}
	switch req.SenderAction {
	case "typing_on", "typing_off", "mark_seen":
		if req.Payload != nil {
			return invalidParam("sender_action %s takes no payload", req.SenderAction)
		}
	case "react", "unreact":
		if req.Payload == nil || req.Payload.MessageID == "" {
			return invalidParam("payload.message_id is required for %s", req.SenderAction)
		}
	default:
		return invalidParam("Invalid sender_action %q", req.SenderAction)
	}
	return nil
}

func validateMessage(m *MessageBody) *apiErr {
	n := 0
	for _, set := range []bool{m.Text != "", m.Attachment != nil, len(m.Attachments) > 0} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return invalidParam("message must contain exactly one of text, attachment, attachments")
	case !utf8.ValidString(m.Text):
		return invalidParam("message text must be UTF-8")
	case len(m.Text) > MaxTextBytes:
		return invalidParam("Length of param message[text] must be less than or equal to %d", MaxTextBytes)
	case len(m.QuickReplies) > MaxQuickReplies:
		return invalidParam("param message[quick_replies] must have at most %d elements", MaxQuickReplies)
	case len(m.Attachments) > MaxImages:
		return invalidParam("param message[attachments] must have at most %d elements", MaxImages)
	}
	for i := range m.QuickReplies {
		q := &m.QuickReplies[i]
		if q.ContentType == "text" && (q.Title == "" || q.Payload == "") {
			return invalidParam("quick reply %d needs a title and a payload", i)
		}
		q.Title = truncate(q.Title, MaxQuickTitle)
	}
	for _, a := range m.Attachments {
		if a.Type != "image" {
			return invalidParam("message[attachments] only supports images")
		}
	}
	if m.Attachment != nil {
		return validateAttachment(m.Attachment)
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func validateAttachment(a *Attachment) *apiErr {
	switch a.Type {
	case "like_heart":
		return nil
	case "image", "video", "audio", "file":
		if a.Payload == nil || (a.Payload.URL == "" && a.Payload.AttachmentID == "") {
			return invalidParam("attachment payload needs url or attachment_id")
		}
	case "MEDIA_SHARE":
		if a.Payload == nil || a.Payload.ID == "" {
			return invalidParam("MEDIA_SHARE needs payload.id")
		}
	case "template":
		if a.Payload == nil {
			return invalidParam("template needs a payload")
		}
		return validateTemplate(a.Payload)
	default:
		return invalidParam("Invalid attachment type %q", a.Type)
	}
	return nil
}

func validateTemplate(p *AttachmentPayload) *apiErr {
	switch p.TemplateType {
	case "generic":
		if len(p.Elements) == 0 || len(p.Elements) > MaxElements {
			return invalidParam("generic template needs 1 to %d elements", MaxElements)
		}
		for _, e := range p.Elements {
			if e.Title == "" {
				return invalidParam("element title is required")
			}
			if err := validateButtons(e.Buttons); err != nil {
				return err
			}
		}
	case "button":
		if p.Text == "" || len(p.Buttons) == 0 {
			return invalidParam("button template needs text and buttons")
		}
		return validateButtons(p.Buttons)
	default:
		return invalidParam("Invalid template_type %q", p.TemplateType)
	}
	return nil
}

func validateButtons(bs []Button) *apiErr {
	if len(bs) > MaxButtons {
		return invalidParam("at most %d buttons", MaxButtons)
	}
	for _, b := range bs {
		switch {
		case b.Type == "web_url" && b.URL != "" && b.Title != "":
		case b.Type == "postback" && b.Payload != "" && b.Title != "":
		default:
			return invalidParam("invalid button %+v", b)
		}
	}
	return nil
}

// accept checks the messaging window and private-reply rules, then records
// the message.
func (s *Server) accept(acct string, req SendRequest, raw []byte) (Message, *apiErr) {
	s.mu.Lock()
	now := s.now()
	m := Message{SendRequest: req, Account: acct, RecipientID: req.Recipient.ID, Time: now, Raw: raw}
	if e := s.checkRecipientLocked(&m, now); e != nil {
		s.mu.Unlock()
		return m, e
	}
	if e := s.threadOwnedLocked(acct, req.Recipient.ID); e != nil {
		s.mu.Unlock()
		return m, e
	}
	if req.SenderAction == "" {
		m.ID = s.newMIDLocked(acct)
	}
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	for _, ch := range s.subs {
		select {
		case ch <- m:
		default:
		}
	}
	s.mu.Unlock()
	if s.cfg.OnMessage != nil {
		s.cfg.OnMessage(m)
	}
	return m, nil
}

func (s *Server) checkRecipientLocked(m *Message, now time.Time) *apiErr {
	if id := m.Recipient.CommentID; id != "" {
		return s.checkCommentLocked(m, id, now)
	}
	last, known := s.windows[m.RecipientID]
	switch {
	case m.RecipientID == m.Account:
		return nil // self messaging has no window
	case !known && s.cfg.StrictWindow:
		return &errOutsideWindow
	case !known:
		return nil
	case now.Sub(last) <= Window:
		return nil
	case m.Tag == "HUMAN_AGENT" && now.Sub(last) <= HumanAgentLimit:
		return nil
	}
	return &errOutsideWindow
}

func (s *Server) checkCommentLocked(m *Message, id string, now time.Time) *apiErr {
	if s.revoked[m.Account][PermManageComments] {
		return &errNoCommentPerm
	}
	c, ok := s.comments[id]
	if !ok {
		if s.cfg.StrictWindow {
			return &errCommentGone
		}
		c = &comment{user: "igsid-" + id, at: now}
		s.comments[id] = c
	}
	switch {
	case c.replied:
		return &errReplied
	case now.Sub(c.at) > PrivateReplyAge:
		return &errCommentGone
	}
	c.replied = true
	m.RecipientID = c.user
	return nil
}

// echo delivers the signed echo webhook of an accepted message.
func (s *Server) echo(m Message) {
	if s.cfg.OnEcho == nil || m.ID == "" || m.Message == nil {
		return
	}
	wh := Webhook{Secret: s.cfg.WebhookSecret, Now: s.cfg.Now}
	msg := obj{"mid": m.ID, "is_echo": true, "app_id": s.cfg.AppID}
	if m.Message.Text != "" {
		msg["text"] = m.Message.Text
	}
	var atts []obj
	for _, a := range append(m.Message.Attachments, derefAttachment(m.Message.Attachment)...) {
		p := obj{}
		if a.Payload != nil && a.Payload.URL != "" {
			p["url"] = a.Payload.URL
		}
		atts = append(atts, obj{"type": a.Type, "payload": p})
	}
	if len(atts) > 0 {
		msg["attachments"] = atts
	}
	body := wh.item(m.Account, "messaging", obj{
		"sender": obj{"id": m.Account}, "recipient": obj{"id": m.RecipientID},
		"timestamp": wh.now(), "message": msg,
	})
	s.cfg.OnEcho(body, wh.Sign(body))
}

func derefAttachment(a *Attachment) []Attachment {
	if a == nil {
		return nil
	}
	return []Attachment{*a}
}
