package actions_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/internal/testutil"
)

func call(method string, url ...string) dmflow.ActionCall {
	return dmflow.ActionCall{ID: "call-1", Name: "crm", Kind: "http",
		HTTP: &dmflow.HTTPRequest{Method: method, URL: text(url...), Body: json.RawMessage(`{"lead":"Ann"}`)}}
}

// text builds segments: "${NAME}" is a secret reference, "=x" the inserted
// value x, anything else literal text.
func text(parts ...string) dmflow.Text {
	var t dmflow.Text
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "${") && strings.HasSuffix(p, "}"):
			t = append(t, dmflow.Segment{Secret: p[2 : len(p)-1]})
		case strings.HasPrefix(p, "="):
			t = append(t, dmflow.Segment{Value: p[1:]})
		default:
			t = append(t, dmflow.Segment{Lit: p})
		}
	}
	return t
}

func TestHTTPOutcomes(t *testing.T) {
	big := strings.Repeat("x", actions.DefaultMaxResponse+10)
	cases := []struct {
		name    string
		method  string
		retries int
		handler http.HandlerFunc
		outcome string
		status  int
		calls   int32
	}{
		{"ok", "POST", 0, jsonReply(200, `{"id":7}`), dmflow.OutcomeOK, 200, 1},
		{"empty 204", "DELETE", 0, jsonReply(204, ``), dmflow.OutcomeOK, 204, 1},
		{"4xx keeps status and body", "POST", 3, jsonReply(422, `{"error":"bad lead"}`), dmflow.OutcomeError, 422, 1},
		{"5xx POST is not retried", "POST", 3, jsonReply(503, `{}`), dmflow.OutcomeError, 503, 1},
		{"5xx GET is retried", "GET", 2, jsonReply(500, `{}`), dmflow.OutcomeError, 500, 3},
		{"oversized", "GET", 0, jsonReply(200, `"`+big+`"`), dmflow.OutcomeInvalid, 200, 1},
		{"malformed", "GET", 0, jsonReply(200, `{"id":`), dmflow.OutcomeInvalid, 200, 1},
		{"timeout", "GET", 1, func(w http.ResponseWriter, r *http.Request) { mustRead(r.Body); <-r.Context().Done() }, dmflow.OutcomeTimeout, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				tc.handler(w, r)
			}))
			defer srv.Close()
			// The "timeout" handler holds the request until the client gives
			// up, so its timeout always fires (the second only lets the
			// request reach the handler and be counted first). Every other
			// case gets a deadline no busy machine reaches: a 1 MiB response
			// must come out "invalid", not race a short timeout.
			timeout := testutil.Scale(testutil.Wait)
			if tc.outcome == dmflow.OutcomeTimeout {
				timeout = testutil.Scale(time.Second)
			}
			h := &actions.HTTP{Timeout: timeout, RetryBase: time.Millisecond}
			c := call(tc.method, srv.URL)
			c.Retries = tc.retries
			res := h.Run(context.Background(), c)
			if res.Outcome != tc.outcome || res.Status != tc.status || res.ID != "call-1" {
				t.Fatalf("result %+v, want outcome %s status %d", res, tc.outcome, tc.status)
			}
			if calls.Load() != tc.calls {
				t.Fatalf("server saw %d requests, want %d", calls.Load(), tc.calls)
			}
			if tc.outcome == dmflow.OutcomeOK && tc.status == 200 && string(res.Body) != `{"id":7}` {
				t.Fatalf("body %s", res.Body)
			}
			if tc.status == 422 && string(res.Body) != `{"error":"bad lead"}` {
				t.Fatalf("error body %s", res.Body)
			}
		})
	}
}

func TestHTTPRetryRecovers(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		jsonReply(200, `{"ok":true}`)(w, r)
	}))
	defer srv.Close()
	c := call("PUT", srv.URL)
	c.Retries = 2
	res := (&actions.HTTP{RetryBase: time.Millisecond}).Run(context.Background(), c)
	if res.Outcome != dmflow.OutcomeOK || calls.Load() != 2 {
		t.Fatalf("result %+v after %d calls", res, calls.Load())
	}
}

