package instagram_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

const (
	igSecret   = "ig-app-secret"
	metaSecret = "meta-app-secret"
)

func TestVerifier(t *testing.T) {
	body := igtest.Webhook{}.Text(acct, user, "mid.1", "hi")
	ig, meta, wrong := igtest.Webhook{Secret: igSecret}, igtest.Webhook{Secret: metaSecret}, igtest.Webhook{Secret: "nope"}
	header := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name    string
		v       instagram.Verifier
		body    []byte
		h       http.Header
		wantErr error
	}{
		{"valid", instagram.Verifier{Secrets: []string{igSecret}}, body, header("X-Hub-Signature-256", ig.Sign(body)), nil},
		{"upper-case hex", instagram.Verifier{Secrets: []string{igSecret}}, body, header("X-Hub-Signature-256", "sha256="+strings.ToUpper(strings.TrimPrefix(ig.Sign(body), "sha256="))), nil},
		{"second secret", instagram.Verifier{Secrets: []string{igSecret, metaSecret}}, body, header("X-Hub-Signature-256", meta.Sign(body)), nil},
		{"first of two", instagram.Verifier{Secrets: []string{igSecret, metaSecret}}, body, header("X-Hub-Signature-256", ig.Sign(body)), nil},
		{"wrong secret", instagram.Verifier{Secrets: []string{igSecret, metaSecret}}, body, header("X-Hub-Signature-256", wrong.Sign(body)), instagram.ErrBadSignature},
		{"forged body", instagram.Verifier{Secrets: []string{igSecret}}, append(bytes.Clone(body), ' '), header("X-Hub-Signature-256", ig.Sign(body)), instagram.ErrBadSignature},
		{"missing", instagram.Verifier{Secrets: []string{igSecret}}, body, header(), instagram.ErrNoSignature},
		{"not hex", instagram.Verifier{Secrets: []string{igSecret}}, body, header("X-Hub-Signature-256", "sha256=zz"), instagram.ErrBadSignature},
		{"no prefix", instagram.Verifier{Secrets: []string{igSecret}}, body, header("X-Hub-Signature-256", strings.TrimPrefix(ig.Sign(body), "sha256=")), instagram.ErrBadSignature},
		{"sha1 prefix in sha256 header", instagram.Verifier{Secrets: []string{igSecret}, AllowSHA1: true}, body, header("X-Hub-Signature-256", ig.SignSHA1(body)), instagram.ErrBadSignature},
		{"no secrets configured", instagram.Verifier{}, body, header("X-Hub-Signature-256", igtest.Webhook{}.Sign(body)), instagram.ErrBadSignature},
		{"empty secret ignored", instagram.Verifier{Secrets: []string{""}}, body, header("X-Hub-Signature-256", igtest.Webhook{}.Sign(body)), instagram.ErrBadSignature},
		{"sha1 refused by default", instagram.Verifier{Secrets: []string{igSecret}}, body, header("X-Hub-Signature", ig.SignSHA1(body)), instagram.ErrNoSignature},
		{"sha1 allowed", instagram.Verifier{Secrets: []string{igSecret}, AllowSHA1: true}, body, header("X-Hub-Signature", ig.SignSHA1(body)), nil},
		{"sha1 forged", instagram.Verifier{Secrets: []string{igSecret}, AllowSHA1: true}, body, header("X-Hub-Signature", wrong.SignSHA1(body)), instagram.ErrBadSignature},
		{"sha256 wins over sha1", instagram.Verifier{Secrets: []string{igSecret}, AllowSHA1: true}, body, header("X-Hub-Signature-256", wrong.Sign(body), "X-Hub-Signature", ig.SignSHA1(body)), instagram.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Verify(tt.body, tt.h)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, dmflow.ErrInvalid) {
				t.Errorf("Verify error %v does not wrap ErrInvalid", err)
			}
		})
	}
	if err := instagram.VerifySignature(body, header("X-Hub-Signature-256", meta.Sign(body)), igSecret, metaSecret); err != nil {
		t.Errorf("VerifySignature: %v", err)
	}
}

// sinkRecorder collects what the webhook hands to its sink.
type sinkRecorder struct {
	events []dmflow.Event
	calls  int
	err    error
}

func (s *sinkRecorder) sink(_ context.Context, events []dmflow.Event) error {
	s.calls++
	if s.err != nil {
		return s.err
	}
	s.events = append(s.events, events...)
	return nil
}

func newWebhook(rec *sinkRecorder) http.Handler {
	return instagram.NewWebhook(instagram.WebhookConfig{
		VerifyToken: "verify-me", AppSecrets: []string{igSecret, metaSecret}, MaxBody: 4096,
	}, rec.sink)
}

