package dmflow

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventKind names what happened. Flow files see it as `event.kind`.
type EventKind string

// Event kinds delivered by the Instagram adapter, followed by the kinds the bot
// itself produces. Every kind can start or move a flow.
const (
	// KindMessage is a direct message: text, attachments (image, video, audio,
	// file, share, story_mention, reel, ig_reel), a quick-reply tap (Payload
	// set), an inline or story reply (ReplyTo set), or an ad/ig.me referral on
	// the first message (Referral set).
	KindMessage EventKind = "message"
	// KindPostback is an ice-breaker, persistent-menu or template-button tap.
	KindPostback EventKind = "postback"
	// KindReaction is a react/unreact on a message (Reaction set).
	KindReaction EventKind = "reaction"
	// KindRead is a seen receipt (MID is the last message seen; on Messenger
	// MID is empty and Time is the read watermark).
	KindRead EventKind = "read"
	// KindDelivery is a delivery receipt (Messenger only): MID is the first
	// delivered message id, if the platform listed any, and Time the
	// watermark before which every message was delivered.
	KindDelivery EventKind = "delivery"
	// KindReferral is an ig.me link or ad opened inside an existing thread.
	KindReferral EventKind = "referral"
	// KindEdit is an edited message (Text is the new text, EditCount the count).
	KindEdit EventKind = "edit"
	// KindDelete is an unsent message (MID is the deleted message).
	KindDelete EventKind = "delete"
	// KindUnsupported is a message Instagram could not represent (some GIFs, stickers).
	KindUnsupported EventKind = "unsupported"
	// KindOptin is a messaging opt-in.
	KindOptin EventKind = "optin"
	// KindHandover is a thread-control change (Handover set).
	KindHandover EventKind = "handover"
	// KindComment is a comment or live comment on one of the account's media
	// (Comment set). A flow answers it with a private reply.
	KindComment EventKind = "comment"
	// KindEcho is a message sent by the business account itself, by dmflow,
	// another app or a human in the Instagram inbox. Never answered.
	KindEcho EventKind = "echo"

	// KindTimer is a flow timeout that came due (Timer set). Produced by the bot.
	KindTimer EventKind = "timer"
	// KindActionResult is the outcome of an action call (Action set). Produced by the bot.
	KindActionResult EventKind = "action_result"
	// KindAdmin is an operator command for one session (Admin set): reset,
	// move, release handoff. Admin commands travel through the same per-user
	// queue as messages so they never race the user's input.
	KindAdmin EventKind = "admin"
)

