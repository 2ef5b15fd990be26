package flows

import (
	"time"

	"github.com/dmflow/dmflow"
)

// The expression environment. Every expression and template in a flow is
// compiled at load time against a typed environment with these names, and the
// engine runs it against a map holding values of exactly these types:
//
//	event     EventEnv        the event being handled
//	user      UserEnv         the customer
//	input     InputType       the captured input while an ask validates (see Ask)
//	response  ResponseEnv     an action's response while its `save` runs
//	now       time.Time       the step's clock (injected; never the wall clock)
//	<var>     declared type   every declared flow variable by name
//
// Names of declared variables must not collide with these reserved names.
var Reserved = []string{"event", "user", "input", "response", "now", "vars", "env"}

// EventEnv is `event` in expressions.
type EventEnv struct {
	Kind string `expr:"kind"` // dmflow.EventKind
	// Channel is the adapter the event came from: instagram, messenger,
	// sandbox, test, or dmflow for the bot's own events.
	Channel     string          `expr:"channel"`
	Text        string          `expr:"text"`
	Payload     string          `expr:"payload"` // quick-reply or postback payload
	Title       string          `expr:"title"`
	MID         string          `expr:"mid"`
	Attachments []AttachmentEnv `expr:"attachments"`
	// Attachment is the type of the first attachment ("" when none): image,
	// video, audio, file, share, story_mention, reel, ig_reel.
	Attachment string `expr:"attachment"`
	// StoryReply is set when the message answers one of the account's stories.
	StoryReply   bool   `expr:"story_reply"`
	StoryMention bool   `expr:"story_mention"`
	Reaction     string `expr:"reaction"`        // reaction name or emoji
	Unreact      bool   `expr:"unreact"`         // the reaction was removed
	Ref          string `expr:"ref"`             // referral ref (ig.me link or ad)
	Source       string `expr:"referral_source"` // ADS, SHORTLINKS, ...
	AdID         string `expr:"ad_id"`
	CommentID    string `expr:"comment_id"`
	MediaID      string `expr:"media_id"` // media commented on
	Live         bool   `expr:"live"`     // live comment
	// Username is the commenter's username (comment events).
	Username string `expr:"username"`
	// MediaType is the media_product_type of the commented media: FEED,
	// REELS, STORY or AD ("" when not a comment or not sent).
	MediaType string `expr:"media_type"`
	// Caption and Permalink describe the commented media when the flow
	// asks for them (`lookup_media: true`); "" when unknown.
	Caption   string    `expr:"caption"`
	Permalink string    `expr:"permalink"`
	Timer     string    `expr:"timer"` // name of the timer that fired
	Time      time.Time `expr:"time"`
}

// AttachmentEnv is one element of `event.attachments`.
type AttachmentEnv struct {
	Type string `expr:"type"`
	URL  string `expr:"url"`
}

// UserEnv is `user` in expressions.
type UserEnv struct {
	ID       string `expr:"id"`
	Account  string `expr:"account"`
	Username string `expr:"username"`
	Name     string `expr:"name"`
	// HandedOff is set while a human has the conversation.
	HandedOff bool `expr:"handed_off"`
	// Locale is the locale the user's texts render in: one of the bundle's
	// supported locales (see Locales); missing when the bundle declares none.
	Locale string `expr:"locale"`
	// Variants are the user's A/B variants by experiment (see `split`):
	// `user.variants.welcome_v2 == "b"`; "" for an experiment not assigned yet.
	Variants map[string]string `expr:"variants"`
	// Profile fields from Instagram's User Profile API. Each is missing
	// (nil) while unknown — no consent yet, a failed lookup, a field the
	// platform left out — so compare with == true, or use ?? false.
	FollowsBusiness bool      `expr:"is_user_follow_business"`
	BusinessFollows bool      `expr:"is_business_follow_user"`
	FollowerCount   int       `expr:"follower_count"`
	Verified        bool      `expr:"is_verified_user"`
	ProfilePic      string    `expr:"profile_pic"`
	ProfileFetched  time.Time `expr:"profile_fetched"` // when the profile was fetched
}

// ResponseEnv is `response` in an action's `save` expressions.
type ResponseEnv struct {
	Outcome string         `expr:"outcome"` // ok | error | timeout | invalid
	Status  int            `expr:"status"`
	Body    map[string]any `expr:"body"` // decoded JSON object ({"value": x} for non-objects)
	Error   string         `expr:"error"`
}

// NewEventEnv converts a normalized event to its expression view.
func NewEventEnv(ev *dmflow.Event) EventEnv {
	e := EventEnv{Kind: string(ev.Kind), Channel: ev.Channel, Text: ev.Text, Payload: ev.Payload, Title: ev.Title, MID: ev.MID, Time: ev.Time}
	for _, a := range ev.Attachments {
		e.Attachments = append(e.Attachments, AttachmentEnv{Type: a.Type, URL: a.URL})
		if a.Type == "story_mention" {
			e.StoryMention = true
		}
	}
	if len(e.Attachments) > 0 {
		e.Attachment = e.Attachments[0].Type
	}
	if ev.ReplyTo != nil && ev.ReplyTo.StoryID != "" {
		e.StoryReply = true
	}
	if r := ev.Reaction; r != nil {
		e.Reaction = r.Emoji
		if e.Reaction == "" {
			e.Reaction = r.Reaction
		}
		e.Unreact = r.Action == "unreact"
	}
	if r := ev.Referral; r != nil {
		e.Ref, e.Source, e.AdID = r.Ref, r.Source, r.AdID
	}
	if c := ev.Comment; c != nil {
		e.CommentID, e.MediaID, e.Live, e.Username, e.MediaType = c.ID, c.MediaID, c.Live, c.Username, c.MediaType
		e.Caption, e.Permalink = c.Caption, c.Permalink
	}
	if ev.Timer != nil {
		e.Timer = ev.Timer.Name
	}
	return e
}
