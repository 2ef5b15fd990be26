package messenger_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

var t0 = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func one(t *testing.T, body []byte) dmflow.Event {
	t.Helper()
	evs, err := messenger.Parse(body)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Parse = %d events, %v; want 1", len(evs), err)
	}
	return evs[0]
}

func TestParseFields(t *testing.T) {
	wh := messengertest.Webhook{Now: func() time.Time { return t0 }}
	ev := one(t, wh.QuickReply(page, psid, "m_2", "Yes", "YES"))
	if ev.Account != page || ev.User != psid || ev.Payload != "YES" || ev.Text != "Yes" || ev.Key != "m:m_2" || !ev.Time.Equal(t0) || ev.Channel != "messenger" {
		t.Errorf("quick reply = %+v", ev)
	}
	ev = one(t, wh.Postback(page, psid, "m_4", "Get Started", "START", "summer"))
	if ev.Kind != dmflow.KindPostback || ev.Title != "Get Started" || ev.Payload != "START" || ev.Referral == nil || ev.Referral.Ref != "summer" || ev.Referral.Source != "SHORTLINK" {
		t.Errorf("postback = %+v", ev)
	}
	ev = one(t, wh.Echo(page, psid, "m_5", "hello", "1"))
	if ev.Kind != dmflow.KindEcho || ev.User != psid || ev.Account != page || ev.Key != "echo:m_5" {
		t.Errorf("echo = %+v (the customer is the recipient; the key matches the bot's own-echo keys)", ev)
	}
	ev = one(t, wh.Delivery(page, psid, "m_9", "m_10"))
	if ev.Kind != dmflow.KindDelivery || ev.MID != "m_9" || !ev.Time.Equal(t0) {
		t.Errorf("delivery = %+v", ev)
	}
	ev = one(t, wh.Handover(page, psid, "1", "2"))
	if ev.Handover == nil || ev.Handover.Action != "pass" || ev.Handover.PrevOwner != "1" || ev.Handover.NewOwner != "2" {
		t.Errorf("handover = %+v", ev)
	}
	ev = one(t, wh.Standby(page, psid, "m_6", "x"))
	if !ev.Standby {
		t.Errorf("standby item not marked Standby")
	}
	ev = one(t, wh.Reaction(page, psid, "m_1", "love", "❤"))
	if ev.Reaction == nil || ev.Reaction.Emoji != "❤" || ev.Reaction.Action != "react" {
		t.Errorf("reaction = %+v", ev)
	}
}

// TestParseReferenceShapes parses the shapes of Meta's reference samples:
// a postback as a {field, value} change with a string timestamp in
// seconds, and an item with only a user_ref (skipped: no PSID).
func TestParseReferenceShapes(t *testing.T) {
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1527459824000,"changes":[{"field":"messaging_postbacks","value":
	{"sender":{"id":"` + psid + `"},"recipient":{"id":"` + page + `"},"timestamp":"1527459824",
	 "postback":{"mid":"m_X","title":"T","payload":"P","referral":{"ref":"R","source":"SHORT-URL","type":"OPEN_THREAD"}}}}]}]}`
	ev := one(t, []byte(body))
	if ev.Kind != dmflow.KindPostback || ev.Payload != "P" || !ev.Time.Equal(time.Unix(1527459824, 0).UTC()) || ev.Referral.Ref != "R" {
		t.Errorf("change-shaped postback = %+v", ev)
	}
	userRef := `{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"user_ref":"abc"},"recipient":{"id":"1"},"timestamp":1,"optin":{"ref":"x"}}]}]}`
	if evs, err := messenger.Parse([]byte(userRef)); err != nil || len(evs) != 0 {
		t.Errorf("user_ref-only item = %v, %v; want skipped", evs, err)
	}
	if evs, _ := messenger.Parse([]byte(`{"object":"instagram","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"mid":"m"}}]}]}`)); len(evs) != 0 {
		t.Errorf("instagram body parsed as Messenger: %v", evs)
	}
}

func TestWebhook(t *testing.T) {
	var got []dmflow.Event
	h := messenger.NewWebhook(messenger.WebhookConfig{Adapter: messenger.Adapter{VerifyToken: "vt", AppSecrets: []string{secret}}},
		func(_ context.Context, evs []dmflow.Event) error { got = append(got, evs...); return nil })
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=c123")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	wh := messengertest.Webhook{Secret: secret}
	body := wh.Text(page, psid, "m_1", "hi")
	if code, err := wh.Post(context.Background(), nil, srv.URL, body); err != nil || code != 200 || len(got) != 1 {
		t.Fatalf("signed post: %d %v, %d events", code, err, len(got))
	}
	bad := messengertest.Webhook{Secret: "other"}
	if code, _ := bad.Post(context.Background(), nil, srv.URL, body); code != http.StatusForbidden {
		t.Errorf("wrong secret: %d, want 403", code)
	}
	resp, _ = http.Post(srv.URL, "application/json", strings.NewReader(string(body)))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", resp.StatusCode)
	}
}

