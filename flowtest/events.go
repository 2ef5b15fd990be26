package flowtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
)

// InboxApp is the app id a transcript's `handover:` names as the inbox
// (Meta's Instagram inbox app).
const InboxApp = "1217981644879628"

// eventFor builds the inbound event of an input. taps are the tappables of
// the bot's last replies (for `tap:` and payloads without text); mid names
// the event (unique per conversation).
func eventFor(in *Input, channel string, key dmflow.SessionKey, now time.Time, mid string, taps []Tappable) (dmflow.Event, error) {
	ev := dmflow.Event{Key: "m:" + mid, Kind: dmflow.KindMessage, Channel: channel, Account: key.Account,
		User: key.User, Time: now, MID: mid}
	switch in.Kind {
	case "user":
		ev.Text = in.Text
	case "payload":
		ev.Payload, ev.Text = in.Payload, cmp.Or(in.Text, titleOf(taps, in.Payload))
	case "postback":
		ev.Kind, ev.Payload, ev.Title = dmflow.KindPostback, in.Payload, cmp.Or(in.Title, titleOf(taps, in.Payload))
	case "tap":
		return tapEvent(ev, in.Title, taps)
	case "attachment":
		ev.Text = in.Text
		ev.Attachments = []dmflow.Attachment{{Type: cmp.Or(in.Type, "image"), URL: in.URL}}
	case "story_mention":
		ev.Attachments = []dmflow.Attachment{{Type: "story_mention", URL: cmp.Or(in.URL, "https://cdn.example/story.jpg")}}
	case "story_reply":
		ev.Text = in.Text
		ev.ReplyTo = &dmflow.ReplyTo{StoryID: cmp.Or(in.ID, "story-1"), StoryURL: in.URL}
	case "comment":
		ev.Kind, ev.Text, ev.Key = dmflow.KindComment, in.Text, "c:"+mid
		ev.Comment = &dmflow.Comment{ID: cmp.Or(in.ID, "comment-"+mid), MediaID: cmp.Or(in.MediaID, "media-1"), Username: in.Title,
			Caption: in.Caption, Permalink: in.URL}
	case "reaction":
		ev.Kind, ev.Key = dmflow.KindReaction, "r:"+mid
		ev.Reaction = &dmflow.Reaction{MID: "bot-last", Action: cmp.Or(in.Action, "react"), Reaction: in.Title, Emoji: in.Text}
		if ev.Reaction.Reaction == "" && ev.Reaction.Emoji == "" && ev.Reaction.Action == "react" {
			ev.Reaction.Reaction = "love"
		}
	case "referral":
		ev.Referral = &dmflow.Referral{Ref: in.Ref, Source: cmp.Or(in.Source, "ADS"), Type: "OPEN_THREAD", AdID: in.ID}
		ev.Text = in.Text
		if in.Text == "" {
			ev.Kind, ev.Key = dmflow.KindReferral, "ref:"+mid
		}
	case "echo":
		ev.Kind, ev.Text, ev.Key = dmflow.KindEcho, in.Text, "e:"+mid
	case "standby":
		// a message while another app (the inbox) owns the thread
		ev.Text, ev.Standby = in.Text, true
	case "handover":
		ev.Kind, ev.Key = dmflow.KindHandover, "ho:"+mid
		ev.Handover = &dmflow.Handover{Action: in.Action, PrevOwner: InboxApp, NewOwner: "test-app"}
		if in.Action != dmflow.ThreadPass {
			ev.Handover.PrevOwner, ev.Handover.NewOwner = "test-app", InboxApp
		}
	case "read":
		ev.Kind, ev.Key = dmflow.KindRead, "read:"+mid
	case "admin":
		ev.Kind, ev.Key = dmflow.KindAdmin, "admin:"+mid
		ev.Admin = &dmflow.AdminCommand{Op: in.Type, State: in.State, By: "test"}
		if in.Type == dmflow.AdminLocale { // `admin: locale es`: the argument is the locale
			ev.Admin.State, ev.Admin.Locale = "", in.State
		}
	case "event":
		return rawEvent(ev, in.Raw)
	default:
		return ev, fmt.Errorf("no event for input %q", in.Kind)
	}
	return ev, nil
}

// tapEvent taps the chip or postback button titled title (case-insensitive).
func tapEvent(ev dmflow.Event, title string, taps []Tappable) (dmflow.Event, error) {
	for _, t := range taps {
		if !strings.EqualFold(t.Title, title) {
			continue
		}
		if t.Postback {
			ev.Kind, ev.Payload, ev.Title, ev.Key = dmflow.KindPostback, t.Payload, t.Title, "p:"+ev.MID
			return ev, nil
		}
		ev.Payload, ev.Text = t.Payload, t.Title
		return ev, nil
	}
	titles := make([]string, len(taps))
	for i, t := range taps {
		titles[i] = t.Title
	}
	return ev, fmt.Errorf("no chip or button %q to tap; the last replies offered %q", title, titles)
}

// rawEvent overlays free-form dmflow.Event JSON fields on the defaults.
func rawEvent(ev dmflow.Event, raw map[string]any) (dmflow.Event, error) {
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &ev)
	}
	if err != nil {
		return ev, fmt.Errorf("event: %w", err)
	}
	return ev, nil
}

// timerEvent is the event the server's timer index produces for a due timer.
func timerEvent(key dmflow.SessionKey, t dmflow.Timer) dmflow.Event {
	return dmflow.Event{Key: "timer:" + t.ID, Kind: dmflow.KindTimer, Channel: "test", Account: key.Account,
		User: key.User, Time: t.Due, Timer: &dmflow.TimerFire{ID: t.ID, Name: t.Name, Due: t.Due}}
}

// resultEvent answers an action call the way the action runner does.
func resultEvent(key dmflow.SessionKey, call dmflow.ActionCall, m *Mock, now time.Time) (dmflow.Event, error) {
	res := &dmflow.ActionResult{ID: call.ID, Name: call.Name, Outcome: m.Outcome, Status: m.Status, Error: m.Error}
	if m.Body != nil {
		b, err := json.Marshal(m.Body)
		if err != nil {
			return dmflow.Event{}, fmt.Errorf("mock %s: body: %w", call.Name, err)
		}
		res.Body = b
	}
	if res.Outcome == dmflow.OutcomeTimeout && res.Error == "" {
		res.Error = "timeout (mocked)"
	}
	return dmflow.Event{Key: "action:" + call.ID, Kind: dmflow.KindActionResult, Channel: "test",
		Account: key.Account, User: key.User, Time: now, Action: res}, nil
}

func titleOf(taps []Tappable, payload string) string {
	for _, t := range taps {
		if t.Payload == payload {
			return t.Title
		}
	}
	return payload
}
