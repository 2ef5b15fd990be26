package instagram_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// TestMessengerProfileReadsBack checks that what SetIceBreakers and
// SetPersistentMenu store comes back from MessengerProfile.
func TestMessengerProfileReadsBack(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, igtest.Config{}, nil)
	ib := []instagram.Localized[instagram.IceBreaker]{{Locale: "default", Items: []instagram.IceBreaker{{Question: "Where is my order?", Payload: "TRACK"}}}}
	menu := []instagram.Localized[dmflow.Button]{{Locale: "default", Items: []dmflow.Button{{Type: "web_url", Title: "Shop", URL: "https://shop.example.com"}}}}
	if err := c.SetIceBreakers(ctx, acct, ib); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPersistentMenu(ctx, acct, menu); err != nil {
		t.Fatal(err)
	}
	got, err := c.MessengerProfile(ctx, acct, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"question":"Where is my order?"`, `"payload":"TRACK"`, `"url":"https://shop.example.com"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("GET messenger_profile = %s, want it to contain %s", got, want)
		}
	}
}
