package dmflow_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

func TestRecordRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	in := &dmflow.Session{
		Key:  dmflow.SessionKey{Account: "178", User: "u1"},
		Flow: "lead", FlowVersion: 3, State: "menu",
		Vars: map[string]any{
			"name": "Ann", "budget": 1200, "ratio": 0.5, "ok": true,
			"tags": []any{"pricing", 2}, "nested": map[string]any{"n": 7}, "none": nil,
		},
		Timers:   []dmflow.Timer{{ID: "t1", Name: "menu", Due: now.Add(time.Hour)}},
		Settling: []dmflow.Event{{Key: "m:1", Kind: dmflow.KindMessage, Text: "hi", Time: now}},
		Variants: map[string]string{"welcome_v2": "b"},
		Updated:  now, Version: 4,
	}
	b, err := dmflow.MarshalRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	var out dmflow.Session
	if err := dmflow.UnmarshalRecord(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Fatalf("round trip changed the session:\n in %#v\nout %#v", in, &out)
	}
}

func TestRecordCorrupt(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":           nil,
		"unknown version": []byte("\x07{}"),
		"bad json":        []byte("\x01{"),
		"wrong type":      append([]byte{1}, `{"vars":3}`...),
	} {
		t.Run(name, func(t *testing.T) {
			var s dmflow.Session
			if err := dmflow.UnmarshalRecord(b, &s); !errors.Is(err, dmflow.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestSessionCloneIsDeep(t *testing.T) {
	s := &dmflow.Session{Vars: map[string]any{"tags": []any{"a"}, "m": map[string]any{"k": 1}},
		Handoff: &dmflow.Handoff{Reason: "x"}, Variants: map[string]string{"e": "a"}, Settling: []dmflow.Event{{Text: "hi"}}}
	c := s.Clone()
	c.Variants["e"], c.Settling[0].Text = "b", "ho"
	if s.Variants["e"] != "a" || s.Settling[0].Text != "hi" {
		t.Fatal("Clone shares Variants or Settling with the original")
	}
	c.Vars["tags"].([]any)[0] = "b"
	c.Vars["m"].(map[string]any)["k"] = 2
	c.Handoff.Reason = "y"
	if s.Vars["tags"].([]any)[0] != "a" || s.Vars["m"].(map[string]any)["k"] != 1 || s.Handoff.Reason != "x" {
		t.Fatal("Clone shares memory with the original")
	}
}

func TestTokenStringRedacts(t *testing.T) {
	tok := dmflow.Token{Account: "1", AccessToken: "IGAAsecret"}
	if s := tok.String(); strings.Contains(s, "IGAAsecret") {
		t.Fatalf("token leaked: %s", s)
	}
}

// FuzzUnmarshalRecord feeds arbitrary bytes to the record decoder for each
// record type stores keep: it must return nil or an error wrapping
// ErrCorrupt, never panic, and a decoded record must encode again.
func FuzzUnmarshalRecord(f *testing.F) {
	for _, v := range []any{
		&dmflow.Session{Key: dmflow.SessionKey{Account: "a", User: "u"}, Vars: map[string]any{"n": 1, "f": 0.5, "l": []any{"x"}}},
		&dmflow.InboxItem{Seq: 1, Event: dmflow.Event{Key: "m:1", Kind: dmflow.KindMessage, Text: "hi"}},
		&dmflow.OutboxItem{Seq: 2, Queue: dmflow.QueueDM, Message: &dmflow.Outgoing{Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "x"}}},
	} {
		b, err := dmflow.MarshalRecord(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, '{', '"', 'v', 'a', 'r', 's', '"', ':', '3', '}'})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []any{&dmflow.Session{}, &dmflow.InboxItem{}, &dmflow.OutboxItem{}, &dmflow.DeadLetter{}, &dmflow.ActionItem{}, &dmflow.Token{}} {
			err := dmflow.UnmarshalRecord(b, v)
			if err != nil && !errors.Is(err, dmflow.ErrCorrupt) {
				t.Fatalf("%T: error %v does not wrap ErrCorrupt", v, err)
			}
			if err == nil {
				if _, err := dmflow.MarshalRecord(v); err != nil {
					t.Fatalf("%T decoded from %q does not encode again: %v", v, b, err)
				}
			}
		}
	})
}
