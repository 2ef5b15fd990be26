package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/internal/testutil"
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
	if bot.VerifyNoticeSignature(body, r.Header, "hook-secret", 0) != nil {
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
	at := time.Unix(1767600000, 0)
	good := bot.SignNotice("k", at, "42", body)
	hdr := func(sig, delivery string) http.Header {
		return http.Header{bot.SignatureHeader: {sig}, bot.DeliveryHeader: {delivery}}
	}
	v1 := good[strings.Index(good, "v1="):]
	cases := []struct {
		name, sig, delivery, secret string
		body                        []byte
		now                         time.Time
		tolerance                   time.Duration
		want                        error
	}{
		{"valid", good, "42", "k", body, at, 0, nil},
		{"valid 4m59s later", good, "42", "k", body, at.Add(299 * time.Second), 0, nil},
		{"stale after 5m", good, "42", "k", body, at.Add(301 * time.Second), 0, bot.ErrNoticeStale},
		{"from the future", good, "42", "k", body, at.Add(-301 * time.Second), 0, bot.ErrNoticeStale},
		{"own tolerance", good, "42", "k", body, at.Add(time.Hour), 2 * time.Hour, nil},
		{"replayed under another delivery id", good, "43", "k", body, at, 0, bot.ErrNoticeSignature},
		{"timestamp changed", "t=1767600060," + v1, "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"wrong secret", good, "42", "other", body, at, 0, bot.ErrNoticeSignature},
		{"tampered body", good, "42", "k", []byte(`{"type":"reply.failed"}`), at, 0, bot.ErrNoticeSignature},
		{"rotated: second v1 matches", "t=1767600000,v1=00ff," + v1, "42", "k", body, at, 0, nil},
		{"no timestamp", v1, "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"short signature", "t=1767600000,v1=ab", "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"not hex", "t=1767600000,v1=zz", "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"old format", "sha256=" + v1[3:], "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"empty", "", "42", "k", body, at, 0, bot.ErrNoticeSignature},
		{"empty secret", bot.SignNotice("", at, "42", body), "42", "", body, at, 0, bot.ErrNoticeSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := bot.VerifyNoticeSignatureAt(tc.body, hdr(tc.sig, tc.delivery), tc.secret, tc.tolerance, tc.now); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNoticesDoNotFollowRedirectsToAnotherHost: a receiver that redirects
// to another host:port (307, which would re-send body and signature)
// fails the delivery; the other host never sees a request.
func TestNoticesDoNotFollowRedirectsToAnotherHost(t *testing.T) {
	var mu sync.Mutex
	var stolen int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen++
		mu.Unlock()
	}))
	defer other.Close()
	redirects := make(chan struct{}, 100)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects <- struct{}{}
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	cfg := testConfig(newSender())
	cfg.NoticeURL, cfg.NoticeSecret = first.URL, "hook-secret"
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "one"))
	for range 2 { // the first delivery and its retry: both refused
		<-redirects
	}
	mu.Lock()
	defer mu.Unlock()
	if stolen != 0 {
		t.Fatalf("the other host got %d notices", stolen)
	}
}

func ExampleVerifyNoticeSignature() {
	body := []byte(`{"type":"message.received"}`)
	// What dmflow sends in X-Dmflow-Signature and X-Dmflow-Delivery:
	h := http.Header{}
	h.Set(bot.SignatureHeader, bot.SignNotice("hook-secret", time.Now(), "7", body))
	h.Set(bot.DeliveryHeader, "7")
	fmt.Println(bot.VerifyNoticeSignature(body, h, "hook-secret", 0))
	fmt.Println(bot.VerifyNoticeSignature(body, h, "wrong", 0))
	// Output:
	// <nil>
	// bot: bad notice signature
}

// stallingRunner stalls the calls of account a until release is closed
// (its action endpoint hangs), telling started about each, and completes
// the others at once.
type stallingRunner struct {
	started chan string
	release chan struct{}
}

func (r stallingRunner) Run(ctx context.Context, c dmflow.ActionCall) dmflow.ActionResult {
	if c.Key.Account == "a" {
		r.started <- c.ID
		select {
		case <-r.release:
		case <-ctx.Done():
			return dmflow.ActionResult{ID: c.ID, Name: c.Name, Outcome: dmflow.OutcomeError, Error: ctx.Err().Error()}
		}
	}
	return dmflow.ActionResult{ID: c.ID, Name: c.Name, Outcome: dmflow.OutcomeOK, Status: 200}
}

// TestSlowActionsDoNotHoldEveryActionWorker: account a's action endpoint
// hangs while a has more calls than there are action workers. a runs at
// most its share of them (one of two here), so account b's call runs and
// its result comes back while a's calls hang. (With the workers taken in
// call order, a's calls held both and b's waited for them.)
func TestSlowActionsDoNotHoldEveryActionWorker(t *testing.T) {
	s := newSender()
	r := stallingRunner{started: make(chan string, 10), release: make(chan struct{})}
	cfg := testConfig(s)
	cfg.Actions, cfg.ActionWorkers = r, 2
	b := start(t, cfg)
	in := func(acct, user, id string) dmflow.Event {
		e := msg(user, id, "act slow")
		e.Account = acct
		return e
	}
	ingest(t, b, in("a", "u1", "a1"), in("a", "u2", "a2"), in("a", "u3", "a3"))
	testutil.Recv(t, r.started, "a's first call")
	ingest(t, b, in("b", "u1", "b1"))
	for {
		m := s.waitSent(t)
		if m.Key.Account == "a" && strings.HasPrefix(m.Text, "action") {
			t.Fatalf("a's call completed while it hangs: %+v", m)
		}
		if m.Key.Account == "b" && strings.HasPrefix(m.Text, "action ok") {
			break
		}
	}
	close(r.release)
	done := 0
	for done < 3 {
		if m := s.waitSent(t); m.Key.Account == "a" && strings.HasPrefix(m.Text, "action ok") {
			done++
		}
	}
}
