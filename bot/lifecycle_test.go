package bot_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

func TestShutdownCancelsStuckSendAndAnotherOwnerResumes(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		stuck := newSender()
		inSend := make(chan struct{}, 1)
		stuck.block = func(ctx context.Context, _ dmflow.Outgoing) error {
			inSend <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		cfg := testConfig(stuck)
		cfg.Store = st
		b1, err := newBot(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run := runBot(b1)
		ingest(t, b1, msg("u1", "1", "hi"))
		<-inSend
		sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := b1.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("shutdown with a stuck send: %v", err)
		}
		if err := <-run; err != nil {
			t.Fatalf("run: %v", err)
		}
		if b1.Ready(ctx) == nil {
			t.Fatal("ready after shutdown")
		}
		// The leases were released: a new owner delivers the reply at once.
		s := newSender()
		cfg.Sender, cfg.Owner = s, "next"
		start(t, cfg)
		if got := s.waitSent(t); got.Text != "re: hi" {
			t.Fatalf("resumed send %q", got.Text)
		}
	})
}

func TestRunStopsWithItsContext(t *testing.T) {
	b, err := newBot(testConfig(newSender()))
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(rctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run returned %v", err)
	}
	if err := b.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown after run: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for name, cfg := range map[string]bot.Config{
		"no store":          {Sender: newSender()},
		"no sender":         {Store: testConfig(nil).Store},
		"notice w/o secret": {Store: testConfig(nil).Store, Sender: newSender(), NoticeURL: "http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := bot.New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestOpsHandler(t *testing.T) {
	cfg := testConfig(newSender())
	cfg.Engine = nil
	b, err := newBot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b.OpsHandler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "no engine") {
		t.Fatalf("readyz without engine: %d %s", code, body)
	}
	b.SetEngine(&fakeEngine{})
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz with engine: %d", code)
	}
	wh := b.CountWebhooks(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("bad") != "" {
			http.Error(w, "bad signature", http.StatusUnauthorized)
		}
	}))
	for _, q := range []string{"", "", "?bad=1"} {
		rec := httptest.NewRecorder()
		wh.ServeHTTP(rec, httptest.NewRequest("POST", "/webhook"+q, nil))
	}
	b.SetTokenExpiry("acct", time.Unix(1900000000, 0))
	b.TokenRefreshFailed("acct")
	_, metrics := get("/metrics")
	for _, want := range []string{
		`dmflow_webhooks_total{code="200",result="received"} 2`,
		`dmflow_webhooks_total{code="401",result="rejected"} 1`,
		`dmflow_token_expiry_timestamp_seconds{account="acct"} 1.9e+09`,
		`dmflow_token_refresh_failures_total{account="acct"} 1`,
		`dmflow_inbox_depth 0`, `dmflow_outbox_depth_dm 0`, "dmflow_processing_seconds_bucket",
		"dmflow_end_to_end_seconds_bucket", "dmflow_events_ingested_total 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// blockingRunner is an ActionRunner whose calls wait for their context;
// it reports each call's start and how its context ended.
type blockingRunner struct {
	started chan dmflow.ActionCall
	ended   chan error
	// deadline receives how long each call had left when it started.
	deadline chan time.Duration
}

func newBlockingRunner() *blockingRunner {
	return &blockingRunner{started: make(chan dmflow.ActionCall, 4), ended: make(chan error, 4), deadline: make(chan time.Duration, 4)}
}

func (r *blockingRunner) Run(ctx context.Context, call dmflow.ActionCall) dmflow.ActionResult {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(-1) // reported as no time left
	}
	r.deadline <- time.Until(dl)
	r.started <- call
	<-ctx.Done()
	r.ended <- ctx.Err()
	return dmflow.ActionResult{Outcome: dmflow.OutcomeError, Error: ctx.Err().Error()}
}

// TestShutdownCutsRunningActionShort: Shutdown does not wait for a running
// action call. It cancels it, does not complete it (no result event), and
// releases its lease, so another owner claims it at once (before the
// action lease would have expired).
func TestShutdownCutsRunningActionShort(t *testing.T) {
	eachStore(t, func(t *testing.T, st dmflow.Store) {
		runner, s := newBlockingRunner(), newSender()
		cfg := testConfig(s)
		cfg.Store, cfg.Actions, cfg.ActionLease = st, runner, time.Hour
		b, err := newBot(cfg)
		if err != nil {
			t.Fatal(err)
		}
		run := runBot(b)
		ingest(t, b, msg("u1", "1", "act slow"))
		call := <-runner.started
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.Shutdown(sctx); err != nil {
			t.Fatalf("shutdown with a running action: %v, want nil (not waiting for it)", err)
		}
		if err := <-run; err != nil {
			t.Fatalf("run: %v", err)
		}
		if err := <-runner.ended; !errors.Is(err, context.Canceled) {
			t.Fatalf("the call's context ended with %v, want canceled", err)
		}
		if n, err := st.InboxDepth(ctx); err != nil || n != 0 {
			t.Fatalf("inbox depth after shutdown %d (%v), want 0: a cut call must not complete", n, err)
		}
		if n := metric(t, b.Metrics(), "dmflow_actions_total", "outcome", "error"); n != 0 {
			t.Fatalf("dmflow_actions_total{outcome=error} %v, want 0", n)
		}
		items, err := st.ClaimActions(ctx, dmflow.Claim{Owner: "next", Max: 10, Lease: time.Minute, Now: time.Now()})
		if err != nil || len(items) != 1 || items[0].Call.ID != call.ID || items[0].Attempts != 2 {
			t.Fatalf("another owner claimed %+v (%v), want %s on its second attempt", items, err, call.ID)
		}
	})
}

// TestActionCallEndsBeforeItsLease: each call's deadline is 90% of
// Config.ActionLease, so it ends, and is completed, while this process
// still holds the call.
func TestActionCallEndsBeforeItsLease(t *testing.T) {
	runner := newBlockingRunner()
	cfg := testConfig(newSender())
	cfg.Actions, cfg.ActionLease = runner, time.Hour
	b := start(t, cfg)
	ingest(t, b, msg("u1", "1", "act slow"))
	left := <-runner.deadline
	<-runner.started
	if left > 54*time.Minute || left < 50*time.Minute {
		t.Fatalf("a call of a 1 h action lease has %v to run, want 54 min (90%%) at most", left)
	}
}
