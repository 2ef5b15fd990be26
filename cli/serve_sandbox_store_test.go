package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/mem"
)

// TestClaimSandboxStore: the sandbox takes an empty store (and marks it)
// or its own marked one, and refuses anything holding other data; the
// production check refuses a marked store.
func TestClaimSandboxStore(t *testing.T) {
	ctx := context.Background()
	key := dmflow.SessionKey{Account: "17841400000000001", User: "u1"}
	now := time.Now()
	for _, tc := range []struct {
		name string
		seed func(st dmflow.Store) error
		want string // "" = claimed
	}{
		{"empty", func(dmflow.Store) error { return nil }, ""},
		{"marked with sessions", func(st dmflow.Store) error {
			if err := st.PutToken(ctx, dmflow.Token{Account: sandboxMarkerAccount}); err != nil {
				return err
			}
			return st.Commit(ctx, dmflow.Commit{Key: key, Session: &dmflow.Session{Key: key, Flow: "f", State: "s"}, Now: now})
		}, ""},
		{"sessions", func(st dmflow.Store) error {
			return st.Commit(ctx, dmflow.Commit{Key: key, Session: &dmflow.Session{Key: key, Flow: "f", State: "s"}, Now: now})
		}, "holds sessions"},
		{"pending replies", func(st dmflow.Store) error {
			return st.Commit(ctx, dmflow.Commit{Key: key, Outbox: []dmflow.Outgoing{{Key: key, To: dmflow.Recipient{ID: key.User}, Reply: dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}}}, Now: now})
		}, "pending replies"},
		{"inbox", func(st dmflow.Store) error {
			_, err := st.AppendInbox(ctx, []dmflow.Event{{Key: "k1", Account: key.Account, User: key.User, Kind: dmflow.KindMessage}}, now)
			return err
		}, "unprocessed inbox events"},
		{"tokens", func(st dmflow.Store) error {
			return st.PutToken(ctx, dmflow.Token{Account: key.Account, AccessToken: "IGAA"})
		}, "Instagram access tokens"},
		{"marked but with a real token", func(st dmflow.Store) error {
			if err := st.PutToken(ctx, dmflow.Token{Account: sandboxMarkerAccount}); err != nil {
				return err
			}
			return st.PutToken(ctx, dmflow.Token{Account: key.Account, AccessToken: "IGAA"})
		}, "Instagram access tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := mem.New(nil)
			defer st.Close()
			if err := tc.seed(st); err != nil {
				t.Fatal(err)
			}
			err := claimSandboxStore(ctx, st, "the test store")
			if tc.want != "" {
				var ce *configError
				if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ce) {
					t.Fatalf("err = %v, want a configuration error with %q", err, tc.want)
				}
				toks, _ := st.ListTokens(ctx)
				for _, tok := range toks {
					if isSandboxMarker(tok) && tc.name != "marked but with a real token" {
						t.Fatal("a refused store was marked")
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := refuseSandboxMarked(ctx, st, "the test store"); err == nil || !strings.Contains(err.Error(), "is a sandbox store") {
				t.Fatalf("production on a claimed sandbox store: %v", err)
			}
			if err := claimSandboxStore(ctx, st, "the test store"); err != nil {
				t.Fatalf("claiming again: %v", err)
			}
		})
	}
}
