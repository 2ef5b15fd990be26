package messenger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dmflow/dmflow"
	mh "github.com/dmflow/dmflow/internal/metahook"
)

// Channel is the Event.Channel of every event this package produces.
const Channel = "messenger"

// Parse normalizes a verified webhook body into events, in delivery order,
// each user's events sorted by platform timestamp.
//
// Bodies whose object is neither "page" nor empty yield no events. Items
// without a page-scoped id (a checkbox-plugin opt-in that only has a
// user_ref) are skipped: no reply can be addressed to them by PSID. Unknown
// event kinds and fields are skipped. A body that is not a JSON object (or
// an array of objects) returns an error wrapping dmflow.ErrInvalid.
func Parse(body []byte) ([]dmflow.Event, error) {
	bodies, err := mh.DecodeBodies[wireBody](body)
	if err != nil {
		return nil, fmt.Errorf("messenger: parse webhook: %w: %w", dmflow.ErrInvalid, err)
	}
	var events []dmflow.Event
	for _, b := range bodies {
		if b.Object != "" && b.Object != "page" {
			continue
		}
		for _, e := range b.Entry {
			events = appendEntry(events, e)
		}
	}
	mh.SortPerUser(events)
	return events, nil
}

func appendEntry(events []dmflow.Event, e wireEntry) []dmflow.Event {
	for _, raw := range e.Messaging {
		events = appendItem(events, e, raw, false)
	}
	for _, raw := range e.Standby {
		events = appendItem(events, e, raw, true)
	}
	// The App Dashboard's test button (and some reference samples) send an
	// item as a change: {"field":"messaging_postbacks","value":{...}}.
	for _, c := range e.Changes {
		if c.Field == "messages" || strings.HasPrefix(c.Field, "messag") {
			events = appendItem(events, e, c.Value, false)
		}
	}
	return events
}

func appendItem(events []dmflow.Event, e wireEntry, raw json.RawMessage, standby bool) []dmflow.Event {
	var it wireItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return events // one malformed item must not drop its batch
	}
	ev, ok := normalize(string(e.ID), &it)
	if !ok {
		return events
	}
	ev.Channel, ev.Standby, ev.Raw = Channel, standby, raw
	if ev.Time.IsZero() {
		ev.Time = e.Time.Time()
	}
	return append(events, ev)
}

// normalize maps one messaging item; ok is false for unknown kinds and for
// items without a PSID.
func normalize(page string, it *wireItem) (dmflow.Event, bool) {
	ev := dmflow.Event{Account: page, User: string(it.Sender.ID), Time: it.Timestamp.Time()}
	if ev.Account == "" || ev.Account == "0" {
		ev.Account = string(it.Recipient.ID)
	}
	ts := it.Timestamp.String()
	switch {
	case it.Message != nil:
		messageEvent(&ev, it, page)
	case it.Postback != nil:
		p := it.Postback
		ev.Kind, ev.MID, ev.Title, ev.Payload = dmflow.KindPostback, string(p.MID), p.Title, p.Payload
		ev.Referral = referral(p.Referral)
		ev.Key = "pb:" + firstNonEmpty(ev.MID, derived(ev.User, ts, p.Payload))
	case it.Reaction != nil:
		r := it.Reaction
		ev.Kind, ev.MID = dmflow.KindReaction, string(r.MID)
		ev.Reaction = &dmflow.Reaction{MID: ev.MID, Action: r.Action, Reaction: r.Reaction, Emoji: r.Emoji}
		ev.Key = "r:" + ev.MID + ":" + r.Action + ":" + r.Reaction + ":" + ev.User
	case it.Read != nil:
		ev.Kind = dmflow.KindRead
		if w := it.Read.Watermark.Time(); !w.IsZero() {
			ev.Time = w
		}
		ev.Key = "read:" + ev.User + ":" + it.Read.Watermark.String()
	case it.Delivery != nil:
		ev.Kind = dmflow.KindDelivery
		if len(it.Delivery.MIDs) > 0 {
			ev.MID = string(it.Delivery.MIDs[0])
		}
		if w := it.Delivery.Watermark.Time(); !w.IsZero() {
			ev.Time = w
		}
		ev.Key = "dlv:" + ev.User + ":" + it.Delivery.Watermark.String()
	case it.Referral != nil:
		ev.Kind, ev.Referral = dmflow.KindReferral, referral(it.Referral)
		ev.Key = "ref:" + ev.User + ":" + ts + ":" + it.Referral.Ref
	case it.Optin != nil:
		o := it.Optin
		ev.Kind, ev.Payload, ev.Title = dmflow.KindOptin, firstNonEmpty(o.Payload, o.Ref), o.Title
		ev.Key = "opt:" + ev.User + ":" + ts + ":" + o.Type + ":" + o.Status
	case it.Edit != nil:
		e := it.Edit
		ev.Kind, ev.MID, ev.Text, ev.EditCount = dmflow.KindEdit, string(e.MID), e.Text, int(e.NumEdit)
		ev.Key = "edit:" + ev.MID + ":" + e.NumEdit.String()
	case it.Pass != nil, it.Take != nil, it.Request != nil:
		ev.Kind, ev.Handover = dmflow.KindHandover, handover(it)
		ev.Key = "ho:" + ev.User + ":" + ts + ":" + ev.Handover.Action
	default:
		return ev, false
	}
	return ev, ev.User != ""
}

