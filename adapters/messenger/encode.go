package messenger

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pace"
)

// Send API limits (sources in the package doc).
const (
	MaxTextChars      = 2000 // characters of a text message ("less than 2000")
	MaxQuickReplies   = 13
	MaxQuickReplyLen  = 20 // characters of a quick-reply title
	MaxPayloadLen     = 1000
	MaxButtons        = 3
	MaxElements       = 10
	MaxElementTextLen = 80  // title and subtitle of a generic element
	MaxButtonTextLen  = 640 // text of a button template
)

// Messaging types.
const (
	TypeResponse   = "RESPONSE"
	TypeUpdate     = "UPDATE"
	TypeMessageTag = "MESSAGE_TAG"
)

type sendBody struct {
	Recipient     dmflow.Recipient `json:"recipient"`
	MessagingType string           `json:"messaging_type,omitempty"`
	Tag           string           `json:"tag,omitempty"`
	Message       *outMessage      `json:"message,omitempty"`
	SenderAction  string           `json:"sender_action,omitempty"`
}

type outMessage struct {
	Text         string          `json:"text,omitempty"`
	Attachment   *outAttachment  `json:"attachment,omitempty"`
	QuickReplies []outQuickReply `json:"quick_replies,omitempty"`
}

type outQuickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

type outAttachment struct {
	Type    string `json:"type"`
	Payload any    `json:"payload"`
}