// Event is one normalized inbound event for one conversation. It is the unit
// that enters the durable inbox, is processed in order per user, and is fed
// to the engine. Events are plain data and encode to JSON losslessly.
type Event struct {
	// Key is the stable deduplication key: the same platform event delivered
	// twice has the same Key (e.g. "m:<mid>", "r:<mid>:<reaction>:<action>").
	Key  string    `json:"key"`
	Kind EventKind `json:"kind"`
	// Channel is the adapter that produced the event ("instagram",
	// "messenger", "sandbox"). Accounts are channel-scoped ids (an IG_ID, a
	// Page id), so one person on two channels has two SessionKeys.
	Channel string `json:"channel,omitempty"`
	// Account is the business account the event belongs to (the IG_ID,
	// entry.id), User the customer (IGSID). Together they form the SessionKey.
	Account string    `json:"account"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"` // when it happened (platform timestamp)

	MID         string        `json:"mid,omitempty"`     // platform message id
	Text        string        `json:"text,omitempty"`    // message text, edited text, comment text
	Payload     string        `json:"payload,omitempty"` // quick-reply or postback payload
	Title       string        `json:"title,omitempty"`   // postback button title
	Attachments []Attachment  `json:"attachments,omitempty"`
	ReplyTo     *ReplyTo      `json:"reply_to,omitempty"`
	Referral    *Referral     `json:"referral,omitempty"`
	Reaction    *Reaction     `json:"reaction,omitempty"`
	Comment     *Comment      `json:"comment,omitempty"`
	Handover    *Handover     `json:"handover,omitempty"`
	EditCount   int           `json:"edit_count,omitempty"`
	Timer       *TimerFire    `json:"timer,omitempty"`
	Action      *ActionResult `json:"action,omitempty"`
	Admin       *AdminCommand `json:"admin,omitempty"`

	// Self is set when the account messaged itself (Instagram self messaging).
	Self bool `json:"self,omitempty"`
	// Standby is set for events delivered on the standby channel (another app
	// owns the thread).
	Standby bool `json:"standby,omitempty"`
	// Raw is the platform's original JSON for this item, for debugging and replay.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// SessionKey returns the key of the conversation the event belongs to.
func (e *Event) SessionKey() SessionKey { return SessionKey{Account: e.Account, User: e.User} }

// Check reports whether the event can be stored in an inbox: Key, Account
// and User set, and none of them holding a NUL byte (which no store can
// key on). The error wraps ErrInvalid. Every store's AppendInbox and
// every ingesting edge apply this one rule.
func (e *Event) Check() error {
	if e.Key == "" || strings.ContainsRune(e.Key, 0) || !e.SessionKey().Valid() {
		return fmt.Errorf("event: key %q, account %q and user %q are required, without NUL bytes: %w", e.Key, e.Account, e.User, ErrInvalid)
	}
	return nil
}

// Attachment is media attached to an inbound message.
type Attachment struct {
	// Type is image, video, audio, file, share, story_mention, reel, ig_reel,
	// or whatever new type the platform sends.
	Type  string `json:"type"`
	URL   string `json:"url,omitempty"` // short-lived CDN URL
	Title string `json:"title,omitempty"`
	ID    string `json:"id,omitempty"` // reel_video_id, story id, ...
}

// ReplyTo is set when the message answers an earlier message or a story.
type ReplyTo struct {
	MID      string `json:"mid,omitempty"`
	StoryID  string `json:"story_id,omitempty"`
	StoryURL string `json:"story_url,omitempty"`
}

// Referral tells where a conversation came from: an ad, an ig.me link.
type Referral struct {
	Ref     string `json:"ref,omitempty"`
	Source  string `json:"source,omitempty"` // ADS, SHORTLINKS, ...
	Type    string `json:"type,omitempty"`   // OPEN_THREAD
	AdID    string `json:"ad_id,omitempty"`
	AdTitle string `json:"ad_title,omitempty"`
	Photo   string `json:"photo_url,omitempty"`
	Video   string `json:"video_url,omitempty"`
}

// Reaction is a react or unreact on a message.
type Reaction struct {
	MID      string `json:"mid"`
	Action   string `json:"action"` // react | unreact
	Reaction string `json:"reaction,omitempty"`
	Emoji    string `json:"emoji,omitempty"`
}

// Comment is a comment or live comment on one of the account's media.
type Comment struct {
	ID        string `json:"id"`
	ParentID  string `json:"parent_id,omitempty"`
	MediaID   string `json:"media_id,omitempty"`
	MediaType string `json:"media_type,omitempty"` // FEED, REELS, STORY, AD
	AdID      string `json:"ad_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Live      bool   `json:"live,omitempty"`
	// Caption and Permalink describe the commented media. The platform
	// does not send them: the bot looks them up (cached) before stepping
	// when a flow asks (`lookup_media: true`); "" when unknown.
	Caption   string `json:"caption,omitempty"`
	Permalink string `json:"permalink,omitempty"`
}

// Handover is a thread-control change.
type Handover struct {
	Action    string `json:"action"` // pass | take | request | release
	PrevOwner string `json:"prev_owner,omitempty"`
	NewOwner  string `json:"new_owner,omitempty"`
	Metadata  string `json:"metadata,omitempty"`
}

// TimerFire identifies the timer that came due. A timer whose ID no longer
// matches the session's pending timer is stale and does nothing.
type TimerFire struct {
	ID   string    `json:"id"`
	Name string    `json:"name,omitempty"`
	Due  time.Time `json:"due"`
}

// AdminCommand is an operator command routed through the user's queue.
type AdminCommand struct {
	Op    string `json:"op"`              // reset | move | release | handoff | forget | send | locale
	State string `json:"state,omitempty"` // target state for move
	// Locale is the user's new locale for locale (one of the bundle's
	// supported locales).
	Locale string `json:"locale,omitempty"`
	By     string `json:"by,omitempty"`
	// Reply is the operator's message for send (a text, optionally with
	// quick replies).
	Reply *Reply `json:"reply,omitempty"`
}

// Admin operations.
const (
	AdminReset   = "reset"
	AdminMove    = "move"
	AdminRelease = "release"
	AdminHandoff = "handoff"
	// AdminForget erases everything stored about the user (the bot runs it
	// with Store.Forget instead of stepping the engine).
	AdminForget = "forget"
	// AdminSend sends an operator's message (Reply) to the user, queued
	// behind the user's pending events; see OperatorTag and CheckOperator.
	AdminSend = "send"
	// AdminLocale sets the user's locale (Locale): the main flow's locale
	// variable, as the flow's own language choice would (the studio's
	// locale control; transcripts preset it with `locale:`).
	AdminLocale = "locale"
)
