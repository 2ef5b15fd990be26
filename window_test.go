package dmflow_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
)

func TestCheckWindow(t *testing.T) {
	now := time.Date(2025, 1, 8, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		age     time.Duration // since LastInbound; <0: unknown
		tag     string
		comment bool
		ok      bool
		sendTag string
		limit   time.Duration
	}{
		{"unknown last message", -1, "", false, true, "", 0},
		{"unknown keeps the tag", -1, dmflow.TagHumanAgent, false, true, dmflow.TagHumanAgent, 0},
		{"fresh", time.Hour, "", false, true, "", 24 * time.Hour},
		{"exactly 24h", 24 * time.Hour, "", false, true, "", 24 * time.Hour},
		{"24h and a second", 24*time.Hour + time.Second, "", false, false, "", 24 * time.Hour},
		{"25h", 25 * time.Hour, "", false, false, "", 24 * time.Hour},
		{"human agent inside 24h goes untagged", time.Hour, dmflow.TagHumanAgent, false, true, "", 24 * time.Hour},
		{"human agent 25h", 25 * time.Hour, dmflow.TagHumanAgent, false, true, dmflow.TagHumanAgent, 7 * 24 * time.Hour},
		{"human agent 7d", 7 * 24 * time.Hour, dmflow.TagHumanAgent, false, true, dmflow.TagHumanAgent, 7 * 24 * time.Hour},
		{"human agent 8d", 8 * 24 * time.Hour, dmflow.TagHumanAgent, false, false, "", 7 * 24 * time.Hour},
		{"private reply 6d", 6 * 24 * time.Hour, "", true, true, "", 7 * 24 * time.Hour},
		{"private reply 8d", 8 * 24 * time.Hour, "", true, false, "", 7 * 24 * time.Hour},
	}
	t.Run("comment replies and moderation have no window", func(t *testing.T) {
		for _, r := range []dmflow.Reply{{Kind: dmflow.ReplyCommentReply, Text: "hi", Comment: "c1"}, {Kind: dmflow.ReplyModerate, Action: dmflow.ModerateHide, Comment: "c1"}} {
			m := dmflow.Outgoing{To: dmflow.Recipient{ID: "u"}, Reply: r, LastInbound: now.Add(-90 * 24 * time.Hour)}
			if w := dmflow.CheckWindow(m, now); !w.OK || !r.OnComment() {
				t.Errorf("%s: %+v", r.Kind, w)
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dmflow.Outgoing{To: dmflow.Recipient{ID: "u"}, Tag: tt.tag}
			if tt.age >= 0 {
				m.LastInbound = now.Add(-tt.age)
			}
			if tt.comment {
				m.To = dmflow.Recipient{CommentID: "c1"}
			}
			w := dmflow.CheckWindow(m, now)
			if w.OK != tt.ok || w.Tag != tt.sendTag || w.Limit != tt.limit {
				t.Fatalf("CheckWindow = %+v, want ok %v tag %q limit %s", w, tt.ok, tt.sendTag, tt.limit)
			}
			err := w.Err()
			if tt.ok != (err == nil) || (!tt.ok && (!errors.Is(err, dmflow.ErrOutsideWindow) || w.Reason == "" || w.Text() == "")) {
				t.Errorf("Err() = %v, Reason %q", err, w.Reason)
			}
		})
	}
}

// TestCheckOperator: an operator's message is tagged HUMAN_AGENT exactly in
// a handed-off conversation, and CheckWindow (through CheckOperator)
// allows it for 24 h untagged, for 7 days only when handed off.
func TestCheckOperator(t *testing.T) {
	now := time.Date(2025, 1, 8, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		age       time.Duration
		handedOff bool
		ok        bool
		sendTag   string
		reason    string
	}{
		{"1h", time.Hour, false, true, "", ""},
		{"1h handed off: no tag needed", time.Hour, true, true, "", ""},
		{"25h", 25 * time.Hour, false, false, "", "not handed off"},
		{"25h handed off", 25 * time.Hour, true, true, dmflow.TagHumanAgent, ""},
		{"7d handed off", 7 * 24 * time.Hour, true, true, dmflow.TagHumanAgent, ""},
		{"8d handed off", 8 * 24 * time.Hour, true, false, "", "7 days"},
		{"8d", 8 * 24 * time.Hour, false, false, "", "not handed off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &dmflow.Session{Key: dmflow.SessionKey{Account: "a", User: "u"}, LastInbound: now.Add(-tt.age)}
			if tt.handedOff {
				s.Handoff = &dmflow.Handoff{Since: s.LastInbound, By: "admin"}
			}
			out := dmflow.OperatorOutgoing(s, dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}, "admin:1")
			if want := dmflow.OperatorTag(tt.handedOff); out.Tag != want || out.To.ID != "u" || out.LastInbound != s.LastInbound {
				t.Fatalf("OperatorOutgoing = %+v", out)
			}
			w := dmflow.CheckOperator(s, now)
			if w != dmflow.CheckWindow(out, now) && tt.ok {
				t.Fatalf("CheckOperator %+v differs from CheckWindow %+v", w, dmflow.CheckWindow(out, now))
			}
			if w.OK != tt.ok || w.Tag != tt.sendTag || !strings.Contains(w.Reason, tt.reason) {
				t.Fatalf("CheckOperator = %+v, want ok %v tag %q reason ~%q", w, tt.ok, tt.sendTag, tt.reason)
			}
		})
	}
}