func TestClientEncoding(t *testing.T) {
	g := messengertest.NewServer(messengertest.Config{})
	defer g.Close()
	c := messenger.NewClient(messenger.ClientConfig{BaseURL: g.URL, Tokens: messenger.PageTokens{page: "tok"}, MaxRetries: -1})
	out := dmflow.Outgoing{Key: dmflow.SessionKey{Account: page, User: psid}, To: dmflow.Recipient{ID: psid}}
	ctx := context.Background()
	send := func(r dmflow.Reply, tag string, last time.Time) error {
		m := out
		m.Reply, m.Tag, m.LastInbound = r, tag, last
		_, err := c.Send(ctx, m)
		return err
	}
	if err := send(dmflow.Reply{Kind: dmflow.ReplyGeneric, Elements: []dmflow.Element{{Title: "Hat", Subtitle: "red",
		Buttons: []dmflow.Button{{Type: "postback", Title: "Buy", Payload: "BUY"}}}}}, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := send(dmflow.Reply{Kind: dmflow.ReplyButtons, Text: "Next?", Buttons: []dmflow.Button{{Type: "web_url", Title: "Site", URL: "https://example.com"}}}, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Three days after the last message a person may still answer with HUMAN_AGENT.
	if err := send(dmflow.Reply{Kind: dmflow.ReplyText, Text: "agent here"}, dmflow.TagHumanAgent, time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := send(dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOn}, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	msgs := g.Messages()
	if len(msgs) != 4 || msgs[0].Template != "generic" || msgs[1].Template != "button" ||
		msgs[2].MessagingType != "MESSAGE_TAG" || msgs[2].Tag != "HUMAN_AGENT" || msgs[0].MessagingType != "RESPONSE" || msgs[3].SenderAction != "typing_on" {
		t.Errorf("sent %+v", msgs)
	}
	err := send(dmflow.Reply{Kind: dmflow.ReplyText, Text: "x", QuickReplies: make([]dmflow.QuickReply, 14)}, "", time.Time{})
	if !errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("14 quick replies: %v, want permanent", err)
	}
	g.Inject(messengertest.Fault{Code: messenger.CodeToken})
	if err := send(dmflow.Reply{Kind: dmflow.ReplyText, Text: "x"}, "", time.Time{}); !errors.Is(err, messenger.ErrAuth) || dmflow.ClassOf(err) != dmflow.ClassPermanent {
		t.Errorf("token error: %v", err)
	}
	var ae *messenger.APIError
	g.Inject(messengertest.Fault{Code: messenger.CodeRateLimit})
	if err := send(dmflow.Reply{Kind: dmflow.ReplyText, Text: "x"}, "", time.Time{}); !errors.As(err, &ae) || ae.RetryAfter() <= 0 {
		t.Errorf("rate limit: %v, want a RetryAfter", err)
	}
}

func TestSetProfile(t *testing.T) {
	g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"tok": page}})
	defer g.Close()
	c := messenger.NewClient(messenger.ClientConfig{BaseURL: g.URL, Tokens: messenger.PageTokens{page: "tok"}})
	err := c.SetProfile(context.Background(), page, messenger.Profile{
		GetStarted: "START",
		Greeting:   map[string]string{"default": "Hi {{user_first_name}}!"},
		PersistentMenu: []messenger.Menu{{Locale: "default", Buttons: []dmflow.Button{
			{Type: "postback", Title: "Talk to us", Payload: "AGENT"}, {Type: "web_url", Title: "Shop", URL: "https://example.com"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := g.Profile(page)
	if string(p["get_started"]) != `{"payload":"START"}` || !strings.Contains(string(p["persistent_menu"]), `"call_to_actions"`) || len(p["greeting"]) == 0 {
		t.Errorf("profile on the double: %s", p)
	}
	err = c.SetProfile(context.Background(), page, messenger.Profile{PersistentMenu: []messenger.Menu{{Locale: "default", Buttons: []dmflow.Button{{Type: "postback", Title: "x"}}}}})
	if !errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("postback button without payload: %v", err)
	}
}
