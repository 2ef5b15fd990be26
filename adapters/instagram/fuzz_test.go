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

// FuzzWebhook: for any body and signature the handler answers one of the
// documented statuses, and calls the sink only for correctly signed bodies.
func FuzzWebhook(f *testing.F) {
	addTestdata(f)
	f.Add([]byte("not json"))
	wh := igtest.Webhook{Secret: igSecret}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, signed := range []bool{true, false} {
			called := false
			h := instagram.NewWebhook(instagram.WebhookConfig{AppSecrets: []string{igSecret}, MaxBody: 1 << 16},
				func(_ context.Context, events []dmflow.Event) error { called = true; return nil })
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
		}
	})
}