func TestHTTPRequestCarriesSecretsAndIdempotencyKey(t *testing.T) {
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r.Header.Clone(), mustRead(r.Body)
		jsonReply(200, `{}`)(w, r)
	}))
	defer srv.Close()
	c := call("POST", srv.URL)
	c.HTTP.Headers = map[string]dmflow.Text{"Authorization": text("Bearer ", "${CRM_TOKEN}"), "X-Env": text("${FROM_ENV}", "-x")}
	h := &actions.HTTP{Secrets: map[string]string{"CRM_TOKEN": "s3cret"},
		LookupEnv: func(n string) (string, bool) { return "envval", n == "FROM_ENV" }}
	if res := h.Run(context.Background(), c); res.Outcome != dmflow.OutcomeOK {
		t.Fatalf("result %+v", res)
	}
	for name, want := range map[string]string{"Authorization": "Bearer s3cret", "X-Env": "envval-x",
		"Idempotency-Key": "call-1", "Content-Type": "application/json"} {
		if got.Get(name) != want {
			t.Errorf("header %s = %q, want %q", name, got.Get(name), want)
		}
	}
	if string(body) != `{"lead":"Ann"}` {
		t.Errorf("body %s", body)
	}
	if c.HTTP.Headers["Authorization"].String() != "Bearer ${CRM_TOKEN}" {
		t.Error("the call was modified with the resolved secret")
	}
}

func TestHTTPRefusesBadCalls(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	unknown := call("POST", srv.URL)
	unknown.HTTP.Headers = map[string]dmflow.Text{"Authorization": text("${NOPE}")}
	badHeader := call("POST", srv.URL)
	badHeader.HTTP.Headers = map[string]dmflow.Text{"X-A": text("a\r\nX-Injected: 1")}
	badName := call("POST", srv.URL)
	badName.HTTP.Headers = map[string]dmflow.Text{"X A": text("a")}
	for name, c := range map[string]dmflow.ActionCall{
		"unknown secret":   unknown,
		"CR LF in header":  badHeader,
		"bad header name":  badName,
		"value in host":    call("GET", "http://127.0.0.1", "=:1/x"),
		"value as host":    call("GET", "=http://127.0.0.1/"),
		"value after base": call("GET", "${OTHER}", "=/x"),
		"space in secret":  call("GET", "${SPACED}", "=x"),
		"space in literal": call("GET", srv.URL+"/a b/", "=x"),
		"relative URL":     call("POST", "/hook"),
		"ftp URL":          call("GET", "ftp://127.0.0.1/x"),
		"no request":       {ID: "call-1", Kind: "http"},
	} {
		t.Run(name, func(t *testing.T) {
			res := (&actions.HTTP{Secrets: map[string]string{"OTHER": "hidden", "SPACED": srv.URL + "/hidden dir/"}}).Run(context.Background(), c)
			if res.Outcome != dmflow.OutcomeError || res.Error == "" || strings.Contains(res.Error, "hidden") {
				t.Fatalf("result %+v", res)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("bad calls reached the server %d times", calls.Load())
	}
}

func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

func TestHTTPResolvesSecretsInTheURL(t *testing.T) {
	var gotPath, gotKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotKey = r.URL.Path, r.URL.Query().Get("key")
		jsonReply(200, `{}`)(w, r)
	}))
	defer srv.Close()
	// A value arrives encoded for its place (dmflow.Segment.Value): the
	// engine wrote ${NOT_A_REF} as %24%7BNOT_A_REF%7D; it is sent, never
	// resolved.
	c := call("POST", "${LEADS_URL}", "/leads/", "=%24%7BNOT_A_REF%7D", "?key=", "${API_KEY}")
	h := &actions.HTTP{Secrets: map[string]string{"LEADS_URL": srv.URL + "/v1", "NOT_A_REF": "hidden"},
		LookupEnv: func(n string) (string, bool) { return "k3y", n == "API_KEY" }}
	if res := h.Run(context.Background(), c); res.Outcome != dmflow.OutcomeOK {
		t.Fatalf("result %+v", res)
	}
	if gotPath != "/v1/leads/${NOT_A_REF}" || gotKey != "k3y" {
		t.Fatalf("path %q key %q", gotPath, gotKey)
	}
	if c.HTTP.URL.String() != "${LEADS_URL}/leads/%24%7BNOT_A_REF%7D?key=${API_KEY}" || c.HTTP.URL[2].Value != "%24%7BNOT_A_REF%7D" {
		t.Fatalf("the call was modified: %+v", c.HTTP.URL)
	}
	missing := call("GET", "https://127.0.0.1/x?key=", "${MISSING}")
	res := h.Run(context.Background(), missing)
	if res.Outcome != dmflow.OutcomeError || res.Error != "url: unknown secret ${MISSING}" {
		t.Fatalf("result %+v", res)
	}
}

