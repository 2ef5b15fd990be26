package engine_test

import (
	"testing"

	"github.com/dmflow/dmflow"
)

const splitFlow = `
flow: ab
start: greet
triggers:
  - keywords: [again]
    goto: greet
states:
  greet:
    split:
      experiment: welcome_v2
      variants:
        - {name: a, weight: 50, goto: warm}
        - {name: b, weight: 50, goto: short}
  warm:
    say: [{text: "Hi there! How can I help you today? (variant {{ user.variants.welcome_v2 }})"}]
    on: [{say: [{text: "warm {{ user.variants.welcome_v2 }}"}]}]
  short:
    say: [{text: "Hi. (variant {{ user.variants.welcome_v2 }})"}]
    on: [{say: [{text: "short {{ user.variants.welcome_v2 }}"}]}]
`

// TestSplit checks A/B splits: the variant is recorded in the session and a
// notice, sticks on re-entry, is visible to expressions in the same step, a
// recorded (pinned) variant wins over the hash, and an unknown recorded
// variant is reassigned.
func TestSplit(t *testing.T) {
	e := load(t, splitFlow)
	split := e.Flow("").States["greet"].Split
	tests := []struct {
		name  string
		user  string
		pin   map[string]string // session's Variants before the first message
		want  string
		first []string
	}{
		{"user-1 hashes to a", "user-1", nil, "a", []string{"Hi there! How can I help you today? (variant a)"}},
		{"user-4 hashes to b", "user-4", nil, "b", []string{"Hi. (variant b)"}},
		{"pinned b wins over the hash", "user-1", map[string]string{"welcome_v2": "b"}, "b", []string{"Hi. (variant b)"}},
		{"unknown recorded variant is reassigned", "user-1", map[string]string{"welcome_v2": "gone", "other": "x"}, "a", []string{"Hi there! How can I help you today? (variant a)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.pin == nil && split.Pick(tt.user).Name != tt.want {
				t.Fatalf("fixture: %s hashes to %s", tt.user, split.Pick(tt.user).Name)
			}
			c := newConv(t, e)
			if tt.pin != nil {
				c.s = &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: tt.user}, Variants: tt.pin, Version: 1}
			}
			turn := c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "hi", Account: "acct", User: tt.user})
			eq(t, "replies", texts(turn), tt.first)
			eq(t, "variant", c.s.Variants["welcome_v2"], tt.want)
			assigned := 0
			for _, n := range turn.Notices {
				if n.Type == dmflow.NoticeExperimentAssigned {
					assigned++
					eq(t, "notice", n.Data, map[string]any{"experiment": "welcome_v2", "variant": tt.want, "flow": "ab", "state": "greet"})
				}
			}
			pinned := tt.pin != nil && tt.pin["welcome_v2"] == tt.want
			if want := map[bool]int{true: 0, false: 1}[pinned]; assigned != want {
				t.Errorf("experiment.assigned notices = %d, want %d", assigned, want)
			}
			if tt.pin != nil && tt.pin["other"] != "" && c.s.Variants["other"] != tt.pin["other"] {
				t.Errorf("other experiments lost: %v", c.s.Variants)
			}
			// Re-entering the split keeps the variant and notifies nothing.
			turn = c.step(dmflow.Event{Kind: dmflow.KindMessage, Text: "again", Account: "acct", User: tt.user})
			eq(t, "again", texts(turn), tt.first)
			eq(t, "notices on re-entry", notices(turn), []string{dmflow.NoticeMessageReceived, dmflow.NoticeStateEntered, dmflow.NoticeStateEntered})
			if !hasTrace(turn, "split", "assigned before") {
				t.Errorf("no trace of the kept variant:%s", traceText(turn))
			}
		})
	}
}

// TestSplitGraph checks that every variant is an edge with its share.
func TestSplitGraph(t *testing.T) {
	e := load(t, splitFlow)
	var labels []string
	for _, ed := range e.Edges("") {
		if ed.From == "greet" {
			labels = append(labels, ed.To+" "+ed.Label)
		}
	}
	eq(t, "edges", labels, []string{"warm split welcome_v2: a (50%)", "short split welcome_v2: b (50%)"})
}
