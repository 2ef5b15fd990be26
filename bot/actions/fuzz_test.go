package actions_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// fuzzFlow splits what the user types at "|" into a and b and inserts
// them, alone, side by side and after a literal "$", into an HTTP action's
// path, query, fragment, headers and JSON body. The literal text names
// the secrets HOST, API_KEY (once) and TOKEN (twice).
const fuzzFlow = `
flow: f
start: hello
vars: {a: string, b: string}
states:
  hello: {say: [{text: hi}], next: ask}
  ask:
    on:
      - set: {a: 'split(event.text + "|", "|")[0]', b: 'split(event.text + "|", "|")[1]'}
        goto: call
  call:
    action:
      http:
        method: POST
        url: "http://${HOST}/orders/{{ a }}/price/${{ b }}?q={{ a }}{{ b }}&key=${API_KEY}#{{ b }}"
        headers: {Authorization: "Bearer ${TOKEN}", X-Pair: "{{ a }}{{ b }}", X-Dollar: "${{ a }}", X-Mixed: "{{ b }}${TOKEN}{{ a }}"}
        body: '{"a": a, "b": b, "ab": a + b}'
      next: done
  done: {end: true}
`

// FuzzRequestLeaksNoSecret renders the flow's request from any user input
// with the engine and sends it with the runner to a server on 127.0.0.1
// that captures the whole request. Every secret gets a fresh random value
// per run, so the input cannot know it. The request must carry no value
// of a secret the flow's literal text does not name (APIKEY, SECRET, …),
// each named one exactly as often as the literal text names it, and the
// URL must keep its shape: the host, five path segments, the query keys q
// and key (item 2: an insertion can't add segments or parameters).
func FuzzRequestLeaksNoSecret(f *testing.F) {
	for _, seed := range []string{"A12345|x", "$|{APIKEY}", "{APIKEY}|{SECRET}", "${APIKEY}|${TOKEN}",
		"A12345/../../admin?role=admin#frag|..", "a\r\nX-Injected: 1|\x00", "..|.", "%24%7BAPIKEY%7D|%2F", "@evil.example:80|//evil"} {
		f.Add(seed)
	}
	b, err := flows.LoadFS(fstest.MapFS{"f.yaml": {Data: []byte(fuzzFlow)}}, "f.yaml")
	if err != nil {
		f.Fatal(err)
	}
	eng, err := engine.New(b, &engine.Options{NoTrace: true, NoNotices: true})
	if err != nil {
		f.Fatal(err)
	}
	var mu sync.Mutex
	var dump []byte
	var path string
	var query map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := httputil.DumpRequest(r, true)
		mu.Lock()
		dump, path, query = d, r.URL.EscapedPath(), r.URL.Query()
		mu.Unlock()
		jsonReply(200, `{}`)(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	named := map[string]int{"API_KEY": 1, "TOKEN": 2}
	unnamed := []string{"APIKEY", "SECRET", "ORDERS_API", "PASSWORD"}
	f.Fuzz(func(t *testing.T, text string) {
		call := render(t, eng, text)
		secrets := map[string]string{"HOST": host}
		for _, name := range append(slices.Sorted(maps.Keys(named)), unnamed...) {
			secrets[name] = "s" + randomHex(t)
		}
		h := &actions.HTTP{Secrets: secrets, Timeout: time.Minute}
		res := h.Run(context.Background(), call)
		if res.Outcome != dmflow.OutcomeOK {
			t.Fatalf("input %q: result %+v", text, res)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, name := range unnamed {
			if strings.Contains(string(dump), secrets[name]) {
				t.Fatalf("input %q: the request carries ${%s}, which the flow does not name:\n%s", text, name, dump)
			}
		}
		for name, n := range named {
			if got := strings.Count(string(dump), secrets[name]); got != n {
				t.Fatalf("input %q: ${%s} is in the request %d times, want %d:\n%s", text, name, got, n, dump)
			}
		}
		if segs := strings.Split(path, "/"); len(segs) != 5 || segs[1] != "orders" || segs[3] != "price" {
			t.Fatalf("input %q: path %q changed shape", text, path)
		}
		if len(query) != 2 || len(query["q"]) != 1 || len(query["key"]) != 1 || query["key"][0] != secrets["API_KEY"] {
			t.Fatalf("input %q: query %v changed shape", text, query)
		}
	})
}

// render steps the flow with "hi" and then text, and returns the call.
func render(t *testing.T, eng *engine.Engine, text string) dmflow.ActionCall {
	t.Helper()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var s *dmflow.Session
	for i, txt := range []string{"hi", text} {
		ev := dmflow.Event{Key: "e" + string(rune('0'+i)), Kind: dmflow.KindMessage, Account: "acct", User: "u", Text: txt, Time: now}
		turn, err := eng.Step(context.Background(), s, ev, now)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i == 1 {
			if len(turn.Actions) != 1 {
				t.Fatalf("input %q: %d actions", text, len(turn.Actions))
			}
			return turn.Actions[0]
		}
		s = turn.Session
		s.Version++
	}
	panic("unreachable")
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// FuzzActionURL loads an action whose URL template is the input: either
// the flow is refused with a file:line:col error, or no inserted value,
// whatever it holds, changes the scheme, the host, the number of path
// segments or the query's keys of the request the runner sends.
func FuzzActionURL(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://api.example.com/orders/{{ v }}", "A1/../x?y=1#z"},
		{"http://api.example{{ v }}/x", ".evil.com"},
		{"${BASE}/{{ v }}?q={{ v }}&k=${KEY}", "a&b=c"},
		{"${BASE}{{ v }}", "@evil.com"},
		{"{{ v }}/x", "https://evil.com"},
		{"https://u:{{ v }}@h.example/", "p@evil.com"},
		{"${SCHEME}://{{ v }}/", "evil.com"},
		{"https://h.example/${{ v }}", "{KEY}"},
		{"HTTPS://h.example#{{ v }}", "x"},
		{"http://0/ {{ v }}", "/"},
		{"https://h.example/café/{{ v }}", "/"},
		{"https://h.example/100%/{{ v }}", "/"},
		{"http://0?{{ v }}", "0"},
		{"http://0/?a=1&{{ v }}=2#x&{{ v }}", "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	secrets := map[string]string{"BASE": "https://base.example/v1", "KEY": "k3y", "SCHEME": "https"}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		src := "flow: f\nstart: a\nvars: {v: string}\nstates:\n  a:\n    action: {http: {url: " + jsonString(tmpl) + "}, next: b}\n  b: {end: true}\n"
		b, err := flows.LoadFS(fstest.MapFS{"f.yaml": {Data: []byte(src)}}, "f.yaml")
		if err != nil {
			var l flows.ErrorList
			if !errors.As(err, &l) || len(l.Errors()) == 0 {
				if b != nil {
					return // warnings only
				}
				t.Fatalf("template %q: unpositioned error %v", tmpl, err)
			}
			for _, e := range l.Errors() {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("template %q: error without file:line:col: %v", tmpl, e)
				}
			}
			return
		}
		eng, err := engine.New(b, &engine.Options{NoTrace: true, NoNotices: true})
		if err != nil {
			t.Fatal(err)
		}
		benign, ok := sendURL(t, eng, secrets, "x")
		if !ok {
			return // the literal URL itself is not usable
		}
		got, ok := sendURL(t, eng, secrets, value)
		switch {
		case !ok:
			t.Fatalf("template %q: value %q made the request unusable", tmpl, value)
		case got.Scheme != benign.Scheme || got.Host != benign.Host || got.User.String() != benign.User.String():
			t.Fatalf("template %q: value %q steered the request to %s (benign: %s)", tmpl, value, got, benign)
		case strings.Count(got.EscapedPath(), "/") != strings.Count(benign.EscapedPath(), "/"):
			t.Fatalf("template %q: value %q changed the path %s (benign: %s)", tmpl, value, got.EscapedPath(), benign.EscapedPath())
		case !slices.Equal(slices.Sorted(maps.Keys(got.Query())), slices.Sorted(maps.Keys(benign.Query()))):
			t.Fatalf("template %q: value %q changed the query %s (benign: %s)", tmpl, value, got.RawQuery, benign.RawQuery)
		}
	})
}

// sendURL renders the action with v set to value and runs it with a
// transport that records the URL instead of sending it.
func sendURL(t *testing.T, eng *engine.Engine, secrets map[string]string, value string) (*url.URL, bool) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &dmflow.Session{Key: dmflow.SessionKey{Account: "acct", User: "u"}, Flow: "f", State: "b", Vars: map[string]any{"v": value}}
	turn, err := eng.Step(context.Background(), s, dmflow.Event{Key: "m", Kind: dmflow.KindAdmin, Account: "acct", User: "u",
		Admin: &dmflow.AdminCommand{Op: dmflow.AdminMove, State: "a"}, Time: now}, now)
	if err != nil || len(turn.Actions) != 1 {
		t.Fatalf("step: %v, %d actions", err, len(turn.Actions))
	}
	var got *url.URL
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r.URL
		return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	h := &actions.HTTP{Client: &http.Client{Transport: rt}, Secrets: secrets}
	h.Run(context.Background(), turn.Actions[0])
	return got, got != nil
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
