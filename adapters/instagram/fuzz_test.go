package instagram_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

func addTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParse: Parse never panics, fails only with ErrInvalid, and every event
// it returns is addressable and keyed.
func FuzzParse(f *testing.F) {
	addTestdata(f)
	f.Add([]byte(`{"object":"instagram","entry":[{"id":1,"time":"x","messaging":[{"sender":{"id":[]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := instagram.Parse(body)
		if err != nil {
			if !errors.Is(err, dmflow.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		for _, e := range events {
			if e.Key == "" || e.Kind == "" || e.User == "" || e.Channel != "instagram" {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})
}

// mixedBatch is a signed delivery with a valid message, an event whose user
// id holds a NUL byte and an entry with no id and no recipient.
const mixedBatch = `{"object":"instagram","entry":[
 {"id":"17841400000000001","time":1,"messaging":[
  {"sender":{"id":"111"},"recipient":{"id":"17841400000000001"},"timestamp":1,"message":{"mid":"m-ok","text":"hi"}},
  {"sender":{"id":"22\u00002"},"recipient":{"id":"17841400000000001"},"timestamp":1,"message":{"mid":"m-nul","text":"x"}}]},
 {"time":1,"messaging":[{"sender":{"id":"333"},"timestamp":1,"message":{"mid":"m-noacct","text":"y"}}]}]}`

// FuzzWebhook: for any body and signature the handler answers one of the
// documented statuses, and calls the sink only for correctly signed bodies,
// with only storable events (dmflow.Event.Check), and with every storable
// event Parse found: one invalid event does not cost the batch.
func FuzzWebhook(f *testing.F) {
	addTestdata(f)
	f.Add([]byte("not json"))
	f.Add([]byte(mixedBatch))
	wh := igtest.Webhook{Secret: igSecret}
	f.Fuzz(func(t *testing.T, body []byte) {
		parsed, perr := instagram.Parse(body)
		valid := 0
		for i := range parsed {
			if parsed[i].Check() == nil {
				valid++
			}
		}
		for _, signed := range []bool{true, false} {
			var got []dmflow.Event
			called, invalid := false, 0
			h := instagram.NewWebhook(instagram.WebhookConfig{AppSecrets: []string{igSecret}, MaxBody: 1 << 16,
				OnInvalid: func(dmflow.Event, error) { invalid++ }},
				func(_ context.Context, events []dmflow.Event) error { called, got = true, events; return nil })
			req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
			sig := wh.Sign(body)
			if !signed {
				sig = igtest.Webhook{Secret: "other"}.Sign(body)
			}
			req.Header.Set("X-Hub-Signature-256", sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch {
			case !signed && (w.Code != 403 || called):
				t.Fatalf("forged body: status %d, sink called %v", w.Code, called)
			case signed && w.Code != 200 && w.Code != 400 && w.Code != 413:
				t.Fatalf("signed body: status %d", w.Code)
			case called && w.Code != 200:
				t.Fatalf("sink called but status %d", w.Code)
			}
			for i := range got {
				if err := got[i].Check(); err != nil {
					t.Fatalf("sink got an event no store can keep: %v", err)
				}
			}
			if signed && w.Code == 200 && perr == nil && (len(got) != valid || invalid != len(parsed)-valid) {
				t.Fatalf("sink got %d events, want the %d valid of %d (OnInvalid told %d)", len(got), valid, len(parsed), invalid)
			}
		}
	})
}
