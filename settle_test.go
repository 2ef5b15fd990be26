package dmflow_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

func TestMergeMessages(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	m := func(id, text string, mods ...func(*dmflow.Event)) dmflow.Event {
		e := dmflow.Event{Key: "m:" + id, Kind: dmflow.KindMessage, Account: "a", User: "u", MID: id, Text: text, Time: t0, Raw: json.RawMessage(`{}`)}
		t0 = t0.Add(time.Second)
		for _, f := range mods {
			f(&e)
		}
		return e
	}
	img := func(url string) func(*dmflow.Event) {
		return func(e *dmflow.Event) {
			e.Attachments = append(e.Attachments, dmflow.Attachment{Type: "image", URL: url})
		}
	}
	story := func(e *dmflow.Event) { e.ReplyTo = &dmflow.ReplyTo{StoryID: "s1"} }
	ad := func(ref string) func(*dmflow.Event) {
		return func(e *dmflow.Event) { e.Referral = &dmflow.Referral{Ref: ref} }
	}
	tests := []struct {
		name string
		in   []dmflow.Event
		want dmflow.Event
	}{
		{"one message", []dmflow.Event{m("1", "hi")},
			dmflow.Event{Key: "m:1", Kind: dmflow.KindMessage, Account: "a", User: "u", MID: "1", Text: "hi", Time: t0.Add(-time.Second)}},
		{"texts joined, last key and time", []dmflow.Event{m("2", "hi"), m("3", "I need help"), m("4", "with my order")},
			dmflow.Event{Key: "m:4", Kind: dmflow.KindMessage, Account: "a", User: "u", MID: "4", Text: "hi\nI need help\nwith my order", Time: t0.Add(-time.Second)}},
		{"attachments collected, empty texts skipped", []dmflow.Event{m("5", "look", img("x")), m("6", "", img("y")), m("7", "broken")},
			dmflow.Event{Key: "m:7", Kind: dmflow.KindMessage, Account: "a", User: "u", MID: "7", Text: "look\nbroken", Time: t0.Add(-time.Second),
				Attachments: []dmflow.Attachment{{Type: "image", URL: "x"}, {Type: "image", URL: "y"}}}},
		{"first story reply and referral kept", []dmflow.Event{m("8", "a", ad("spring")), m("9", "b", story, ad("other"))},
			dmflow.Event{Key: "m:9", Kind: dmflow.KindMessage, Account: "a", User: "u", MID: "9", Text: "a\nb", Time: t0.Add(-time.Second),
				ReplyTo: &dmflow.ReplyTo{StoryID: "s1"}, Referral: &dmflow.Referral{Ref: "spring"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(tt.in)
			got, _ := json.Marshal(dmflow.MergeMessages(tt.in))
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			if after, _ := json.Marshal(tt.in); string(after) != string(before) {
				t.Errorf("MergeMessages changed its input")
			}
		})
	}
}

func TestSettlable(t *testing.T) {
	for _, tt := range []struct {
		ev   dmflow.Event
		want bool
	}{
		{dmflow.Event{Kind: dmflow.KindMessage, Text: "hi"}, true},
		{dmflow.Event{Kind: dmflow.KindMessage, Attachments: []dmflow.Attachment{{Type: "image"}}}, true},
		{dmflow.Event{Kind: dmflow.KindMessage, Text: "Yes", Payload: "YES"}, false},
		{dmflow.Event{Kind: dmflow.KindPostback, Payload: "MENU"}, false},
		{dmflow.Event{Kind: dmflow.KindReaction}, false},
	} {
		if got := tt.ev.Settlable(); got != tt.want {
			t.Errorf("%+v: Settlable = %v, want %v", tt.ev, got, tt.want)
		}
	}
}
