package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/server"
	"github.com/dmflow/dmflow/store/mem"
)

const flow = "flow: hi\nstart: a\nstates:\n  a:\n    say: [{text: hello}]\n    end: true\n"

func testEngine(t *testing.T) *engine.Engine {
	t.Helper()
	b, err := flows.LoadFS(fstest.MapFS{"hi.yaml": {Data: []byte(flow)}}, "hi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type nopSender struct{}

func (nopSender) Send(context.Context, dmflow.Outgoing) (string, error) { return "mid", nil }

// TestRoutes: the assembled routes answer as serve's do (the bot is not
// running: these routes need no worker).
func TestRoutes(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	cases := []struct {
		name    string
		sandbox bool
		method  string
		path    string
		auth    string
		status  int
		body    string
	}{
		{"verify handshake", false, "GET", "/webhook/instagram?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=42", "", 200, "42"},
		{"verify with a wrong token", false, "GET", "/webhook/instagram?hub.mode=subscribe&hub.verify_token=no&hub.challenge=42", "", 403, ""},
		{"unsigned event", false, "POST", "/webhook/instagram", "", 401, ""},
		{"health", false, "GET", "/healthz", "", 200, ""},
		{"metrics", false, "GET", "/metrics", "", 200, "dmflow_"},
		{"admin without token", false, "GET", "/admin/sessions", "", 401, ""},
		{"admin", false, "GET", "/admin/sessions", "Bearer admin-token", 200, "["},
		{"backup without token", false, "GET", "/admin/backup", "", 401, ""},
		{"backup of a store without one", false, "GET", "/admin/backup", "Bearer admin-token", 501, "no online backup"},
		{"compact of a store without it", false, "POST", "/admin/compact", "Bearer admin-token", 501, "no compaction"},
		{"no studio in production", false, "GET", "/sandbox/", "", 404, ""},
		{"studio", true, "GET", "/sandbox/", "", 200, "<html"},
		{"root goes to the studio", true, "GET", "/", "", 302, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.Config{
				Bot:        bot.Config{Store: mem.New(nil), Sender: nopSender{}, Engine: testEngine(t), Logger: quiet},
				Webhook:    instagram.WebhookConfig{VerifyToken: "vt", AppSecrets: []string{"app-secret"}},
				AdminToken: "admin-token",
			}
			if tc.sandbox {
				cfg.Sandbox = server.NewSandbox(server.SandboxConfig{Account: "17841400000000001", Logger: quiet})
			}
			s, err := server.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Sandbox != nil {
				defer cfg.Sandbox.Close()
			}
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
			req.Host = "127.0.0.1"
			req.RemoteAddr = "127.0.0.1:1234"
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, rec.Code, body, tc.status, tc.body)
			}
		})
	}
}

// TestReloader: a failed load reaches the bot as an error with a nil
// interface, so it keeps the old flows; a good one installs the engine.
func TestReloader(t *testing.T) {
	e := testEngine(t)
	bad := errors.New("flows broken")
	var fail bool
	s, err := server.New(server.Config{
		Bot: bot.Config{Store: mem.New(nil), Sender: nopSender{}, Engine: e, Logger: slog.New(slog.DiscardHandler)},
		Load: func(context.Context) (*engine.Engine, error) {
			if fail {
				return nil, bad
			}
			return e, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Bot.Reload(t.Context()); err != nil {
		t.Fatalf("good reload: %v", err)
	}
	fail = true
	if err := s.Bot.Reload(t.Context()); !errors.Is(err, bad) {
		t.Fatalf("bad reload: %v, want %v", err, bad)
	}
	rl := server.Reloader(func(context.Context) (*engine.Engine, error) { return nil, bad })
	if got, err := rl(t.Context()); got != nil || err != bad {
		t.Fatalf("Reloader: %#v, %v; want a nil interface and the error", got, err)
	}
}
