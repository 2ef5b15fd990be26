package e2e_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
	"github.com/dmflow/dmflow/internal/testutil"
)

const (
	msgrPage        = messengertest.DefaultPage
	msgrToken       = "EAAe2epagetoken7f6e5d"
	msgrSecret      = "e2e-msgr-secret-1a2b3c"
	msgrVerifyToken = "e2e-msgr-verify-4d5e6f"
)

// TestOneFlowTwoChannels holds the same conversation on Instagram and
// Messenger through one real server, against both Graph doubles, with
// both platforms' echoes delivered back. The same user id on both
// channels is two conversations (the session key is account + user, and
// the accounts are the IG_ID and the Page id); flows see event.channel.
func TestOneFlowTwoChannels(t *testing.T) {
	w := newWorld(t, worldOpts{flow: "channels.yaml", echoes: true})
	mwh := messengertest.Webhook{Secret: msgrSecret}
	var msgr *messengertest.Server
	msgr = messengertest.NewServer(messengertest.Config{
		Tokens: map[string]string{msgrToken: msgrPage}, WebhookSecret: msgrSecret,
		OnEcho: func(body []byte, sig string) { // as Messenger would, after each accepted send
			if n := w.current(); n != nil {
				req, _ := http.NewRequest(http.MethodPost, n.url+"/webhook/messenger", bytes.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", sig)
				if resp, err := w.client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		},
	})
	t.Cleanup(msgr.Close)
	w.env = append(w.env, "MESSENGER_PAGE_ID="+msgrPage, "MESSENGER_PAGE_ACCESS_TOKEN="+msgrToken,
		"MESSENGER_APP_SECRET="+msgrSecret, "MESSENGER_WEBHOOK_VERIFY_TOKEN="+msgrVerifyToken,
		"DMFLOW_MESSENGER_GRAPH_URL="+msgr.URL)
	n := w.start()

	// The Messenger subscription handshake.
	resp, err := w.client.Get(n.url + "/webhook/messenger?hub.mode=subscribe&hub.verify_token=" + msgrVerifyToken + "&hub.challenge=77")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("messenger handshake: %v %v", resp, err)
	}
	resp.Body.Close()

	const user = "31337" // the same id string on both channels
	msgrReplies := func(n int) []string {
		t.Helper()
		var got []string
		ok := testutil.Poll(testutil.Scale(15*time.Second), func() bool {
			got = got[:0]
			for _, m := range msgr.Messages() {
				if m.Recipient == user && m.Text != "" {
					got = append(got, m.Text)
				}
			}
			return len(got) >= n
		})
		if !ok {
			t.Fatalf("messenger: %d replies, want %d: %q", len(got), n, got)
		}
		return got
	}
	postMsgr := func(body []byte) {
		t.Helper()
		code, err := mwh.Post(context.Background(), w.client, n.url+"/webhook/messenger", body)
		if err != nil || code != 200 {
			t.Fatalf("messenger webhook: %d %v", code, err)
		}
	}

	// Interleaved: each channel's conversation advances on its own.
	w.mustPost(w.text(user, "ig.1", "hi"))
	postMsgr(mwh.Text(msgrPage, user, "m_fb1", "hi"))
	w.waitReplies(user, 1, 15*time.Second)
	msgrReplies(1)
	w.mustPost(w.text(user, "ig.2", "Ann"))
	postMsgr(mwh.Text(msgrPage, user, "m_fb2", "Bob"))
	w.waitReplies(user, 2, 15*time.Second)
	msgrReplies(2)
	w.mustPost(w.wh.QuickReply(account, user, "ig.3", "Pricing", "PRICING"))
	postMsgr(mwh.QuickReply(msgrPage, user, "m_fb3", "Pricing", "PRICING"))
	ig := w.waitReplies(user, 3, 15*time.Second)
	fb := msgrReplies(3)

	wantIG := []string{"Hi from instagram! Your name?", "Nice to meet you, Ann. What do you need?", "Basic is $9 on instagram, Ann."}
	wantFB := []string{"Hi from messenger! Your name?", "Nice to meet you, Bob. What do you need?", "Basic is $9 on messenger, Bob."}
	if !slices.Equal(ig, wantIG) {
		t.Errorf("instagram replies %q, want %q", ig, wantIG)
	}
	if !slices.Equal(fb, wantFB) {
		t.Errorf("messenger replies %q, want %q", fb, wantFB)
	}
	for _, m := range msgr.Messages() {
		if m.Text == "Nice to meet you, Bob. What do you need?" && m.QuickReplies != 2 {
			t.Errorf("messenger menu carried %d quick replies, want 2", m.QuickReplies)
		}
		if m.Page != msgrPage || m.MessagingType != "RESPONSE" {
			t.Errorf("messenger send %+v: want page %s, RESPONSE", m, msgrPage)
		}
	}
	for _, m := range w.graph.Messages() {
		if m.Account != account {
			t.Errorf("instagram double got a send for account %s", m.Account)
		}
	}
	// Own echoes on both channels were recognised: nobody was handed off.
	if code, body := w.admin("GET", "/admin/handoffs", ""); code != 200 || bytes.Contains([]byte(body), []byte(user)) {
		t.Errorf("handoffs after the conversation: %d %s", code, body)
	}
}
