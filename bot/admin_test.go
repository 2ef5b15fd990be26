package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

type adminClient struct {
	t   *testing.T
	srv *httptest.Server
}

func (c adminClient) do(method, path, body, token string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// call does an authorized request and checks the status.
func (c adminClient) call(method, path, body string, want int) string {
	c.t.Helper()
	code, out := c.do(method, path, body, "tok")
	if code != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, code, out, want)
	}
	return out
}

func TestAdminDisabledAndAuth(t *testing.T) {
	b, err := bot.New(testConfig(newSender()))
	if err != nil {
		t.Fatal(err)
	}
	off := adminClient{t, httptest.NewServer(b.AdminHandler(""))}
	defer off.srv.Close()
	if code, _ := off.do("GET", "/admin/sessions", "", "x"); code != http.StatusNotFound {
		t.Fatalf("disabled admin answered %d", code)
	}
	on := adminClient{t, httptest.NewServer(b.AdminHandler("tok"))}
	defer on.srv.Close()
	for _, tok := range []string{"", "tok2", "to", "Tok", "tok-longer"} {
		if code, _ := on.do("GET", "/admin/sessions", "", tok); code != http.StatusUnauthorized {
			t.Fatalf("token %q answered %d", tok, code)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	s := newSender()
	s.fail = func(m dmflow.Outgoing, _ int) error {
		if m.Reply.Text == "re: undeliverable" {
			return fmt.Errorf("graph: 551: %w", dmflow.ErrPermanent)
		}
		return nil
	}
	cfg := testConfig(s)
	reloads := 0
	cfg.Reload = func(context.Context) (bot.Engine, error) {
		if reloads++; reloads == 1 {
			return nil, errors.New("flows/lead.yaml:3:5: unknown state \"nope\"")
		}
		return &fakeEngine{}, nil
	}
	b := start(t, cfg)
	c := adminClient{t, httptest.NewServer(b.AdminHandler("tok"))}
	defer c.srv.Close()

	ingest(t, b, msg("u1", "1", "hello"), msg("u1", "2", "undeliverable"), msg("u2", "3", "boom"))
	s.waitSent(t)
	eventually(t, "dead letter and failed item", func() bool {
		dl, _ := cfg.Store.DeadLetters(ctx, 10)
		f, _ := cfg.Store.FailedInbox(ctx, 10)
		return len(dl) == 1 && len(f) == 1
	})

	t.Run("sessions", func(t *testing.T) {
		var list []dmflow.Session
		decode(t, c.call("GET", "/admin/sessions?account=acct", "", 200), &list)
		if len(list) != 1 || list[0].Key != key("u1") {
			t.Fatalf("sessions %+v", list)
		}
		var sess dmflow.Session
		decode(t, c.call("GET", "/admin/sessions/acct/u1", "", 200), &sess)
		if sess.Vars["last"] != "undeliverable" {
			t.Fatalf("session %+v", sess)
		}
		c.call("GET", "/admin/sessions/acct/nobody", "", 404)
		c.call("GET", "/admin/sessions?after=bad", "", 400)
	})
	t.Run("history", func(t *testing.T) {
		var items []dmflow.InboxItem
		decode(t, c.call("GET", "/admin/sessions/acct/u1/history", "", 200), &items)
		if len(items) < 2 || items[0].Event.Text != "hello" {
			t.Fatalf("history %+v", items)
		}
	})
	t.Run("move and handoff go through the queue", func(t *testing.T) {
		c.call("POST", "/admin/sessions/acct/u1/move", `{"state":"menu"}`, 202)
		c.call("POST", "/admin/sessions/acct/u1/move", `{}`, 400)
		c.call("POST", "/admin/sessions/acct/u1/handoff", ``, 202)
		eventually(t, "moved and handed off", func() bool {
			s, err := cfg.Store.GetSession(ctx, key("u1"))
			return err == nil && s.State == "menu" && s.Handoff != nil
		})
		var hs []dmflow.Session
		decode(t, c.call("GET", "/admin/handoffs", "", 200), &hs)
		if len(hs) != 1 || hs[0].Handoff.By != "admin" {
			t.Fatalf("handoffs %+v", hs)
		}
		c.call("POST", "/admin/handoffs/acct/u1/release", ``, 202)
		eventually(t, "released", func() bool {
			s, err := cfg.Store.GetSession(ctx, key("u1"))
			return err == nil && s.Handoff == nil
		})
	})
	t.Run("dead letters", func(t *testing.T) {
		var dl []dmflow.DeadLetter
		decode(t, c.call("GET", "/admin/deadletters", "", 200), &dl)
		if len(dl) != 1 || !strings.Contains(dl[0].Reason, "551") {
			t.Fatalf("dead letters %+v", dl)
		}
		s.fail = nil // the platform recovered
		c.call("POST", fmt.Sprintf("/admin/deadletters/%d/retry", dl[0].Item.Seq), "", 200)
		if got := s.waitSent(t); got.Text != "re: undeliverable" {
			t.Fatalf("requeued send %q", got.Text)
		}
		c.call("POST", "/admin/deadletters/x/retry", "", 400)
		c.call("DELETE", fmt.Sprintf("/admin/deadletters/%d", dl[0].Item.Seq), "", 404)
	})
	t.Run("failed", func(t *testing.T) {
		var f []dmflow.FailedItem
		decode(t, c.call("GET", "/admin/failed", "", 200), &f)
		if len(f) != 1 || f[0].Item.Event.Text != "boom" {
			t.Fatalf("failed %+v", f)
		}
	})
	t.Run("replay", func(t *testing.T) {
		var rep bot.Replay
		decode(t, c.call("POST", "/admin/replay", `{"account":"acct","user":"u1"}`, 200), &rep)
		if len(rep.Steps) < 2 || rep.Steps[0].Replies[0].Reply.Text != "re: hello" || len(rep.Steps[0].Trace) == 0 {
			t.Fatalf("replay %+v", rep)
		}
		c.call("POST", "/admin/replay", `{"account":"acct"}`, 400)
	})
	t.Run("reload keeps the old engine on failure", func(t *testing.T) {
		old := b.Engine()
		out := c.call("POST", "/admin/reload", "", 422)
		if !strings.Contains(out, "flows/lead.yaml:3:5") || b.Engine() != old {
			t.Fatalf("failed reload: %s", out)
		}
		c.call("POST", "/admin/reload", "", 200)
		if b.Engine() == old {
			t.Fatal("engine not replaced")
		}
	})
	t.Run("reset", func(t *testing.T) {
		c.call("DELETE", "/admin/sessions/acct/u1", "", 202)
		eventually(t, "reset", func() bool {
			_, err := cfg.Store.GetSession(ctx, key("u1"))
			return errors.Is(err, dmflow.ErrNotFound)
		})
	})
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
}