// TestHTTPErrorsRedactSecrets: a transport error names the host, the
// port or the address, which may come from a secret; the result's error
// shows the reference instead.
func TestHTTPErrorsRedactSecrets(t *testing.T) {
	// The dialer fails the way a failed lookup does, without a network.
	noDNS := &http.Transport{DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}}
	h := &actions.HTTP{Client: &http.Client{Transport: noDNS}, Secrets: map[string]string{
		"HOST": "k3y-host-9f2e.invalid", "BASE": "http://k3y-base.invalid:1", "KEY": "k3y-9f2e"}}
	for name, tc := range map[string]struct {
		url  dmflow.Text
		want string
	}{
		"secret host":     {text("http://", "${HOST}", "/x?key=", "${KEY}"), "${HOST}"},
		"secret base URL": {text("${BASE}", "/x/", "${KEY}"), "${BASE}"},
	} {
		t.Run(name, func(t *testing.T) {
			c := call("GET", "")
			c.HTTP.URL = tc.url
			res := h.Run(context.Background(), c)
			if res.Outcome != dmflow.OutcomeError || !strings.Contains(res.Error, tc.want) {
				t.Fatalf("result %+v, want an error naming %s", res, tc.want)
			}
			for _, s := range []string{"k3y", "invalid"} {
				if strings.Contains(res.Error, s) {
					t.Fatalf("error %q shows %q", res.Error, s)
				}
			}
		})
	}
}

// TestRetryDelaysStayWithinMaxRetryDelay: flows allow 10 retries, whose
// delays must add at most 10 s to a call (the bot's action lease counts on
// it), whatever RetryBase.
func TestRetryDelaysStayWithinMaxRetryDelay(t *testing.T) {
	for _, base := range []time.Duration{0, 200 * time.Millisecond, 5 * time.Second} {
		h := &actions.HTTP{RetryBase: base}
		var total time.Duration
		for attempt := range 10 {
			d := h.Backoff(attempt)
			if d <= 0 || d > actions.MaxRetryDelay {
				t.Fatalf("RetryBase %v: delay before retry %d is %v, want (0, %v]", base, attempt+1, d, actions.MaxRetryDelay)
			}
			total += d
		}
		if total > 10*actions.MaxRetryDelay {
			t.Fatalf("RetryBase %v: 10 retries wait %v in all", base, total)
		}
	}
}

// TestHTTPRedirects: the API redirects; a redirect to another host:port
// (a second server on 127.0.0.1) is not followed and is outcome "error"
// with its status, so the secret header, the secret in the URL and the
// body never reach the other server; a same-host redirect is followed
// (a 307 re-sending the body) without Referer.
func TestHTTPRedirects(t *testing.T) {
	var mu sync.Mutex
	var stolen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		stolen = append(stolen, r.URL.String()+" "+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		jsonReply(200, `{}`)(w, r)
	}))
	defer other.Close()
	var final struct{ referer, key, body, query string }
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/final":
			mu.Lock()
			final.referer, final.key, final.body, final.query = r.Header.Get("Referer"), r.Header.Get("X-Api-Key"), string(mustRead(r.Body)), r.URL.Query().Get("key")
			mu.Unlock()
			jsonReply(200, `{"ok":true}`)(w, r)
		case "/same":
			http.Redirect(w, r, "/final?key="+r.URL.Query().Get("key"), http.StatusTemporaryRedirect)
		default: // "/away/<status>"
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/away/"))
			http.Redirect(w, r, other.URL+"/steal", code)
		}
	}))
	defer api.Close()
	h := &actions.HTTP{Secrets: map[string]string{"KEY": "k3y-secret", "API": api.URL}}
	run := func(path string) dmflow.ActionResult {
		c := call("POST", "${API}", path+"?key=", "${KEY}")
		c.HTTP.Headers = map[string]dmflow.Text{"X-Api-Key": text("${KEY}")}
		return h.Run(context.Background(), c)
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		res := run("/away/" + strconv.Itoa(code))
		if res.Outcome != dmflow.OutcomeError || res.Status != code || res.Error != "status "+strconv.Itoa(code) {
			t.Errorf("redirect %d to another host: result %+v, want outcome error with the status", code, res)
		}
	}
	if res := run("/same"); res.Outcome != dmflow.OutcomeOK {
		t.Fatalf("same-host redirect: result %+v", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if final.referer != "" || final.key != "k3y-secret" || final.query != "k3y-secret" || final.body != `{"lead":"Ann"}` {
		t.Errorf("after a same-host 307: %+v", final)
	}
	if len(stolen) != 0 {
		t.Errorf("the other host got %q", stolen)
	}
}
