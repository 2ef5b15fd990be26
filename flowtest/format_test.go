package flowtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTranscriptErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown key", "steps:\n  - user: hi\n    bott: [x]\n", "t.test.yaml:3:5: unknown step key \"bott\""},
		{"two inputs", "steps:\n  - user: hi\n    tap: Go\n", "t.test.yaml:3:10: step has two inputs (user and tap)"},
		{"no steps", "name: x\n", "t.test.yaml:1:1: transcript has no steps"},
		{"bad advance", "steps:\n  - advance: soon\n", "t.test.yaml:2:14: advance: want a positive duration"},
		{"bad admin", "steps:\n  - admin: move\n", "t.test.yaml:2:12: admin: move needs a state"},
		{"bad regexp", "steps:\n  - user: hi\n    bot: [{text_matches: \"(\"}]\n", "t.test.yaml:3:26: bad regexp"},
		{"bad chip key", "steps:\n  - user: hi\n    bot: [{quick_replies: [{titel: A}]}]\n", "t.test.yaml:3:29: unknown chip key \"titel\""},
		{"bad outcome", "steps:\n  - user: hi\n    mock: {a: {outcome: maybe}}\n", "t.test.yaml:3:15: mock outcome \"maybe\""},
		{"bad clock", "clock: tomorrow\nsteps:\n  - user: hi\n", "t.test.yaml:1:8: clock: want RFC 3339"},
		{"empty step", "steps:\n  - {}\n", "t.test.yaml:2:5: empty step"},
		{"unknown channel", "channel: telegram\nsteps:\n  - user: hi\n", `t.test.yaml:1:10: channel: "telegram" is not a channel (known: test, instagram, messenger)`},
		{"empty locale", "locale: ''\nsteps:\n  - user: hi\n", "t.test.yaml:1:9: locale: want a locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTranscripts("t.test.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzParseTranscripts: any input yields transcripts or an error, never a panic.
func FuzzParseTranscripts(f *testing.F) {
	for _, p := range []string{"good/pass.test.yaml", "failing/fail.test.yaml"} {
		if src, err := os.ReadFile(filepath.Join("../cli/testdata/author", p)); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("steps:\n  - tap: {a: b}\n    bot: [{cards: [{buttons: [x, {title: y}]}]}]\n"))
	f.Add([]byte("steps:\n  - event: {kind: edit}\n    mock: {a: {outcome: ok, body: [1]}}\n"))
	f.Add([]byte("steps:\n  - handover: pass\n    bot: [{thread: take}]\n  - standby: hi\n    handoff: true\n"))
	f.Add([]byte("steps:\n  - comment: {text: PRICE, caption: c, permalink: p}\n    bot: [{public_reply: x}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ts, err := parseTranscripts("f.test.yaml", src)
		if err == nil && len(ts) == 0 {
			t.Fatal("no transcripts and no error")
		}
	})
}
