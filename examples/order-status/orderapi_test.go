// Package orderstatus_test runs the order-status flow against a small order
// API on 127.0.0.1 with the real HTTP action runner (bot/actions), not mocks:
// the rendered request, the secrets, the response mapping with save, and
// the error and timeout routes.
package orderstatus_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/internal/testutil"
)

// orderAPI is the shop's order API: GET /api/orders/{id} with a bearer
// token. A12345 is shipped; A55555 hangs (until the client gives up);
// anything else is 404.
type orderAPI struct {
	mu       sync.Mutex
	requests []string
}

func (a *orderAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.Path+" key="+r.Header.Get("Idempotency-Key"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	id, _ := strings.CutPrefix(r.URL.Path, "/api/orders/")
	switch {
	case r.Header.Get("Authorization") != "Bearer s3cret":
		w.WriteHeader(http.StatusUnauthorized)
	case id == "A12345":
		json.NewEncoder(w).Encode(map[string]string{"status": "shipped", "eta": "Friday"})
	case id == "A55555":
		<-r.Context().Done()
	default:
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"no such order"}`))
	}
}

func (a *orderAPI) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}

// bot is one user's conversation: the engine's steps, each action call run
// right away by the HTTP runner and its result fed back.
type bot struct {
	t *testing.T
	// timeout replaces the flow's 5 s action timeout.
	timeout time.Duration
	eng     *engine.Engine
	runner  *actions.HTTP
	s       *dmflow.Session
	now     time.Time
	n       int
}

func (b *bot) step(ev dmflow.Event) []string {
	b.t.Helper()
	ev.Account, ev.User, ev.Time = "shop", "ann", b.now
	turn, err := b.eng.Step(context.Background(), b.s, ev, b.now)
	if err != nil {
		b.t.Fatal(err)
	}
	b.s = turn.Session
	b.s.Version++ // as a store commit would
	var texts []string
	for _, r := range turn.Replies {
		if r.Reply.Text != "" {
			texts = append(texts, r.Reply.Text)
		}
	}
	for _, call := range turn.Actions {
		call.Timeout = b.timeout
		res := b.runner.Run(context.Background(), call)
		texts = append(texts, b.step(dmflow.Event{Key: "action:" + call.ID, Kind: dmflow.KindActionResult, Action: &res})...)
	}
	return texts
}

func (b *bot) say(text string) []string {
	b.n++
	return b.step(dmflow.Event{Key: "m" + strconv.Itoa(b.n), Kind: dmflow.KindMessage, Text: text})
}

func TestOrderAPI(t *testing.T) {
	bundle, err := flows.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(bundle, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := &orderAPI{}
	srv := httptest.NewServer(api) // 127.0.0.1
	defer srv.Close()
	runner := &actions.HTTP{RetryBase: time.Millisecond,
		Secrets: map[string]string{"ORDERS_API": srv.URL + "/api", "ORDERS_TOKEN": "s3cret"}}

	cases := []struct {
		name, order string
		want        []string
		state       string
		requests    int
	}{
		{"found", " a12345 ", []string{"Order A12345 is shipped.", "Expected delivery: Friday.", "Anything else?"}, "show_status", 1},
		{"404 takes on_error", "A99999", []string{"I couldn't find order A99999. Want to try another number?"}, "not_found", 1},
		{"timeout takes on_timeout after the GET's retries", "A55555", []string{
			"Our order system is slow right now, so I've asked a colleague to look A55555 up for you.",
			"A person from our team will reply here shortly."}, "agent", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A55555 hangs until the client gives up, so its timeout always
			// fires (the second lets each retry reach the API and be
			// counted first); the others must never race a short timeout.
			timeout := testutil.Scale(testutil.Wait)
			if tc.state == "agent" {
				timeout = testutil.Scale(time.Second)
			}
			b := &bot{t: t, timeout: timeout, eng: eng, runner: runner, now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
			before := len(api.seen())
			b.say("hi")
			got := b.say(tc.order)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("replies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if b.s.State != tc.state {
				t.Fatalf("state %s, want %s", b.s.State, tc.state)
			}
			reqs := api.seen()[before:]
			if len(reqs) != tc.requests {
				t.Fatalf("requests %q, want %d", reqs, tc.requests)
			}
			id := strings.ToUpper(strings.TrimSpace(tc.order))
			for _, r := range reqs { // one idempotency key across retries
				if !strings.HasPrefix(r, "GET /api/orders/"+id+" key=a:") || r != reqs[0] {
					t.Fatalf("requests %q", reqs)
				}
			}
			if b.s.Pending != nil {
				t.Fatal("the action is still pending")
			}
		})
	}
}
