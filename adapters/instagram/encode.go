package instagram

import (
	"fmt"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pace"
)

// sendBody is one Send API request body.
type sendBody struct {
	Recipient     dmflow.Recipient `json:"recipient"`
	MessagingType string           `json:"messaging_type,omitempty"`
	Tag           string           `json:"tag,omitempty"`
	SenderAction  string           `json:"sender_action,omitempty"`
	Payload       *reactPayload    `json:"payload,omitempty"`
	Message       *outMessage      `json:"message,omitempty"`
}

type reactPayload struct {
	MessageID string `json:"message_id"`
	Reaction  string `json:"reaction,omitempty"`
}

type outMessage struct {
	Text         string          `json:"text,omitempty"`
	QuickReplies []outQuickReply `json:"quick_replies,omitempty"`
	Attachment   *outAttachment  `json:"attachment,omitempty"`
	Attachments  []outAttachment `json:"attachments,omitempty"`
}

type outQuickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

type outAttachment struct {
	Type    string `json:"type"`
	Payload any    `json:"payload,omitempty"`
}

type mediaPayload struct {
	URL          string `json:"url,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
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
	DefaultAction *defaultAction  `json:"default_action,omitempty"`
	Buttons       []dmflow.Button `json:"buttons,omitempty"`
}

type defaultAction struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// limitKind selects the send budget a part counts against.
type limitKind = pace.Class

const (
	limitText    = pace.Text
	limitMedia   = pace.Media
	limitPrivate = pace.Private
)

// part is one request of an outgoing reply (long text and mixed media take
// several).
type part struct {
	body  sendBody
	limit limitKind
}

// encode turns a reply into Send API bodies; tag is "" or HUMAN_AGENT.
// Requests the platform would refuse fail here with ErrInvalid.
func encode(to dmflow.Recipient, r dmflow.Reply, tag string) ([]part, error) {
	msgs, kind, err := encodeReply(r)
	if err != nil {
		return nil, fmt.Errorf("instagram: encode %s reply: %w: %w", r.Kind, dmflow.ErrInvalid, err)
	}
	if to.CommentID != "" {
		kind = limitPrivate
	}
	parts := make([]part, len(msgs))
	for i, b := range msgs {
		b.Recipient = to
		if b.Message != nil {
			b.MessagingType = "RESPONSE"
			if tag != "" {
				b.MessagingType, b.Tag = "MESSAGE_TAG", tag
			}
		}
		parts[i] = part{body: b, limit: kind}
	}
	return parts, nil
}

func encodeReply(r dmflow.Reply) ([]sendBody, limitKind, error) {
	switch r.Kind {
	case dmflow.ReplyText, "":
		b, err := encodeText(r)
		return b, limitText, err
	case dmflow.ReplyMedia:
		return encodeMedia(r.Media)
	case dmflow.ReplyLikeHeart:
		return one(&outAttachment{Type: "like_heart"}), limitText, nil
	case dmflow.ReplyMediaShare:
		if r.PostID == "" {
			return nil, 0, fmt.Errorf("media_share needs a post id")
		}
		return one(&outAttachment{Type: "MEDIA_SHARE", Payload: map[string]string{"id": r.PostID}}), limitText, nil
	case dmflow.ReplyGeneric:
		a, err := encodeGeneric(r.Elements)
		return one(a), limitText, err
	case dmflow.ReplyButtons:
		a, err := encodeButtons(r)
		return one(a), limitText, err
	case dmflow.ReplyAction:
		return encodeAction(r.Action)
	case dmflow.ReplyReact:
		return encodeReact(r)
	}
	return nil, 0, fmt.Errorf("unknown reply kind %q", r.Kind)
}

func one(a *outAttachment) []sendBody {
	return []sendBody{{Message: &outMessage{Attachment: a}}}
}

// encodeText splits text above MaxTextBytes; quick replies go on the last part.
func encodeText(r dmflow.Reply) ([]sendBody, error) {
	if r.Text == "" {
		return nil, fmt.Errorf("empty text")
	}
	if !utf8.ValidString(r.Text) {
		return nil, fmt.Errorf("text is not UTF-8")
	}
	qrs, err := encodeQuickReplies(r.QuickReplies)
	if err != nil {
		return nil, err
	}
	chunks := SplitText(r.Text, dmflow.MaxTextBytes)
	out := make([]sendBody, len(chunks))
	for i, c := range chunks {
		out[i].Message = &outMessage{Text: c}
	}
	out[len(out)-1].Message.QuickReplies = qrs
	return out, nil
}

func encodeQuickReplies(in []dmflow.QuickReply) ([]outQuickReply, error) {
	if len(in) > dmflow.MaxQuickReplies {
		return nil, fmt.Errorf("%d quick replies, at most %d", len(in), dmflow.MaxQuickReplies)
	}
	out := make([]outQuickReply, 0, len(in))
	for _, q := range in {
		typ := q.Type
		if typ == "" {
			typ = "text"
		}
		oq := outQuickReply{ContentType: typ}
		if typ == "text" {
			if q.Title == "" || q.Payload == "" {
				return nil, fmt.Errorf("quick reply needs a title and a payload")
			}
			oq.Title, oq.Payload = truncateRunes(q.Title, dmflow.MaxQuickReplyLen), q.Payload
		}
		out = append(out, oq)
	}
	return out, nil
}

func encodeMedia(media []dmflow.Media) ([]sendBody, limitKind, error) {
	if len(media) == 0 {
		return nil, 0, fmt.Errorf("media reply without media")
	}
	kind, images := limitText, 0
	atts := make([]outAttachment, len(media))
	for i, m := range media {
		a, err := encodeMediaItem(m)
		if err != nil {
			return nil, 0, err
		}
		atts[i] = *a
		switch m.Type {
		case "audio", "video":
			kind = limitMedia
		case "image":
			images++
		}
	}
	if len(atts) == 1 {
		return one(&atts[0]), kind, nil
	}
	if images == len(atts) {
		if images > dmflow.MaxImages {
			return nil, 0, fmt.Errorf("%d images, at most %d", images, dmflow.MaxImages)
		}
		return []sendBody{{Message: &outMessage{Attachments: atts}}}, kind, nil
	}
	out := make([]sendBody, len(atts)) // mixed media: one message each
	for i := range atts {
		out[i] = one(&atts[i])[0]
	}
	return out, kind, nil
}

func encodeMediaItem(m dmflow.Media) (*outAttachment, error) {
	switch m.Type {
	case "image", "video", "audio", "file":
	default:
		return nil, fmt.Errorf("media type %q (want image, video, audio or file)", m.Type)
	}
	if (m.URL == "") == (m.AttachmentID == "") {
		return nil, fmt.Errorf("%s media needs exactly one of url and attachment_id", m.Type)
	}
	return &outAttachment{Type: m.Type, Payload: mediaPayload{URL: m.URL, AttachmentID: m.AttachmentID}}, nil
}

func encodeGeneric(elems []dmflow.Element) (*outAttachment, error) {
	if len(elems) == 0 || len(elems) > dmflow.MaxElements {
		return nil, fmt.Errorf("%d elements, want 1 to %d", len(elems), dmflow.MaxElements)
	}
	out := make([]outElement, len(elems))
	for i, e := range elems {
		if e.Title == "" {
			return nil, fmt.Errorf("element %d has no title", i)
		}
		if err := checkButtons(e.Buttons); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = outElement{
			Title:    truncateRunes(e.Title, dmflow.MaxElementTextLen),
			Subtitle: truncateRunes(e.Subtitle, dmflow.MaxElementTextLen),
			ImageURL: e.ImageURL, Buttons: e.Buttons,
		}
		if e.DefaultURL != "" {
			out[i].DefaultAction = &defaultAction{Type: "web_url", URL: e.DefaultURL}
		}
	}
	return &outAttachment{Type: "template", Payload: templatePayload{TemplateType: "generic", Elements: out}}, nil
}

func encodeButtons(r dmflow.Reply) (*outAttachment, error) {
	if r.Text == "" || len(r.Buttons) == 0 {
		return nil, fmt.Errorf("button template needs text and buttons")
	}
	if err := checkButtons(r.Buttons); err != nil {
		return nil, err
	}
	return &outAttachment{Type: "template", Payload: templatePayload{
		TemplateType: "button", Text: truncateRunes(r.Text, dmflow.MaxButtonTextLen), Buttons: r.Buttons,
	}}, nil
}

func checkButtons(bs []dmflow.Button) error {
	if len(bs) > dmflow.MaxButtons {
		return fmt.Errorf("%d buttons, at most %d", len(bs), dmflow.MaxButtons)
	}
	for _, b := range bs {
		switch {
		case b.Title == "":
			return fmt.Errorf("button without title")
		case b.Type == "postback" && b.Payload != "", b.Type == "web_url" && b.URL != "":
		default:
			return fmt.Errorf("button %q: want postback with payload or web_url with url", b.Title)
		}
	}
	return nil
}

func encodeAction(action string) ([]sendBody, limitKind, error) {
	switch action {
	case dmflow.ActionTypingOn, dmflow.ActionTypingOff, dmflow.ActionMarkSeen:
		return []sendBody{{SenderAction: action}}, limitText, nil
	}
	return nil, 0, fmt.Errorf("sender action %q", action)
}

func encodeReact(r dmflow.Reply) ([]sendBody, limitKind, error) {
	if r.MID == "" {
		return nil, 0, fmt.Errorf("react needs the message id")
	}
	action := "react"
	if r.Reaction == "" {
		action = "unreact"
	}
	return []sendBody{{SenderAction: action, Payload: &reactPayload{MessageID: r.MID, Reaction: r.Reaction}}}, limitText, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// SplitText splits s into parts of at most max bytes: dmflow.SplitText,
// the rule the engine also uses to cap a reply's parts (dmflow.TruncateText).
func SplitText(s string, max int) []string { return dmflow.SplitText(s, max) }