type mediaPayload struct {
	URL          string `json:"url,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
	IsReusable   bool   `json:"is_reusable,omitempty"`
}

type templatePayload struct {
	TemplateType string          `json:"template_type"`
	Text         string          `json:"text,omitempty"`
	Elements     []outElement    `json:"elements,omitempty"`
	Buttons      []dmflow.Button `json:"buttons,omitempty"`
}

type outElement struct {
	Title         string          `json:"title"`
	Subtitle      string          `json:"subtitle,omitempty"`
	ImageURL      string          `json:"image_url,omitempty"`
	DefaultAction *dmflow.Button  `json:"default_action,omitempty"`
	Buttons       []dmflow.Button `json:"buttons,omitempty"`
}

// class is the send budget of b (Send API rate limits [RL]): audio and
// video have their own, smaller one.
func (b sendBody) class() pace.Class {
	if m := b.Message; m != nil && m.Attachment != nil && (m.Attachment.Type == "audio" || m.Attachment.Type == "video") {
		return pace.Media
	}
	return pace.Text
}

// encode turns a reply into the Send API requests that deliver it, in
// order. Errors wrap dmflow.ErrPermanent: the reply cannot be sent as it is.
func encode(to dmflow.Recipient, r dmflow.Reply, tag string) ([]sendBody, error) {
	if to.ID == "" {
		return nil, fmt.Errorf("messenger: no recipient PSID: %w", dmflow.ErrPermanent)
	}
	msgs, action, err := encodeReply(r)
	if err != nil {
		return nil, fmt.Errorf("messenger: %s reply: %w: %w", r.Kind, dmflow.ErrPermanent, err)
	}
	if action != "" {
		return []sendBody{{Recipient: dmflow.Recipient{ID: to.ID}, SenderAction: action}}, nil
	}
	mt := TypeResponse
	if tag != "" {
		mt = TypeMessageTag
	}
	out := make([]sendBody, len(msgs))
	for i := range msgs {
		out[i] = sendBody{Recipient: dmflow.Recipient{ID: to.ID}, MessagingType: mt, Tag: tag, Message: msgs[i]}
	}
	return out, nil
}

func encodeReply(r dmflow.Reply) ([]*outMessage, string, error) {
	switch r.Kind {
	case dmflow.ReplyText, "":
		return encodeText(r)
	case dmflow.ReplyMedia:
		return encodeMedia(r.Media)
	case dmflow.ReplyGeneric:
		m, err := encodeGeneric(r.Elements)
		return []*outMessage{m}, "", err
	case dmflow.ReplyButtons:
		m, err := encodeButtons(r)
		return []*outMessage{m}, "", err
	case dmflow.ReplyAction:
		switch r.Action {
		case dmflow.ActionTypingOn, dmflow.ActionTypingOff, dmflow.ActionMarkSeen:
			return nil, r.Action, nil
		}
		return nil, "", fmt.Errorf("unknown sender action %q", r.Action)
	}
	return nil, "", fmt.Errorf("Messenger cannot render %q replies", r.Kind)
}

func encodeText(r dmflow.Reply) ([]*outMessage, string, error) {
	if strings.TrimSpace(r.Text) == "" {
		return nil, "", fmt.Errorf("empty text")
	}
	qrs, err := encodeQuickReplies(r.QuickReplies)
	if err != nil {
		return nil, "", err
	}
	parts := splitChars(r.Text, MaxTextChars)
	out := make([]*outMessage, len(parts))
	for i, p := range parts {
		out[i] = &outMessage{Text: p}
	}
	out[len(out)-1].QuickReplies = qrs // chips go under the last part
	return out, "", nil
}

// splitChars splits s into parts of at most max characters, preferring
// to cut after a newline or a space in the second half of a part.
func splitChars(s string, max int) []string {
	var parts []string
	for utf8.RuneCountInString(s) > max {
		cut, n := 0, 0
		for i := range s {
			if n == max {
				cut = i
				break
			}
			n++
		}
		if sp := strings.LastIndexAny(s[:cut], "\n "); sp > cut/2 {
			cut = sp + 1
		}
		parts = append(parts, strings.TrimRight(s[:cut], " "))
		s = s[cut:]
	}
	return append(parts, s)
}

func encodeQuickReplies(in []dmflow.QuickReply) ([]outQuickReply, error) {
	if len(in) > MaxQuickReplies {
		return nil, fmt.Errorf("%d quick replies, at most %d", len(in), MaxQuickReplies)
	}
	var out []outQuickReply
	for _, q := range in {
		t := q.Type
		if t == "" {
			t = "text"
		}
		if t == "text" && (q.Title == "" || utf8.RuneCountInString(q.Title) > MaxQuickReplyLen) {
			return nil, fmt.Errorf("quick reply title %q: 1 to %d characters", q.Title, MaxQuickReplyLen)
		}
		if len(q.Payload) > MaxPayloadLen {
			return nil, fmt.Errorf("quick reply payload over %d characters", MaxPayloadLen)
		}
		out = append(out, outQuickReply{ContentType: t, Title: q.Title, Payload: q.Payload})
	}
	return out, nil
}

func encodeMedia(media []dmflow.Media) ([]*outMessage, string, error) {
	if len(media) == 0 {
		return nil, "", fmt.Errorf("no media")
	}
	var out []*outMessage
	for _, m := range media {
		switch m.Type {
		case "image", "video", "audio", "file":
		default:
			return nil, "", fmt.Errorf("media type %q: image, video, audio or file", m.Type)
		}
		if m.URL == "" && m.AttachmentID == "" {
			return nil, "", fmt.Errorf("media without url or attachment_id")
		}
		out = append(out, &outMessage{Attachment: &outAttachment{Type: m.Type,
			Payload: mediaPayload{URL: m.URL, AttachmentID: m.AttachmentID}}})
	}
	return out, "", nil
}

func encodeGeneric(elems []dmflow.Element) (*outMessage, error) {
	if len(elems) == 0 || len(elems) > MaxElements {
		return nil, fmt.Errorf("%d elements, 1 to %d", len(elems), MaxElements)
	}
	out := make([]outElement, 0, len(elems))
	for _, e := range elems {
		if e.Title == "" || utf8.RuneCountInString(e.Title) > MaxElementTextLen || utf8.RuneCountInString(e.Subtitle) > MaxElementTextLen {
			return nil, fmt.Errorf("element %q: title 1 to %d characters, subtitle at most %d", e.Title, MaxElementTextLen, MaxElementTextLen)
		}
		if err := checkButtons(e.Buttons); err != nil {
			return nil, err
		}
		oe := outElement{Title: e.Title, Subtitle: e.Subtitle, ImageURL: e.ImageURL, Buttons: e.Buttons}
		if e.DefaultURL != "" {
			oe.DefaultAction = &dmflow.Button{Type: "web_url", URL: e.DefaultURL}
		}
		out = append(out, oe)
	}
	return &outMessage{Attachment: &outAttachment{Type: "template",
		Payload: templatePayload{TemplateType: "generic", Elements: out}}}, nil
}

func encodeButtons(r dmflow.Reply) (*outMessage, error) {
	if r.Text == "" || utf8.RuneCountInString(r.Text) > MaxButtonTextLen {
		return nil, fmt.Errorf("button template text: 1 to %d characters", MaxButtonTextLen)
	}
	if len(r.Buttons) == 0 {
		return nil, fmt.Errorf("button template without buttons")
	}
	if err := checkButtons(r.Buttons); err != nil {
		return nil, err
	}
	return &outMessage{Attachment: &outAttachment{Type: "template",
		Payload: templatePayload{TemplateType: "button", Text: r.Text, Buttons: r.Buttons}}}, nil
}

func checkButtons(bs []dmflow.Button) error {
	if len(bs) > MaxButtons {
		return fmt.Errorf("%d buttons, at most %d", len(bs), MaxButtons)
	}
	for _, b := range bs {
		switch {
		case b.Type == "postback" && b.Payload != "" && len(b.Payload) <= MaxPayloadLen:
		case b.Type == "web_url" && b.URL != "":
		default:
			return fmt.Errorf("button %q: postback with a payload or web_url with a url", b.Title)
		}
		if b.Title == "" || utf8.RuneCountInString(b.Title) > MaxQuickReplyLen {
			return fmt.Errorf("button title %q: 1 to %d characters", b.Title, MaxQuickReplyLen)
		}
	}
	return nil
}
