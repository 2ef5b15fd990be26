package instagram

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/metahook"
)

// Channel is the Event.Channel of every event this package produces.
const Channel = "instagram"

// Parse normalizes a verified webhook body into events, in delivery order,
// with each user's events sorted by their platform timestamp.
//
// Bodies whose object is neither "instagram" nor empty yield no events.
// Unknown event kinds and change fields are skipped; unknown JSON fields are
// ignored. A body that is not a JSON object (or an array of objects) returns
// an error wrapping dmflow.ErrInvalid.
func Parse(body []byte) ([]dmflow.Event, error) {
	bodies, err := metahook.DecodeBodies[webhookBody](body)
	if err != nil {
		return nil, fmt.Errorf("instagram: parse webhook: %w: %w", dmflow.ErrInvalid, err)
	}
	var events []dmflow.Event
	for _, b := range bodies {
		if b.Object != "" && b.Object != "instagram" {
			continue
		}
		for _, e := range b.Entry {
			events = appendEntry(events, e)
		}
	}
	metahook.SortPerUser(events)
	return events, nil
}

// appendEntry normalizes one entry: messaging[], standby[] and changes[].
func appendEntry(events []dmflow.Event, e webhookEnt) []dmflow.Event {
	ctx := entryCtx{account: string(e.ID), time: platformTime(e.Time)}
	for _, raw := range e.Messaging {
		events = appendMessaging(events, ctx, raw, false)
	}
	for _, raw := range e.Standby {
		events = appendMessaging(events, ctx, raw, true)
	}
	changes := e.Changes
	if e.Field != "" && len(e.Value) > 0 {
		changes = append(changes, change{Field: e.Field, Value: e.Value})
	}
	for _, c := range changes {
		events = appendChange(events, ctx, c)
	}
	return events
}

// entryCtx is what every event of one entry shares.
type entryCtx struct {
	account string
	time    time.Time
}

func appendMessaging(events []dmflow.Event, ctx entryCtx, raw json.RawMessage, standby bool) []dmflow.Event {
	var it messagingItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return events // one malformed item must not drop its batch
	}
	ev, ok := normalize(ctx, &it)
	if !ok {
		return events
	}
	ev.Channel = Channel
	ev.Standby = standby
	ev.Raw = raw
	if ev.Time.IsZero() {
		ev.Time = ctx.time
	}
	return append(events, ev)
}

func appendChange(events []dmflow.Event, ctx entryCtx, c change) []dmflow.Event {
	switch c.Field {
	case "comments", "live_comments":
		var v wireComment
		if err := json.Unmarshal(c.Value, &v); err != nil {
			return events
		}
		ev, ok := commentEvent(ctx, &v, c.Field == "live_comments")
		if !ok {
			return events
		}
		ev.Raw = c.Value
		return append(events, ev)
	case "messages":
		// The dashboard's "Test" button sends a messaging item as a change.
		return appendMessaging(events, ctx, c.Value, false)
	}
	return events
}

// normalize maps one messaging item to an event; ok is false for unknown kinds.
func normalize(ctx entryCtx, it *messagingItem) (dmflow.Event, bool) {
	ev := dmflow.Event{
		Account: ctx.account,
		User:    string(it.Sender.ID),
		Time:    platformTime(it.Timestamp),
	}
	if ev.Account == "" || ev.Account == "0" {
		ev.Account = string(it.Recipient.ID)
	}
	switch {
	case it.Message != nil:
		messageEvent(&ev, it)
	case it.MessageEdit != nil:
		editEvent(&ev, it.MessageEdit)
	case it.Reaction != nil:
		reactionEvent(&ev, it.Reaction)
	case it.Postback != nil:
		postbackEvent(&ev, it)
	case it.Read != nil:
		ev.Kind, ev.MID = dmflow.KindRead, string(it.Read.MID)
		ev.Key = "read:" + ev.MID + ":" + ev.User
	case it.Referral != nil:
		ev.Kind, ev.Referral = dmflow.KindReferral, referral(it.Referral)
		ev.Key = "ref:" + ev.User + ":" + stamp(it.Timestamp) + ":" + it.Referral.Ref
	case it.Optin != nil:
		ev.Kind, ev.Payload = dmflow.KindOptin, firstNonEmpty(it.Optin.Payload, it.Optin.Ref)
		ev.Key = "opt:" + ev.User + ":" + stamp(it.Timestamp)
	case it.Pass != nil, it.Take != nil, it.Request != nil:
		ev.Kind, ev.Handover = dmflow.KindHandover, handover(it)
		ev.Key = "ho:" + ev.User + ":" + stamp(it.Timestamp)
	default:
		return ev, false
	}
	return ev, ev.User != ""
}

func messageEvent(ev *dmflow.Event, it *messagingItem) {
	m := it.Message
	ev.Kind, ev.MID, ev.Text = dmflow.KindMessage, string(m.MID), m.Text
	ev.Self = m.IsSelf
	if m.QuickReply != nil {
		ev.Payload = m.QuickReply.Payload
	}
	ev.Attachments = attachments(m.Attachments)
	ev.ReplyTo = replyTo(m.ReplyTo)
	ev.Referral = referral(m.Referral)
	id := ev.MID
	if id == "" {
		id = derived(ev.User, stamp(it.Timestamp), m.Text)
	}
	ev.Key = "m:" + id
	switch {
	case m.IsEcho:
		// The business account sent it: the customer is the recipient.
		ev.Kind, ev.User = dmflow.KindEcho, string(it.Recipient.ID)
		ev.Key = "echo:" + id
	case m.IsDeleted:
		ev.Kind, ev.Key = dmflow.KindDelete, "del:"+id
	case m.IsUnsupported:
		ev.Kind = dmflow.KindUnsupported
	}
}

