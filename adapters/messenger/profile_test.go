package messenger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

func okProfile() messenger.Profile {
	return messenger.Profile{
		GetStarted: "START",
		Greeting:   map[string]string{"default": "Hi {{user_first_name}}!", "es_ES": "¡Hola {{user_first_name}}!"},
		IceBreakers: []messenger.IceBreakers{{Locale: "default", Questions: []messenger.IceBreaker{
			{Question: "Opening hours?", Payload: "HOURS"}, {Question: "Where is my order?", Payload: "ORDER"}}}},
		PersistentMenu: []messenger.Menu{{Locale: "default", Buttons: []dmflow.Button{
			{Type: "postback", Title: "Talk to us", Payload: "AGENT"}, {Type: "web_url", Title: "Shop", URL: "https://example.com"}}}},
	}
}

// TestProfileValidate: each platform rule of the Messenger Profile API
// refuses a profile before any request, wrapping ErrInvalid.
func TestProfileValidate(t *testing.T) {
	if err := okProfile().Validate(); err != nil {
		t.Fatalf("valid profile: %v", err)
	}
	q := messenger.IceBreaker{Question: "q?", Payload: "Q"}
	b := dmflow.Button{Type: "postback", Title: "b", Payload: "B"}
	for _, tt := range []struct {
		name   string
		change func(*messenger.Profile)
		want   string
	}{
		{"greeting without default", func(p *messenger.Profile) { p.Greeting = map[string]string{"en_US": "hi"} }, `greeting: a "default" locale is required`},
		{"greeting too long", func(p *messenger.Profile) { p.Greeting["default"] = strings.Repeat("é", 161) }, "greeting default: 161 characters, want 1 to 160"},
		{"five ice breakers", func(p *messenger.Profile) {
			p.IceBreakers[0].Questions = []messenger.IceBreaker{q, q, q, q, q}
		}, "ice breakers default: 5 questions, want 1 to 4"},
		{"ice breaker without payload", func(p *messenger.Profile) {
			p.IceBreakers[0].Questions = []messenger.IceBreaker{{Question: "q?"}}
		}, "want a question and a payload"},
		{"ice breakers without default", func(p *messenger.Profile) { p.IceBreakers[0].Locale = "en_US" }, `ice breakers: a "default" locale is required`},
		{"21 menu buttons", func(p *messenger.Profile) {
			p.PersistentMenu[0].Buttons = make([]dmflow.Button, 21)
			for i := range p.PersistentMenu[0].Buttons {
				p.PersistentMenu[0].Buttons[i] = b
			}
		}, "persistent menu default: 21 buttons, want 1 to 20"},
		{"menu button without payload", func(p *messenger.Profile) {
			p.PersistentMenu[0].Buttons = []dmflow.Button{{Type: "postback", Title: "x"}}
		}, "postback with a payload"},
		{"menu without get started", func(p *messenger.Profile) { p.GetStarted = "" }, "set get_started too"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := okProfile()
			tt.change(&p)
			err := p.Validate()
			if !errors.Is(err, dmflow.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

// TestSetAndGetProfile: one POST sets every part on the double, which
// GetProfile reads back; an invalid profile never reaches the platform.
func TestSetAndGetProfile(t *testing.T) {
	g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"tok": page}})
	defer g.Close()
	c := messenger.NewClient(messenger.ClientConfig{BaseURL: g.URL, Tokens: messenger.PageTokens{page: "tok"}})
	ctx := context.Background()
	if err := c.SetProfile(ctx, page, okProfile()); err != nil {
		t.Fatal(err)
	}
	if n := g.ProfileCalls(page); n != 1 {
		t.Errorf("%d profile calls, want 1 (the API allows 10 per 10 minutes)", n)
	}
	data, err := c.GetProfile(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]json.RawMessage
	if err := json.Unmarshal(data, &got); err != nil || len(got) != 1 {
		t.Fatalf("data %s: %v", data, err)
	}
	for _, f := range messenger.ProfileFields {
		if len(got[0][f]) == 0 {
			t.Errorf("GetProfile lacks %s: %s", f, data)
		}
	}
	if !strings.Contains(string(got[0]["ice_breakers"]), `"question":"Opening hours?"`) {
		t.Errorf("ice breakers: %s", got[0]["ice_breakers"])
	}
	bad := okProfile()
	bad.Greeting = map[string]string{"en_US": "hi"}
	if err := c.SetProfile(ctx, page, bad); !errors.Is(err, dmflow.ErrPermanent) || !errors.Is(err, dmflow.ErrInvalid) {
		t.Errorf("invalid profile: %v, want permanent and invalid", err)
	}
	if n := g.ProfileCalls(page); n != 2 {
		t.Errorf("%d profile calls, want 2: the invalid profile was sent", n)
	}
}

// TestDoubleChecksProfile: the double refuses what the platform refuses,
// so a client that skipped its own checks would fail against it.
func TestDoubleChecksProfile(t *testing.T) {
	g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"tok": page}})
	defer g.Close()
	for _, tt := range []struct{ name, body, want string }{
		{"menu before get started", `{"persistent_menu":[{"locale":"default","call_to_actions":[{"type":"postback","title":"a","payload":"A"}]}]}`, "requires a get_started"},
		{"greeting without default", `{"greeting":[{"locale":"en_US","text":"hi"}]}`, "default locale"},
		{"long greeting", `{"greeting":[{"locale":"default","text":"` + strings.Repeat("x", 161) + `"}]}`, "1 to 160"},
		{"five ice breakers", `{"ice_breakers":[{"locale":"default","call_to_actions":[` + strings.Repeat(`{"question":"q","payload":"p"},`, 4) + `{"question":"q","payload":"p"}]}]}`, "1 to 4"},
		{"unknown field", `{"home_url":{}}`, "unknown profile field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/v25.0/me/messenger_profile", bytes.NewBufferString(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error struct{ Message string } }
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, tt.want) {
				t.Errorf("%d %q, want 400 with %q", resp.StatusCode, e.Error.Message, tt.want)
			}
		})
	}
}
