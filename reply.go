package dmflow

import "time"

// ReplyKind names the kind of an outgoing message.
type ReplyKind string

// Reply kinds: every message kind the Instagram Send API offers.
const (
	ReplyText       ReplyKind = "text"        // Text, optional QuickReplies
	ReplyMedia      ReplyKind = "media"       // Media: one item, or up to 10 images
	ReplyLikeHeart  ReplyKind = "like_heart"  // the heart sticker
	ReplyMediaShare ReplyKind = "media_share" // PostID: one of the account's own posts
	ReplyGeneric    ReplyKind = "generic"     // Elements: a card or a carousel (<= 10)
	ReplyButtons    ReplyKind = "buttons"     // Text + Buttons (<= 3)
	ReplyAction     ReplyKind = "action"      // Action: typing_on, typing_off, mark_seen (sent alone)
	ReplyReact      ReplyKind = "react"       // React to MID with Reaction (empty Reaction = unreact)

	// ReplyCommentReply is a public reply (Text) under the comment Comment:
	// a new comment in the post's thread, not a message. It is not subject
	// to the messaging windows (see Reply.OnComment).
	ReplyCommentReply ReplyKind = "comment_reply"
	// ReplyModerate hides, unhides or deletes the comment Comment
	// (Action is one of the Moderate* constants).
	ReplyModerate ReplyKind = "moderate"
	// ReplyThreadControl changes who owns the conversation (Action is one
	// of the Thread* constants): the bot passes it to a person's inbox
	// (App, "" = the configured inbox app) and takes it back. It is not a
	// message: no window applies and nothing is shown to the user.
	ReplyThreadControl ReplyKind = "thread_control"
)

// Thread-control actions (Reply.Action of a ReplyThreadControl), after
// Meta's conversation routing (handover protocol) calls.
const (
	ThreadPass    = "pass"    // give the thread to App (the inbox)
	ThreadTake    = "take"    // take the thread back from whoever owns it
	ThreadRelease = "release" // give up the thread (to the default app)
	ThreadRequest = "request" // ask the owner to pass the thread back
)

// Comment moderation actions (Reply.Action of a ReplyModerate).
const (
	ModerateHide   = "hide"
	ModerateUnhide = "unhide"
	ModerateDelete = "delete"
)

// Sender actions.
const (
	ActionTypingOn  = "typing_on"
	ActionTypingOff = "typing_off"
	ActionMarkSeen  = "mark_seen"
)

// Instagram limits known when a flow is loaded; the adapter enforces them again.
const (
	MaxTextBytes      = 1000 // UTF-8 bytes per text message; longer text is split
	MaxTextParts      = 5    // messages one text reply may be split into (SplitText); rendered text beyond is cut
	MaxQuickReplies   = 13
	MaxQuickReplyLen  = 20 // characters of a quick-reply title
	MaxButtons        = 3  // per element or button template
	MaxElements       = 10 // generic template carousel
	MaxElementTextLen = 80 // title and subtitle of a generic element
	MaxButtonTextLen  = 640
	MaxImages         = 10
	MaxIceBreakers    = 4
	// MaxCommentLen is the length in characters of a public comment reply
	// (Instagram's limit for comments and captions).
	MaxCommentLen = 2200
)

// Reply is one outgoing message, independent of its recipient. Flow files
// declare replies; the engine renders their templates; the adapter encodes them
// for the Send API.
type Reply struct {
	Kind         ReplyKind    `json:"kind"`
	Text         string       `json:"text,omitempty"`
	QuickReplies []QuickReply `json:"quick_replies,omitempty"`
	Media        []Media      `json:"media,omitempty"`
	Elements     []Element    `json:"elements,omitempty"`
	Buttons      []Button     `json:"buttons,omitempty"`
	Action       string       `json:"action,omitempty"`
	MID          string       `json:"mid,omitempty"`      // ReplyReact: the message reacted to
	Reaction     string       `json:"reaction,omitempty"` // ReplyReact: "love" or an emoji; "" unreacts
	PostID       string       `json:"post_id,omitempty"`  // ReplyMediaShare
	// Comment is the comment a ReplyCommentReply answers publicly or a
	// ReplyModerate acts on.
	Comment string `json:"comment_id,omitempty"`
	// App is the app a ReplyThreadControl passes the thread to ("": the
	// inbox app the sender is configured with); Metadata travels with the
	// handover to the other app.
	App      string `json:"app_id,omitempty"`
	Metadata string `json:"metadata,omitempty"`
}

// OnComment reports whether r acts on a comment in public (a public reply
// or moderation) instead of sending a message: such replies go through the
// outbox like messages but no messaging window applies to them.
func (r Reply) OnComment() bool {
	return r.Kind == ReplyCommentReply || r.Kind == ReplyModerate
}

// NotMessage reports whether r is no message to the user (a comment reply,
// a moderation or a thread-control change): no messaging window applies
// and no echo follows.
func (r Reply) NotMessage() bool {
	return r.OnComment() || r.Kind == ReplyThreadControl
}

// QuickReply is a chip under a text message. Type is "text" (default),
// "user_email" or "user_phone_number".
type QuickReply struct {
	Type    string `json:"type,omitempty"`
	Title   string `json:"title,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// Media is an image, video, audio or file, by URL or by uploaded attachment id.
type Media struct {
	Type         string `json:"type"` // image | video | audio | file
	URL          string `json:"url,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
}

// Element is one card of a generic template.
type Element struct {
	Title      string   `json:"title"`
	Subtitle   string   `json:"subtitle,omitempty"`
	ImageURL   string   `json:"image_url,omitempty"`
	DefaultURL string   `json:"default_url,omitempty"`
	Buttons    []Button `json:"buttons,omitempty"`
}

// Button is a template button: Type "postback" (Payload) or "web_url" (URL).
type Button struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	Payload string `json:"payload,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Recipient addresses a reply: a user (IGSID), or a comment for a private reply.
type Recipient struct {
	ID        string `json:"id,omitempty"`
	CommentID string `json:"comment_id,omitempty"`
}

// Message tags.
const TagHumanAgent = "HUMAN_AGENT"

// Outgoing is a reply addressed for delivery. It is what the engine's caller
// enqueues in the outbox, in one transaction with the session it belongs to.
type Outgoing struct {
	Key   SessionKey `json:"key"`
	To    Recipient  `json:"to"`
	Reply Reply      `json:"reply"`
	// Tag is "" or TagHumanAgent (reply up to 7 days after the user's last
	// message, for conversations handed off to a person).
	Tag string `json:"tag,omitempty"`
	// Cause is the Event.Key that produced this reply, for tracing.
	Cause string `json:"cause,omitempty"`
	// LastInbound is the user's last message time when the reply was made
	// (for a private reply: the comment's time). The sender refuses a reply
	// outside the messaging window with ErrOutsideWindow instead of trying.
	LastInbound time.Time `json:"last_inbound,omitzero"`
}
