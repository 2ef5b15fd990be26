package igtest_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

const (
	acct = "17841400000000001"
	user = "6543210987654321"
)

// TestBuildersParse checks that every builder produces a body the adapter
// normalizes to the intended kind and key.
func TestBuildersParse(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	w := igtest.Webhook{Secret: "s", Now: func() time.Time { return now }}
	ts := "1793534400000"
	tests := []struct {
		name string
		body []byte
		kind dmflow.EventKind
		key  string
	}{
		{"text", w.Text(acct, user, "m1", "hi"), dmflow.KindMessage, "m:m1"},
		{"quick reply", w.QuickReply(acct, user, "m2", "Pro", "PRO"), dmflow.KindMessage, "m:m2"},
		{"image", w.Attachment(acct, user, "m3", "image", "https://cdn/x.jpg"), dmflow.KindMessage, "m:m3"},
		{"ig_reel", w.Attachment(acct, user, "m4", "ig_reel", "https://cdn/r"), dmflow.KindMessage, "m:m4"},
		{"inline reply", w.InlineReply(acct, user, "m5", "m1", "this"), dmflow.KindMessage, "m:m5"},
		{"story reply", w.StoryReply(acct, user, "m6", "st1", "https://cdn/s", "wow"), dmflow.KindMessage, "m:m6"},
		{"ad referral", w.AdReferral(acct, user, "m7", "hi", "ad1", "spring"), dmflow.KindMessage, "m:m7"},
		{"postback", w.Postback(acct, user, "m8", "Track", "TRACK"), dmflow.KindPostback, "pb:m8"},
		{"react", w.Reaction(acct, user, "m1", "love"), dmflow.KindReaction, "r:m1:react:love:" + user},
		{"unreact", w.Reaction(acct, user, "m1", ""), dmflow.KindReaction, "r:m1:unreact::" + user},
		{"read", w.Read(acct, user, "m1"), dmflow.KindRead, "read:m1:" + user},
		{"referral", w.Referral(acct, user, "qr"), dmflow.KindReferral, "ref:" + user + ":" + ts + ":qr"},
		{"edit", w.Edit(acct, user, "m1", "new", 1), dmflow.KindEdit, "edit:m1:1"},
		{"delete", w.Delete(acct, user, "m1"), dmflow.KindDelete, "del:m1"},
		{"unsupported", w.Unsupported(acct, user, "m9"), dmflow.KindUnsupported, "m:m9"},
		{"optin", w.Optin(acct, user, "DEALS"), dmflow.KindOptin, "opt:" + user + ":" + ts},
		{"handover", w.Handover(acct, user, "pass", "1", "2"), dmflow.KindHandover, "ho:" + user + ":" + ts},
		{"standby", w.Standby(acct, user, "m10", "hey"), dmflow.KindMessage, "m:m10"},
		{"echo", w.Echo(acct, user, "m11", "sent", "42"), dmflow.KindEcho, "echo:m11"},
		{"comment", w.Comment(acct, user, "jane", "c1", "media1", "price?"), dmflow.KindComment, "c:c1"},
		{"live comment", w.LiveComment(acct, user, "jane", "c2", "live1", "hi"), dmflow.KindComment, "c:c2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := instagram.Parse(tt.body)
			if err != nil || len(events) != 1 {
				t.Fatalf("Parse = %d events, %v", len(events), err)
			}
			e := events[0]
			if e.Kind != tt.kind || e.Key != tt.key || e.Account != acct || e.User != user {
				t.Errorf("got kind %q key %q account %q user %q", e.Kind, e.Key, e.Account, e.User)
			}
			if !e.Time.Equal(now) {
				t.Errorf("time %v, want %v", e.Time, now)
			}
		})
	}
}

func TestMergeAndSign(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) // whole second: comments carry seconds
	w := igtest.Webhook{Secret: "s", Now: func() time.Time { return now }}
	body := igtest.Merge(w.Text(acct, user, "a", "1"), w.Text(acct, "other", "b", "2"), w.Comment(acct, user, "j", "c", "m", "x"))
	events, err := instagram.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range events {
		keys = append(keys, e.Key)
	}
	if !reflect.DeepEqual(keys, []string{"m:a", "m:b", "c:c"}) {
		t.Errorf("keys %q", keys)
	}
	req := w.Request(t.Context(), "http://127.0.0.1/webhook", body)
	if err := instagram.VerifySignature(body, req.Header, "s"); err != nil {
		t.Errorf("signed request does not verify: %v", err)
	}
	if err := (instagram.Verifier{Secrets: []string{"s"}, AllowSHA1: true}).Verify(body, map[string][]string{"X-Hub-Signature": {w.SignSHA1(body)}}); err != nil {
		t.Errorf("sha1 signature does not verify: %v", err)
	}
}
