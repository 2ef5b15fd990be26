package instagram_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// TestWelcomeFlow creates a welcome message flow, updates it by id, and
// refuses invalid flows before any call.
func TestWelcomeFlow(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	ctx := context.Background()
	f := instagram.WelcomeFlow{Name: "spring ad", Messages: []instagram.WelcomeMessage{{
		Text:         "Hi! 👋 Want the spring price list?",
		QuickReplies: []dmflow.QuickReply{{Title: "Yes please", Payload: "PRICES"}, {Title: "No thanks", Payload: "NO"}},
	}}}
	id, err := c.SetWelcomeFlow(ctx, acct, f)
	if err != nil || id == "" {
		t.Fatalf("create: %q, %v", id, err)
	}
	f.ID, f.Messages[0].Text = id, "Hi! 👋 Spring prices inside."
	if got, err := c.SetWelcomeFlow(ctx, acct, f); err != nil || got != id {
		t.Fatalf("update: %q, %v", got, err)
	}
	flows := srv.WelcomeFlows()
	if len(flows) != 1 || flows[0].ID != id || flows[0].Messages[0].Text != "Hi! 👋 Spring prices inside." ||
		len(flows[0].Messages[0].QuickReplies) != 2 || flows[0].Messages[0].QuickReplies[0].Payload != "PRICES" {
		t.Fatalf("stored: %+v", flows)
	}
	f.ID = "777000000000999"
	var ae *instagram.APIError
	if _, err := c.SetWelcomeFlow(ctx, acct, f); !errors.As(err, &ae) || ae.Code != 100 {
		t.Fatalf("update of an unknown flow: %v", err)
	}
	calls := srv.Calls()
	bad := instagram.WelcomeFlow{Name: "x", Messages: []instagram.WelcomeMessage{{Text: "hi",
		QuickReplies: []dmflow.QuickReply{{Title: "a title far longer than twenty characters", Payload: "P"}}}}}
	if _, err := c.SetWelcomeFlow(ctx, acct, bad); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("long quick reply: %v", err)
	}
	if _, err := c.SetWelcomeFlow(ctx, acct, instagram.WelcomeFlow{Name: "empty"}); !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("no messages: %v", err)
	}
	if srv.Calls() != calls {
		t.Fatal("an invalid flow reached Graph")
	}
}
