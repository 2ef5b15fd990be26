package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

const chatActionFlow = `flow: orders
start: ask
vars: {order: string, status: string, code: int}
states:
  ask:
    say: [{text: "Order number?"}]
    ask: {var: order}
    next: lookup
  lookup:
    action:
      name: lookup_order
      http:
        url: "${ORDERS_API}/orders/{{ order }}"
        headers: {Authorization: "Bearer ${ORDERS_TOKEN}"}
      timeout: 2s
      save: {status: 'string(response.body.status ?? "")', code: response.status}
      next: show
      on_error: failed
  show:
    say: [{text: "{{ order }} is {{ status }}."}]
    next: ask
  failed:
    say: [{text: "Lookup failed ({{ code }})."}]
    next: ask
`

// chatWith runs dmflow chat in-process with an environment.
func chatWith(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"chat", "--now", "2025-01-06T09:00:00Z"}, args...),
		IO{In: strings.NewReader(stdin), Out: &out, Err: &errb,
			Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	return code, out.String(), errb.String()
}

func TestChatActionsReal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/orders/A1":
			w.Write([]byte(`{"status":"shipped"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"not found"}`))
		}
	}))
	defer srv.Close()
	flow := writeFile(t, "orders.yaml", chatActionFlow)
	env := map[string]string{"DMFLOW_SECRET_ORDERS_API": srv.URL, "DMFLOW_SECRET_ORDERS_TOKEN": "tok"}
	code, out, errs := chatWith(t, "hi\nA1\nB2\n", env, "--actions", "real", flow)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"bot: A1 is shipped.\nbot: Order number?\n-- action lookup_order: GET ${ORDERS_API}/orders/A1 → ok 200\n",
		"bot: Lookup failed (404).\nbot: Order number?\n-- action lookup_order: GET ${ORDERS_API}/orders/B2 → error 404 (status 404)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tok") || strings.Contains(out, srv.URL) {
		t.Errorf("a resolved secret is shown:\n%s", out)
	}
}

func TestChatActionsMockAndManual(t *testing.T) {
	flow := writeFile(t, "orders.yaml", chatActionFlow)
	mocks := writeFile(t, "mocks.yaml", "lookup_order: {status: delivered}\n")
	code, out, errs := chatWith(t, "hi\nA1\n", nil, "--mock", mocks, flow)
	if code != exitOK || errs != "" || !strings.Contains(out, "bot: A1 is delivered.\nbot: Order number?\n-- action lookup_order: GET ${ORDERS_API}/orders/A1 → mocked ok\n") {
		t.Fatalf("mock: exit %d, stderr %q\n%s", code, errs, out)
	}
	// Without a mock, manual mode leaves the call to /result; real mode
	// does the same for the calls it cannot make (no server is needed).
	code, out, errs = chatWith(t, "hi\nA1\n/result error\n", nil, flow)
	if code != exitOK || errs != "" || !strings.Contains(out, "answer with /result") || !strings.Contains(out, "Lookup failed (500).") {
		t.Fatalf("manual: exit %d, stderr %q\n%s", code, errs, out)
	}
}

func TestChatActionsUsage(t *testing.T) {
	flow := writeFile(t, "orders.yaml", chatActionFlow)
	bad := writeFile(t, "mocks.yaml", "lookup_order: {outcome: maybe}\n")
	for name, args := range map[string][]string{
		"bad mode":     {"--actions", "live", flow},
		"missing mock": {"--mock", filepath.Join(t.TempDir(), "nope.yaml"), flow},
		"bad mock":     {"--mock", bad, flow},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, errs := chatWith(t, "", nil, args...); code != exitUsage || errs == "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
	if _, _, errs := chatWith(t, "", nil, "--mock", bad, flow); !strings.Contains(errs, "mocks.yaml:1:15:") {
		t.Errorf("no position: %q", errs)
	}
}