func TestWebhookHandshake(t *testing.T) {
	tests := []struct {
		query string
		code  int
		body  string
	}{
		{"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me", 200, "1158201444"},
		{"hub.mode=subscribe&hub.challenge=abc-opaque&hub.verify_token=verify-me", 200, "abc-opaque"},
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong", 403, ""},
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-m", 403, ""},    // a prefix
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=verify-me-2", 403, ""}, // longer
		{"hub.mode=subscribe&hub.challenge=1&hub.verify_token=", 403, ""},
		{"hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me", 403, ""},
		{"hub.challenge=1", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := httptest.NewRecorder()
			newWebhook(&sinkRecorder{}).ServeHTTP(w, httptest.NewRequest("GET", "/webhook?"+tt.query, nil))
			if w.Code != tt.code {
				t.Fatalf("status = %d, want %d", w.Code, tt.code)
			}
			if tt.code == 200 && (w.Body.String() != tt.body || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain")) {
				t.Errorf("body = %q (%s), want %q text/plain", w.Body.String(), w.Header().Get("Content-Type"), tt.body)
			}
		})
	}
	w := httptest.NewRecorder()
	instagram.NewWebhook(instagram.WebhookConfig{}, (&sinkRecorder{}).sink).ServeHTTP(w, httptest.NewRequest("GET", "/?hub.mode=subscribe&hub.challenge=1&hub.verify_token=", nil))
	if w.Code != 403 {
		t.Errorf("empty verify token accepted: %d", w.Code)
	}
}

func TestWebhookPost(t *testing.T) {
	ig := igtest.Webhook{Secret: igSecret}
	good := ig.Text(acct, user, "mid.1", "hello")
	big := ig.Text(acct, user, "mid.big", strings.Repeat("x", 5000))
	sinkErr := errors.New("inbox down")
	tests := []struct {
		name      string
		body      []byte
		sig       string
		sinkErr   error
		code      int
		sinkCalls int
	}{
		{"valid", good, ig.Sign(good), nil, 200, 1},
		{"meta secret", good, igtest.Webhook{Secret: metaSecret}.Sign(good), nil, 200, 1},
		{"missing signature", good, "", nil, 401, 0},
		{"forged", good, igtest.Webhook{Secret: "attacker"}.Sign(good), nil, 403, 0},
		{"oversized", big, ig.Sign(big), nil, 413, 0},
		{"malformed", []byte(`{"object":`), ig.Sign([]byte(`{"object":`)), nil, 400, 0},
		{"no events", []byte(`{"object":"instagram","entry":[]}`), ig.Sign([]byte(`{"object":"instagram","entry":[]}`)), nil, 200, 0},
		{"sink fails", good, ig.Sign(good), sinkErr, 503, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &sinkRecorder{err: tt.sinkErr}
			req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(tt.body))
			if tt.sig != "" {
				req.Header.Set("X-Hub-Signature-256", tt.sig)
			}
			w := httptest.NewRecorder()
			newWebhook(rec).ServeHTTP(w, req)
			if w.Code != tt.code || rec.calls != tt.sinkCalls {
				t.Fatalf("status %d sink calls %d, want %d and %d", w.Code, rec.calls, tt.code, tt.sinkCalls)
			}
			if tt.code == 200 && tt.sinkCalls == 1 && (len(rec.events) != 1 || rec.events[0].Text != "hello") {
				t.Errorf("sink got %+v", rec.events)
			}
		})
	}
}

func TestWebhookPassesEchoesMarked(t *testing.T) {
	ig := igtest.Webhook{Secret: igSecret}
	body := igtest.Merge(ig.Echo(acct, user, "mid.echo", "sent by agent", ""), ig.Comment(acct, acct, "acme", "c1", "m1", "own reply"))
	rec := &sinkRecorder{}
	req := ig.Request(context.Background(), "/webhook", body)
	w := httptest.NewRecorder()
	newWebhook(rec).ServeHTTP(w, req)
	if w.Code != 200 || len(rec.events) != 2 {
		t.Fatalf("status %d events %d", w.Code, len(rec.events))
	}
	if rec.events[0].Kind != dmflow.KindEcho || rec.events[0].User != user || !rec.events[1].Self {
		t.Errorf("echo/self not marked: %+v", rec.events)
	}
}

func TestWebhookMethod(t *testing.T) {
	w := httptest.NewRecorder()
	newWebhook(&sinkRecorder{}).ServeHTTP(w, httptest.NewRequest("PUT", "/webhook", nil))
	if w.Code != 405 {
		t.Errorf("PUT status %d", w.Code)
	}
}

// TestWebhookKeepsValidEventsOfMixedBatch: a signed batch with one event
// whose user id holds a NUL and one with no account is answered 200 and
// its valid event reaches the sink; the invalid ones are reported.
func TestWebhookKeepsValidEventsOfMixedBatch(t *testing.T) {
	var got []dmflow.Event
	var invalid []string
	h := instagram.NewWebhook(instagram.WebhookConfig{AppSecrets: []string{igSecret},
		OnInvalid: func(ev dmflow.Event, err error) { invalid = append(invalid, ev.User) }},
		func(_ context.Context, events []dmflow.Event) error { got = events; return nil })
	body := []byte(mixedBatch)
	req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", igtest.Webhook{Secret: igSecret}.Sign(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("status %d, want 200", w.Code)
	}
	if len(got) != 1 || got[0].User != "111" || got[0].Text != "hi" {
		t.Fatalf("sink got %+v, want the one valid message", got)
	}
	if len(invalid) != 2 {
		t.Fatalf("OnInvalid told %q, want the NUL user and the entry without an account", invalid)
	}
}