func messageEvent(ev *dmflow.Event, it *wireItem, page string) {
	m := it.Message
	ev.Kind, ev.MID, ev.Text = dmflow.KindMessage, string(m.MID), m.Text
	if m.QuickReply != nil {
		ev.Payload = m.QuickReply.Payload
	}
	for _, a := range m.Attachments {
		ev.Attachments = append(ev.Attachments, dmflow.Attachment{Type: a.Type, URL: a.Payload.URL,
			Title: firstNonEmpty(a.Title, a.Payload.Title), ID: string(firstNonEmpty(a.Payload.ReelVideoID, a.Payload.AttachmentID))})
	}
	if m.ReplyTo != nil {
		ev.ReplyTo = &dmflow.ReplyTo{MID: string(m.ReplyTo.MID)}
	}
	ev.Referral = referral(m.Referral)
	id := firstNonEmpty(ev.MID, derived(ev.User, it.Timestamp.String(), m.Text))
	ev.Key = "m:" + id
	if m.IsEcho {
		// The Page sent it (dmflow, another app, or a person in the inbox):
		// the customer is the recipient.
		ev.Kind, ev.User, ev.Key = dmflow.KindEcho, string(it.Recipient.ID), "echo:"+id
		if ev.Account == "" || ev.Account == "0" {
			ev.Account = firstNonEmpty(page, string(it.Sender.ID))
		}
	}
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

func handover(it *wireItem) *dmflow.Handover {
	h, action := it.Pass, "pass"
	switch {
	case it.Take != nil:
		h, action = it.Take, "take"
	case it.Request != nil:
		h, action = it.Request, "request"
	}
	return &dmflow.Handover{Action: action, PrevOwner: string(h.PrevOwner),
		NewOwner: string(firstNonEmpty(h.NewOwner, h.RequestedOwner)), Metadata: h.Metadata}
}

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

type (
	fs = mh.FlexString
	fi = mh.FlexInt
)

type wireBody struct {
	Object string      `json:"object"`
	Entry  []wireEntry `json:"entry"`
}

type wireEntry struct {
	ID        fs                `json:"id"`
	Time      fi                `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	Standby   []json.RawMessage `json:"standby"`
	Changes   []struct {
		Field string          `json:"field"`
		Value json.RawMessage `json:"value"`
	} `json:"changes"`
}

type idRef struct {
	ID      fs     `json:"id"`
	UserRef string `json:"user_ref"`
}

type wireItem struct {
	Sender    idRef `json:"sender"`
	Recipient idRef `json:"recipient"`
	Timestamp fi    `json:"timestamp"`

	Message  *wireMessage `json:"message"`
	Postback *struct {
		MID      fs            `json:"mid"`
		Title    string        `json:"title"`
		Payload  string        `json:"payload"`
		Referral *wireReferral `json:"referral"`
	} `json:"postback"`
	Reaction *struct {
		MID      fs     `json:"mid"`
		Action   string `json:"action"`
		Reaction string `json:"reaction"`
		Emoji    string `json:"emoji"`
	} `json:"reaction"`
	Read *struct {
		Watermark fi `json:"watermark"`
	} `json:"read"`
	Delivery *struct {
		MIDs      []fs `json:"mids"`
		Watermark fi   `json:"watermark"`
	} `json:"delivery"`
	Referral *wireReferral `json:"referral"`
	Optin    *struct {
		Type    string `json:"type"`
		Ref     string `json:"ref"`
		Payload string `json:"payload"`
		Title   string `json:"title"`
		Status  string `json:"notification_messages_status"`
	} `json:"optin"`
	Edit *struct {
		MID     fs     `json:"mid"`
		Text    string `json:"text"`
		NumEdit fi     `json:"num_edit"`
	} `json:"message_edit"`
	Pass    *wireHandover `json:"pass_thread_control"`
	Take    *wireHandover `json:"take_thread_control"`
	Request *wireHandover `json:"request_thread_control"`
}

type wireMessage struct {
	MID         fs     `json:"mid"`
	Text        string `json:"text"`
	IsEcho      bool   `json:"is_echo"`
	AppID       fs     `json:"app_id"`
	Metadata    string `json:"metadata"`
	Attachments []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Payload struct {
			URL          string `json:"url"`
			Title        string `json:"title"`
			AttachmentID fs     `json:"attachment_id"`
			ReelVideoID  fs     `json:"reel_video_id"`
		} `json:"payload"`
	} `json:"attachments"`
	QuickReply *struct {
		Payload string `json:"payload"`
	} `json:"quick_reply"`
	ReplyTo *struct {
		MID fs `json:"mid"`
	} `json:"reply_to"`
	Referral *wireReferral `json:"referral"`
}

type wireReferral struct {
	Ref            string `json:"ref"`
	Source         string `json:"source"`
	Type           string `json:"type"`
	AdID           fs     `json:"ad_id"`
	AdsContextData *struct {
		AdTitle  string `json:"ad_title"`
		PhotoURL string `json:"photo_url"`
		VideoURL string `json:"video_url"`
	} `json:"ads_context_data"`
}

type wireHandover struct {
	PrevOwner      fs     `json:"previous_owner_app_id"`
	NewOwner       fs     `json:"new_owner_app_id"`
	RequestedOwner fs     `json:"requested_owner_app_id"`
	Metadata       string `json:"metadata"`
}
