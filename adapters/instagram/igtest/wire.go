package igtest

import (
	"encoding/json"
	"time"
)

// SendRequest is the body of POST /{ig_id|me}/messages as the Send API
// documents it.
type SendRequest struct {
	Recipient     Recipient      `json:"recipient"`
	MessagingType string         `json:"messaging_type,omitempty"`
	Tag           string         `json:"tag,omitempty"`
	SenderAction  string         `json:"sender_action,omitempty"`
	Payload       *ActionPayload `json:"payload,omitempty"`
	Message       *MessageBody   `json:"message,omitempty"`
}

// Recipient is a user (IGSID) or, for a private reply, a comment.
type Recipient struct {
	ID        string `json:"id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
}

// ActionPayload is the payload of a react/unreact sender action.
type ActionPayload struct {
	MessageID string `json:"message_id"`
	Reaction  string `json:"reaction,omitempty"`
}

// MessageBody is the message object: text (with quick replies), one
// attachment, or several image attachments.
type MessageBody struct {
	Text         string       `json:"text,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Attachment   *Attachment  `json:"attachment,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
}

// QuickReply is one quick-reply chip.
type QuickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title,omitempty"`
	Payload     string `json:"payload,omitempty"`
}

// Attachment is media, a sticker, a post share or a template.
type Attachment struct {
	Type    string             `json:"type"`
	Payload *AttachmentPayload `json:"payload,omitempty"`
}

// AttachmentPayload holds the fields of every attachment type.
type AttachmentPayload struct {
	URL          string    `json:"url,omitempty"`
	AttachmentID string    `json:"attachment_id,omitempty"`
	ID           string    `json:"id,omitempty"` // MEDIA_SHARE post id
	TemplateType string    `json:"template_type,omitempty"`
	Text         string    `json:"text,omitempty"` // button template
	Elements     []Element `json:"elements,omitempty"`
	Buttons      []Button  `json:"buttons,omitempty"`
}

// Element is a generic-template card.
type Element struct {
	Title         string   `json:"title"`
	Subtitle      string   `json:"subtitle,omitempty"`
	ImageURL      string   `json:"image_url,omitempty"`
	DefaultAction *Button  `json:"default_action,omitempty"`
	Buttons       []Button `json:"buttons,omitempty"`
}

// Button is a web_url or postback button.
type Button struct {
	Type    string `json:"type"`
	Title   string `json:"title,omitempty"`
	URL     string `json:"url,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// Message is a send the double accepted.
type Message struct {
	SendRequest
	// ID is the message_id returned ("" for sender actions).
	ID string `json:"id,omitempty"`
	// Account is the IG_ID the message was sent from (the path id, with "me"
	// resolved through the token).
	Account string `json:"account"`
	// RecipientID is the IGSID it went to (resolved for private replies).
	RecipientID string    `json:"recipient_id"`
	Time        time.Time `json:"time"`
	// Raw is the request body as received.
	Raw json.RawMessage `json:"raw"`
}

// Text returns the message text, or "" for non-text messages.
func (m Message) Text() string {
	if m.Message == nil {
		return ""
	}
	return m.Message.Text
}
