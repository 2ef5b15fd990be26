package server_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/server"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/mem"
)

// TestOpenStore: the config selects the backend; none is an error.
func TestOpenStore(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	st, desc, err := server.OpenStore(ctx, server.StoreConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*bolt.DB); !ok || !strings.HasPrefix(desc, "bbolt ") || !strings.HasSuffix(desc, "x.db") {
		t.Errorf("bbolt: %T %q", st, desc)
	}
	st.Close()

	st, desc, err = server.OpenStore(ctx, server.StoreConfig{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*mem.Store); !ok {
		t.Errorf("memory: %T %q", st, desc)
	}
	st.Close()

	if _, _, err := server.OpenStore(ctx, server.StoreConfig{}); !errors.Is(err, server.ErrNoStore) {
		t.Errorf("no store: %v", err)
	}
}

// TestOpenStorePostgresError: a PostgreSQL URL that cannot be reached
// fails without showing its password.
func TestOpenStorePostgresError(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, _, err := server.OpenStore(ctx, server.StoreConfig{URL: "postgres://dmflow:s3cr%21t@127.0.0.1:1/dmflow?connect_timeout=2"})
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "s3cr") {
		t.Fatalf("the password shows: %v", err)
	}
}

// TestNewInstagram: where the tokens come from, and that the client sends
// with the configured one.
func TestNewInstagram(t *testing.T) {
	ctx := t.Context()
	quiet := slog.New(slog.DiscardHandler)
	double := igtest.NewServer(igtest.Config{Account: "acct"})
	t.Cleanup(double.Close)
	graph := double // graph.URL: the double's address
	out := dmflow.Outgoing{Key: dmflow.SessionKey{Account: "acct", User: "u1"}, To: dmflow.Recipient{ID: "u1"},
		Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hello"}, LastInbound: time.Now()}
	double.SetUserMessagedAt("u1", time.Now())

	t.Run("no token", func(t *testing.T) {
		_, err := server.NewInstagram(ctx, mem.New(nil), server.InstagramConfig{GraphURL: graph.URL, Logger: quiet})
		if !errors.Is(err, server.ErrNoToken) {
			t.Fatalf("err = %v, want ErrNoToken", err)
		}
	})
	t.Run("configured token", func(t *testing.T) {
		ig, err := server.NewInstagram(ctx, mem.New(nil), server.InstagramConfig{GraphURL: graph.URL, AccessToken: double.IssueToken("acct"), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if ig.Tokens != nil {
			t.Error("a configured token needs no token manager")
		}
		if _, err := ig.Client.Send(ctx, out); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	t.Run("an account's own token", func(t *testing.T) {
		ig, err := server.NewInstagram(ctx, mem.New(nil), server.InstagramConfig{GraphURL: graph.URL,
			AccountTokens: map[string]string{"acct": double.IssueToken("acct")}, Logger: quiet})
		if err != nil || ig.Tokens != nil {
			t.Fatalf("err %v, token manager %v", err, ig.Tokens)
		}
		if _, err := ig.Client.Send(ctx, out); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	t.Run("stored token", func(t *testing.T) {
		st := mem.New(nil)
		tok := dmflow.Token{Account: "acct", AccessToken: double.IssueToken("acct"), IssuedAt: time.Now(), ExpiresAt: time.Now().Add(50 * 24 * time.Hour)}
		if err := st.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		ig, err := server.NewInstagram(ctx, st, server.InstagramConfig{GraphURL: graph.URL, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if ig.Tokens == nil {
			t.Fatal("stored tokens need the token manager")
		}
		if _, err := ig.Client.Send(ctx, out); err != nil {
			t.Fatalf("send: %v", err)
		}
	})
	if n := len(double.Messages()); n != 3 {
		t.Errorf("the double got %d messages, want 3", n)
	}
}