// editEvent maps message_edit. An edit with num_edit 0 is how development
// mode has been seen delivering new messages, so it is a message (same Key
// as the message itself, so a later real delivery is a duplicate).
func editEvent(ev *dmflow.Event, e *wireEdit) {
	ev.MID, ev.Text, ev.EditCount = string(e.MID), e.Text, int(e.NumEdit)
	if e.NumEdit == 0 {
		ev.Kind, ev.Key = dmflow.KindMessage, "m:"+ev.MID
		return
	}
	ev.Kind = dmflow.KindEdit
	ev.Key = "edit:" + ev.MID + ":" + strconv.FormatInt(int64(e.NumEdit), 10)
}

func reactionEvent(ev *dmflow.Event, r *wireReaction) {
	ev.Kind, ev.MID = dmflow.KindReaction, string(r.MID)
	ev.Reaction = &dmflow.Reaction{MID: string(r.MID), Action: r.Action, Reaction: r.Reaction, Emoji: r.Emoji}
	ev.Key = "r:" + ev.MID + ":" + r.Action + ":" + r.Reaction + ":" + ev.User
}

func postbackEvent(ev *dmflow.Event, it *messagingItem) {
	p := it.Postback
	ev.Kind, ev.MID, ev.Title, ev.Payload = dmflow.KindPostback, string(p.MID), p.Title, p.Payload
	ev.Referral, ev.Self = referral(p.Referral), p.IsSelf
	ev.Key = "pb:" + ev.MID
	if ev.MID == "" {
		ev.Key = "pb:" + derived(ev.User, stamp(it.Timestamp), p.Payload)
	}
}

func commentEvent(ctx entryCtx, v *wireComment, live bool) (dmflow.Event, bool) {
	id := string(firstNonEmpty(v.ID, v.CommentID))
	if id == "" || v.From.ID == "" {
		return dmflow.Event{}, false
	}
	ev := dmflow.Event{
		Key: "c:" + id, Kind: dmflow.KindComment, Channel: Channel,
		Account: ctx.account, User: string(v.From.ID), Time: platformTime(v.Timestamp),
		Text: v.Text,
		Self: v.From.SelfIGScopeID != "" || string(v.From.ID) == ctx.account,
		Comment: &dmflow.Comment{
			ID: id, ParentID: string(v.ParentID), MediaID: string(v.Media.ID),
			MediaType: v.Media.ProductType, AdID: string(v.Media.AdID),
			Username: v.From.Username, Live: live,
		},
	}
	if ev.Time.IsZero() {
		ev.Time = ctx.time
	}
	return ev, true
}

func attachments(in []wireAttachment) []dmflow.Attachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]dmflow.Attachment, 0, len(in))
	for _, a := range in {
		out = append(out, dmflow.Attachment{
			Type: a.Type, URL: a.Payload.URL, Title: a.Payload.Title,
			ID: string(firstNonEmpty(a.Payload.ReelVideoID, a.Payload.ID)),
		})
	}
	return out
}

func replyTo(r *wireReplyTo) *dmflow.ReplyTo {
	if r == nil {
		return nil
	}
	out := &dmflow.ReplyTo{MID: string(r.MID)}
	if r.Story != nil {
		out.StoryID, out.StoryURL = string(r.Story.ID), r.Story.URL
	}
	return out
}

func referral(r *wireReferral) *dmflow.Referral {
	if r == nil {
		return nil
	}
	out := &dmflow.Referral{Ref: r.Ref, Source: r.Source, Type: r.Type, AdID: string(r.AdID)}
	if c := r.AdsContextData; c != nil {
		out.AdTitle, out.Photo, out.Video = c.AdTitle, c.PhotoURL, c.VideoURL
	}
	return out
}

func handover(it *messagingItem) *dmflow.Handover {
	h, action := it.Pass, "pass"
	switch {
	case it.Take != nil:
		h, action = it.Take, "take"
	case it.Request != nil:
		h, action = it.Request, "request"
	}
	return &dmflow.Handover{
		Action:    action,
		PrevOwner: string(h.PrevOwner),
		NewOwner:  string(firstNonEmpty(h.NewOwner, h.RequestedOwner)),
		Metadata:  h.Metadata,
	}
}

// stamp renders a raw platform timestamp for keys (never reformatted, so the
// same delivery always yields the same key).
func stamp(n flexInt) string { return strconv.FormatInt(int64(n), 10) }

// derived builds a key part for events without a platform id.
func derived(user, ts, payload string) string {
	if len(payload) <= 64 {
		return user + ":" + ts + ":" + payload
	}
	sum := sha256.Sum256([]byte(payload))
	return user + ":" + ts + ":" + hex.EncodeToString(sum[:8])
}

func firstNonEmpty[S ~string](vs ...S) S {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
