package instagram_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

func thread(action string) dmflow.Outgoing {
	m := out(dmflow.Reply{Kind: dmflow.ReplyThreadControl, Action: action})
	m.LastInbound = testNow.Add(-10 * 24 * time.Hour) // no window applies to thread control
	return m
}

// TestThreadControl passes a thread to the inbox, sees a message to it
// refused while the inbox owns it, and takes it back.
func TestThreadControl(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	ctx := context.Background()
	pass := thread(dmflow.ThreadPass)
	pass.Reply.Metadata = "asked for a human"
	if _, err := c.Send(ctx, pass); err != nil {
		t.Fatalf("pass: %v", err)
	}
	if got := srv.ThreadOwner(acct, user); got != instagram.InstagramInboxApp {
		t.Fatalf("owner after pass = %q, want the Instagram inbox", got)
	}
	acts := srv.ThreadActions()
	if len(acts) != 1 || acts[0].Op != "pass" || acts[0].Target != instagram.InstagramInboxApp || acts[0].Metadata != "asked for a human" {
		t.Fatalf("actions: %+v", acts)
	}
	// While the inbox owns the thread, the bot cannot message, nor pass again.
	_, err := c.Send(ctx, out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	var ae *instagram.APIError
	if !errors.As(err, &ae) || ae.Code != 100 || !errors.Is(err, dmflow.ErrPermanent) {
		t.Fatalf("send to a thread the inbox owns: %v", err)
	}
	if _, err := c.Send(ctx, pass); !errors.Is(err, dmflow.ErrPermanent) {
		t.Fatalf("second pass: %v", err)
	}
	if _, err := c.Send(ctx, thread(dmflow.ThreadRequest)); err != nil {
		t.Fatalf("request: %v", err)
	}
	if _, err := c.Send(ctx, thread(dmflow.ThreadTake)); err != nil {
		t.Fatalf("take: %v", err)
	}
	if got := srv.ThreadOwner(acct, user); got != "" {
		t.Fatalf("owner after take = %q", got)
	}
	if _, err := c.Send(ctx, out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "back"})); err != nil {
		t.Fatalf("send after take: %v", err)
	}
}

// TestThreadControlConfig: the inbox app comes from the configuration, a
// flow's app overrides it, and bad actions never reach Graph.
func TestThreadControlConfig(t *testing.T) {
	srv, c := setup(t, igtest.Config{NoConversationRouting: true}, func(cc *instagram.ClientConfig) {
		cc.InboxAppID = instagram.PageInboxApp
	})
	ctx := context.Background()
	if _, err := c.Send(ctx, thread(dmflow.ThreadPass)); err != nil {
		t.Fatal(err)
	}
	if got := srv.ThreadOwner(acct, user); got != instagram.PageInboxApp {
		t.Fatalf("owner = %q, want the configured app", got)
	}
	_, err := c.Send(ctx, thread(dmflow.ThreadTake))
	var ae *instagram.APIError
	if !errors.As(err, &ae) || ae.Code != 27 || !errors.Is(err, dmflow.ErrPermanent) {
		t.Fatalf("take without conversation routing: %v", err)
	}
	calls := srv.Calls()
	if _, err := c.Send(ctx, thread("steal")); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("unknown action: %v", err)
	}
	big := thread(dmflow.ThreadPass)
	big.Reply.Metadata = strings.Repeat("x", 1001)
	if _, err := c.Send(ctx, big); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("metadata too long: %v", err)
	}
	if srv.Calls() != calls {
		t.Fatal("invalid thread control reached Graph")
	}
}

// TestThreadControlLogs: each thread-control call is logged with method,
// path, status, code and fbtrace_id, never with the token.
func TestThreadControlLogs(t *testing.T) {
	var buf bytes.Buffer
	_, c := setup(t, igtest.Config{NoConversationRouting: true}, func(cc *instagram.ClientConfig) {
		cc.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	ctx := context.Background()
	if _, err := c.Send(ctx, thread(dmflow.ThreadPass)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, thread(dmflow.ThreadTake)); err == nil {
		t.Fatal("take without conversation routing succeeded")
	}
	logs := buf.String()
	for _, want := range []string{`"method":"POST"`, `/` + acct + `/pass_thread_control","account"`, `"status":200`,
		`/take_thread_control"`, `"status":400,"code":27`, `"fbtrace_id":"AigtestTrace`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, token) {
		t.Fatal("the token was logged")
	}
}

// TestThreadControlUnsupported: a host that does not serve the
// thread-control edges (as graph.instagram.com may not: Meta documents
// them for Page tokens) answers (#100) subcode 33; every action fails at
// once as a permanent error, so the outbox dead-letters it instead of
// retrying.
func TestThreadControlUnsupported(t *testing.T) {
	srv, c := setup(t, igtest.Config{NoThreadControl: true}, nil)
	ctx := context.Background()
	for _, action := range []string{dmflow.ThreadPass, dmflow.ThreadTake, dmflow.ThreadRelease, dmflow.ThreadRequest} {
		calls := srv.Calls()
		_, err := c.Send(ctx, thread(action))
		var ae *instagram.APIError
		if !errors.As(err, &ae) || ae.Code != 100 || ae.Subcode != 33 || !errors.Is(err, dmflow.ErrPermanent) {
			t.Fatalf("%s on a host without thread control: %v", action, err)
		}
		if n := srv.Calls() - calls; n != 1 {
			t.Errorf("%s: %d calls, want 1 (permanent: no retry)", action, n)
		}
	}
	if got := srv.ThreadOwner(acct, user); got != "" {
		t.Fatalf("owner = %q after refused calls", got)
	}
	if len(srv.ThreadActions()) != 0 {
		t.Fatal("a refused call was recorded as accepted")
	}
}
