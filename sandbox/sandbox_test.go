package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/sandbox"
)

const (
	account = "17841400000000009"
	secret  = "sandbox-test-secret"
)

// sink records what the real webhook handler accepted.
type sink struct {
	mu     sync.Mutex
	events []dmflow.Event
}

func (s *sink) put(_ context.Context, evs []dmflow.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, evs...)
	return nil
}

func (s *sink) all() []dmflow.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dmflow.Event(nil), s.events...)
}

// graphStub answers every Send API request like Graph does, or with status.
func graphStub(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"recipient_id":"x","message_id":"m_graph_1"}`)
	})
}

func newSandbox(t *testing.T, webhookSecret string, graph http.Handler) (*sandbox.Sandbox, *sink) {
	t.Helper()
	sk := &sink{}
	wh := instagram.NewWebhook(instagram.WebhookConfig{VerifyToken: "v", AppSecrets: []string{webhookSecret}}, sk.put)
	sb, err := sandbox.New(sandbox.Config{Account: account, Secret: secret, Webhook: wh, Graph: graph})
	if err != nil {
		t.Fatal(err)
	}
	return sb, sk
}

func TestNewRequiresConfig(t *testing.T) {
	for name, cfg := range map[string]sandbox.Config{
		"no account": {Secret: "s", Webhook: http.NotFoundHandler(), Graph: http.NotFoundHandler()},
		"no secret":  {Account: "a", Webhook: http.NotFoundHandler(), Graph: http.NotFoundHandler()},
		"no webhook": {Account: "a", Secret: "s", Graph: http.NotFoundHandler()},
	} {
		if _, err := sandbox.New(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestSayDeliversSignedWebhooks(t *testing.T) {
	sb, sk := newSandbox(t, secret, graphStub(200))
	ctx := context.Background()
	inputs := []struct {
		in   sandbox.Input
		kind dmflow.EventKind
		from string
		test func(dmflow.Event) bool
	}{
		{sandbox.Input{User: "u1", Kind: sandbox.InputText, Text: "hello"}, dmflow.KindMessage, sandbox.FromUser,
			func(e dmflow.Event) bool { return e.Text == "hello" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputQuickReply, Text: "Pricing", Payload: "PRICING"}, dmflow.KindMessage, sandbox.FromUser,
			func(e dmflow.Event) bool { return e.Payload == "PRICING" && e.Text == "Pricing" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputPostback, Text: "Buy", Payload: "BUY"}, dmflow.KindPostback, sandbox.FromUser,
			func(e dmflow.Event) bool { return e.Payload == "BUY" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputImage, URL: "https://example.com/a.png"}, dmflow.KindMessage, sandbox.FromUser,
			func(e dmflow.Event) bool { return len(e.Attachments) == 1 && e.Attachments[0].Type == "image" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputAgent, Text: "a person here"}, dmflow.KindEcho, sandbox.FromAgent,
			func(e dmflow.Event) bool { return e.Text == "a person here" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputInboxTake}, dmflow.KindHandover, sandbox.FromUser,
			func(e dmflow.Event) bool { return e.Handover != nil && e.Handover.Action == "take" }},
		{sandbox.Input{User: "u1", Kind: sandbox.InputInboxPass}, dmflow.KindHandover, sandbox.FromUser,
			func(e dmflow.Event) bool { return e.Handover != nil && e.Handover.Action == "pass" }},
	}
	for i, tc := range inputs {
		status, m, err := sb.Say(ctx, tc.in)
		if err != nil || status != http.StatusOK {
			t.Fatalf("%s: status %d err %v", tc.in.Kind, status, err)
		}
		if m.From != tc.from || m.User != "u1" || m.Seq != uint64(i+1) || m.MID == "" {
			t.Fatalf("%s: recorded %+v", tc.in.Kind, m)
		}
		evs := sk.all()
		if len(evs) != i+1 {
			t.Fatalf("%s: handler got %d events, want %d", tc.in.Kind, len(evs), i+1)
		}
		e := evs[i]
		if e.Kind != tc.kind || e.Account != account || e.User != "u1" || !tc.test(e) {
			t.Fatalf("%s: event %+v", tc.in.Kind, e)
		}
	}
	if got := len(sb.Messages("u1", 0)); got != len(inputs) {
		t.Fatalf("feed has %d messages, want %d", got, len(inputs))
	}
}

func TestSayRefusedIsNotRecorded(t *testing.T) {
	sb, sk := newSandbox(t, "another-secret", graphStub(200))
	status, _, err := sb.Say(context.Background(), sandbox.Input{User: "u1", Kind: sandbox.InputText, Text: "hi"})
	if err != nil || status != http.StatusForbidden {
		t.Fatalf("status %d err %v, want 403 from the real handler", status, err)
	}
	if len(sk.all()) != 0 || len(sb.Messages("u1", 0)) != 0 {
		t.Fatal("a refused webhook must change nothing")
	}
}

func TestSayRejectsBadInput(t *testing.T) {
	sb, _ := newSandbox(t, secret, graphStub(200))
	for _, in := range []sandbox.Input{
		{User: "", Kind: "text", Text: "x"},
		{User: "a/b", Kind: "text", Text: "x"},
		{User: "u", Kind: "text", Text: "  "},
		{User: "u", Kind: "image"},
		{User: "u", Kind: "quick_reply", Text: "x"},
		{User: "u", Kind: "sticker"},
	} {
		if _, _, err := sb.Say(context.Background(), in); err == nil {
			t.Errorf("%+v: want an error", in)
		}
	}
}

func TestGraphHandlerRecordsAcceptedSends(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		want                    bool
	}{
		{"json", "application/json", `{"recipient":{"id":"u2"},"message":{"text":"hi there"}}`, 200, true},
		{"form", "application/x-www-form-urlencoded",
			`recipient=%7B%22id%22%3A%22u2%22%7D&message=%7B%22text%22%3A%22hi+there%22%7D&access_token=IGAAsecret`, 200, true},
		{"refused", "application/json", `{"recipient":{"id":"u2"},"message":{"text":"hi there"}}`, 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, _ := newSandbox(t, secret, graphStub(tc.status))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/v25.0/me/messages", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			sb.GraphHandler().ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), "m_graph_1") {
				t.Fatalf("the double's answer must pass through: %d %s", rec.Code, rec.Body)
			}
			msgs := sb.Messages("u2", 0)
			if !tc.want {
				if len(msgs) != 0 {
					t.Fatal("a refused send must not be recorded")
				}
				return
			}
			if len(msgs) != 1 || msgs[0].From != sandbox.FromBot || msgs[0].MID != "m_graph_1" {
				t.Fatalf("recorded %+v", msgs)
			}
			var g struct {
				Message struct{ Text string } `json:"message"`
				Token   *string               `json:"access_token"`
			}
			if err := json.Unmarshal(msgs[0].Graph, &g); err != nil || g.Message.Text != "hi there" || g.Token != nil {
				t.Fatalf("graph body %s (err %v): want the message without the token", msgs[0].Graph, err)
			}
		})
	}
}

// TestGraphHandlerRecordsCommentCalls: a public reply to (and a moderation
// of) a comment made in the sandbox shows in its author's feed.
func TestGraphHandlerRecordsCommentCalls(t *testing.T) {
	sb, _ := newSandbox(t, secret, igtest.New(igtest.Config{}))
	_, m, err := sb.Say(context.Background(), sandbox.Input{User: "u2", Kind: sandbox.InputComment, Text: "PRICE"})
	if err != nil {
		t.Fatal(err)
	}
	comment := m.Input.Comment
	for _, c := range []struct{ method, path, body, want string }{
		{http.MethodPost, "/v25.0/" + comment + "/replies", "message=Sent+you+a+DM", `{"public_reply":{"comment_id":"` + comment + `","message":"Sent you a DM"}}`},
		{http.MethodPost, "/v25.0/" + comment, "hide=true", `{"moderate":{"action":"hide","comment_id":"` + comment + `"}}`},
		{http.MethodDelete, "/v25.0/" + comment, "", `{"moderate":{"action":"delete","comment_id":"` + comment + `"}}`},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer IGAAtoken")
		rec := httptest.NewRecorder()
		sb.GraphHandler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
		msgs := sb.Messages("u2", 0)
		if last := msgs[len(msgs)-1]; last.From != sandbox.FromBot || string(last.Graph) != c.want {
			t.Fatalf("%s %s recorded %s, want %s", c.method, c.path, last.Graph, c.want)
		}
	}
}

func TestEventsStreamHistoryThenLive(t *testing.T) {
	sb, _ := newSandbox(t, secret, graphStub(200))
	srv := httptest.NewServer(http.StripPrefix("/sandbox", sb.Handler()))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	say := func(text string) {
		if _, _, err := sb.Say(ctx, sandbox.Input{User: "u3", Kind: sandbox.InputText, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	say("first")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/sandbox/api/events?user=u3", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := readEvents(resp.Body)
	if m := <-events; m.Input == nil || m.Input.Text != "first" || m.Seq != 1 {
		t.Fatalf("history: %+v", m)
	}
	say("second")
	if m := <-events; m.Input == nil || m.Input.Text != "second" || m.Seq != 2 {
		t.Fatalf("live: %+v", m)
	}
	sb.Close()
	if m, ok := <-events; ok {
		t.Fatalf("Close must end the stream, got %+v", m)
	}
}

// readEvents parses "data:" lines of an SSE stream into Messages.
func readEvents(r io.Reader) <-chan sandbox.Message {
	out := make(chan sandbox.Message, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m sandbox.Message
				if json.Unmarshal([]byte(data), &m) == nil {
					out <- m
				}
			}
		}
	}()
	return out
}

func TestPageAndAPI(t *testing.T) {
	sb, sk := newSandbox(t, secret, graphStub(200))
	srv := httptest.NewServer(http.StripPrefix("/sandbox", sb.Handler()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/sandbox/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte(`<script type="module" src="js/app.js">`)) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %q", resp.StatusCode, resp.Header)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"user":"u4","kind":"text","text":"hey"}`, 200},
		{`{"user":"u4","kind":"text"}`, 400},
		{`{"user":"u4","kind":"text","text":"x","extra":1}`, 400},
		{`not json`, 400},
	} {
		resp, err := http.Post(srv.URL+"/sandbox/api/send", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.body, resp.StatusCode, tc.status)
		}
	}
	if n := len(sk.all()); n != 1 {
		t.Fatalf("handler got %d events, want 1", n)
	}
	resp, err = http.Get(srv.URL + "/sandbox/api/messages?user=u4")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []sandbox.Message
	json.NewDecoder(resp.Body).Decode(&msgs)
	resp.Body.Close()
	if len(msgs) != 1 || msgs[0].Input.Text != "hey" {
		t.Fatalf("messages: %+v", msgs)
	}
}

// httptestServer serves sb's handler under /sandbox until the test ends.
func httptestServer(t *testing.T, sb *sandbox.Sandbox) string {
	srv := httptest.NewServer(http.StripPrefix("/sandbox", sb.Handler()))
	t.Cleanup(srv.Close)
	return srv.URL + "/sandbox"
}
