// Package orderstatus_test runs the order-status flow (through flowtest) against
// a small order API on 127.0.0.1 with the real HTTP action runner
// (bot/actions), not mocks:
// the rendered request, the secrets, the response mapping with save, and
// the error and timeout routes.
package orderstatus_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
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

// conversation is one user's conversation through flowtest, each action
// call run right away by the real HTTP runner with timeout in place of the
// flow's 5 s, its result fed back.
func conversation(t *testing.T, eng *engine.Engine, runner *actions.HTTP, timeout time.Duration) *flowtest.Conversation {
	c, err := flowtest.NewConversation(t.Context(), flowtest.Config{Engine: eng,
		Key: dmflow.SessionKey{Account: "shop", User: "ann"}, Clock: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Answer: func(ctx context.Context, call dmflow.ActionCall) (*flowtest.Mock, bool, error) {
			call.Timeout = timeout
			m, err := flowtest.MockOf(runner.Run(ctx, call))
			return m, err == nil, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// say sends text and returns the text replies (typing indicators left out).
func say(t *testing.T, c *flowtest.Conversation, text string) []string {
	t.Helper()
	o, err := c.Say(t.Context(), text)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range o.Replies {
		if r.Reply.Text != "" {
			texts = append(texts, r.Reply.Text)
		}
	}
	return texts
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
			c := conversation(t, eng, runner, timeout)
			before := len(api.seen())
			say(t, c, "hi")
			got := say(t, c, tc.order)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("replies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if c.Session().State != tc.state {
				t.Fatalf("state %s, want %s", c.Session().State, tc.state)
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
			if c.Session().Pending != nil {
				t.Fatal("the action is still pending")
			}
		})
	}
}
