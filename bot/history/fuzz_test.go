package history_test

import (
	"testing"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/history"
	"github.com/dmflow/dmflow/internal/schemacheck"
)

// FuzzTranscriptRoundTrip: whatever a user or the bot wrote (YAML syntax,
// newlines, quotes, "#", leading dashes) comes back exactly when the
// recorded transcript is read, and the transcript matches its schema.
func FuzzTranscriptRoundTrip(f *testing.F) {
	for _, s := range []string{"hi", "- a: b", "#x", "'\"", "a\nb", " ", "yes", "1e3", "~", "{x: 1}", "@here", "null"} {
		f.Add(s, s+"!", "P:"+s)
	}
	sch, err := schemacheck.Compile("transcript")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in, out, payload string) {
		if !utf8.ValidString(in) || !utf8.ValidString(out) || !utf8.ValidString(payload) {
			t.Skip("event texts arrive as JSON strings: valid UTF-8")
		}
		rep := func(s string) []dmflow.Outgoing {
			return []dmflow.Outgoing{{Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: s}}}
		}
		items := []dmflow.InboxItem{
			{Seq: 1, Received: t0, Event: dmflow.Event{Kind: dmflow.KindMessage, Text: in}, Replies: rep(out)},
			{Seq: 2, Received: t0, Event: dmflow.Event{Kind: dmflow.KindMessage, Text: in, Payload: payload}, Replies: rep(out)},
		}
		b, err := history.Transcript(items, history.TranscriptOptions{Name: in})
		if err != nil {
			t.Fatal(err)
		}
		docs, err := schemacheck.Docs(b)
		if err != nil || len(docs) != 1 {
			t.Fatalf("unreadable transcript (%v):\n%s", err, b)
		}
		if err := sch.Validate(docs[0]); err != nil {
			t.Fatalf("schema: %v\n%s", err, b)
		}
		doc := docs[0].(map[string]any)
		steps := doc["steps"].([]any)
		s0, s1 := steps[0].(map[string]any), steps[1].(map[string]any)
		if payload == "" { // no payload: a plain message
			if s1["user"] != in {
				t.Fatalf("round trip lost text:\n%s", b)
			}
			s1["payload"] = map[string]any{"payload": "", "text": orNil(in)}
		}
		p := s1["payload"].(map[string]any)
		name := in
		if name == "" {
			name = "recorded conversation"
		}
		if doc["name"] != name || s0["user"] != in || s0["bot"].([]any)[0] != out || p["payload"] != payload || p["text"] != orNil(in) {
			t.Fatalf("round trip lost text:\n%s", b)
		}
	})
}

// orNil is what an omitted (empty) optional field reads back as.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
