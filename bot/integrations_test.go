package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/actions"
)

func TestActionResultsComeBackThroughTheInbox(t *testing.T) {
	s := newSender()
	reg := actions.NewRegistry()
	calls := make(chan dmflow.ActionCall, 1)
	if err := reg.Register("lookup", func(_ context.Context, c dmflow.ActionCall) (map[string]any, error) {
		calls <- c
		return map[string]any{"tier": "gold"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(s)
	cfg.Actions = actions.Runner{Go: reg}
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "act lookup"))
	if got := s.waitSent(t); got.Text != "calling" {
		t.Fatalf("sent %q", got.Text)
	}
	if c := <-calls; c.ID != "call-m:1" || c.Key != key("u1") {
		t.Fatalf("call %+v", c)
	}
	if got := s.waitSent(t); got.Text != `action ok {"tier":"gold"}` {
		t.Fatalf("sent %q", got.Text)
	}
	if n := metric(t, b.Metrics(), "dmflow_actions_total", "outcome", "ok"); n != 1 {
		t.Fatalf("actions metric %v", n)
	}
}

func TestActionWithoutRunnerReportsError(t *testing.T) {
	s := newSender()
	b := start(t, testConfig(s))
	ingest(t, b, msg("u1", "1", "act lookup"))
	s.waitSent(t)
	if got := s.waitSent(t); got.Text != "action error " {
		t.Fatalf("sent %q", got.Text)
	}
}

// noticeSink is an outgoing-webhook receiver that checks signatures.
type noticeSink struct {
	mu      sync.Mutex
	got     []dmflow.Notice
	badSigs int
	fail    int // answer 500 to this many requests first
	ch      chan dmflow.Notice
}

func (n *noticeSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n.mu.Lock()
	defer n.mu.Unlock()
	if !bot.VerifyNoticeSignature(body, r.Header.Get(bot.SignatureHeader), "hook-secret") {
		n.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if n.fail > 0 {
		n.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var no dmflow.Notice
	if err := json.Unmarshal(body, &no); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n.got = append(n.got, no)
	n.ch <- no
}

func TestNoticesArePostedSignedInOrderWithRetries(t *testing.T) {
	sink := &noticeSink{fail: 2, ch: make(chan dmflow.Notice, 100)}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	s := newSender()
	cfg := testConfig(s)
	cfg.NoticeURL, cfg.NoticeSecret = srv.URL, "hook-secret"
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "one"), msg("u1", "2", "two"))
	var types []string
	for len(types) < 4 {
		no := <-sink.ch
		types = append(types, no.Type+" "+no.Cause)
	}
	// message.received comes from the engine's commit; reply.sent from the acknowledgement.
	received := slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s[:7] == "reply.s" })
	if !slices.Equal(received, []string{"message.received m:1", "message.received m:2"}) {
		t.Fatalf("notices %q", types)
	}
	sent := slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s[:7] != "reply.s" })
	if !slices.Equal(sent, []string{"reply.sent echo:mid.u1.re: one", "reply.sent echo:mid.u1.re: two"}) {
		t.Fatalf("reply.sent notices %q", sent)
	}
	if n := metric(t, b.Metrics(), "dmflow_deliveries_total", "queue", "notices", "result", "retried"); n != 2 {
		t.Fatalf("notice retries %v", n)
	}
	if sink.badSigs != 0 {
		t.Fatalf("%d notices had a bad signature", sink.badSigs)
	}
}

func TestVerifyNoticeSignature(t *testing.T) {
	body := []byte(`{"type":"reply.sent"}`)
	good := bot.SignNotice(body, "k")
	cases := []struct {
		name, header, secret string
		body                 []byte
		want                 bool
	}{
		{"valid", good, "k", body, true},
		{"wrong secret", good, "other", body, false},
		{"tampered body", good, "k", []byte(`{"type":"reply.failed"}`), false},
		{"no prefix", good[len("sha256="):], "k", body, false},
		{"not hex", "sha256=zz", "k", body, false},
		{"empty", "", "k", body, false},
		{"empty secret", bot.SignNotice(body, ""), "", body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.VerifyNoticeSignature(tc.body, tc.header, tc.secret); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func ExampleVerifyNoticeSignature() {
	body := []byte(`{"type":"message.received"}`)
	header := bot.SignNotice(body, "hook-secret") // what dmflow sends in X-Dmflow-Signature-256
	fmt.Println(bot.VerifyNoticeSignature(body, header, "hook-secret"))
	fmt.Println(bot.VerifyNoticeSignature(body, header, "wrong"))
	// Output:
	// true
	// false
}
