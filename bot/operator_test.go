package bot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	"github.com/dmflow/dmflow/engine"
)

func TestOperatorMessageReply(t *testing.T) {
	long := strings.Repeat("x", dmflow.MaxTextBytes+1)
	many := make([]dmflow.QuickReply, dmflow.MaxQuickReplies+1)
	for i := range many {
		many[i].Title = "q"
	}
	tests := []struct {
		name string
		m    bot.OperatorMessage
		err  string // "" ok
	}{
		{"text", bot.OperatorMessage{Text: "hi"}, ""},
		{"quick replies", bot.OperatorMessage{Text: "hi", QuickReplies: []dmflow.QuickReply{{Title: "Yes"}, {Type: "user_email"}}}, ""},
		{"empty", bot.OperatorMessage{Text: " "}, "text is required"},
		{"too long", bot.OperatorMessage{Text: long}, "at most 1000"},
		{"bad utf-8", bot.OperatorMessage{Text: "\xff"}, "UTF-8"},
		{"too many quick replies", bot.OperatorMessage{Text: "hi", QuickReplies: many}, "at most 13"},
		{"long title", bot.OperatorMessage{Text: "hi", QuickReplies: []dmflow.QuickReply{{Title: strings.Repeat("é", 21)}}}, "1 to 20 characters"},
		{"bad type", bot.OperatorMessage{Text: "hi", QuickReplies: []dmflow.QuickReply{{Type: "location"}}}, `type "location"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := tt.m.Reply()
			if tt.err == "" {
				if err != nil || rep.Kind != dmflow.ReplyText || rep.Text != tt.m.Text {
					t.Fatalf("Reply() = %+v, %v", rep, err)
				}
				for _, q := range rep.QuickReplies {
					if q.Type == "" && q.Payload != q.Title {
						t.Fatalf("quick reply payload defaults to the title: %+v", q)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Reply() error %v, want %q", err, tt.err)
			}
		})
	}
}

// TestAdminSendWindow: POST /admin/sessions/{a}/{u}/send answers 202 and
// the message goes out (tagged HUMAN_AGENT in a handed-off conversation),
// 409 outside the 24-hour window when not handed off, 422 beyond 7 days,
// 404 for an unknown user, 400 for a bad body. A message queued while the
// window was open but sent after it closed is dead-lettered with the
// reason by the sender's own check.
func TestAdminSendWindow(t *testing.T) {
	clock := newClock()
	s := newSender()
	var (
		mu   sync.Mutex // the users' sends run side by side
		tags []string
	)
	lastTag := func() string {
		mu.Lock()
		defer mu.Unlock()
		return tags[len(tags)-1]
	}
	s.fail = func(m dmflow.Outgoing, _ int) error {
		w := dmflow.CheckWindow(m, clock.Now()) // what the Instagram sender does
		if w.OK {
			mu.Lock()
			tags = append(tags, w.Tag)
			mu.Unlock()
		}
		return w.Err()
	}
	cfg := testConfig(s)
	// The handoff is never released when idle: the test jumps the clock
	// by days, and a release timer firing meanwhile would race the sends.
	cfg.Engine, cfg.Clock = greetEngineWith(t, &engine.Options{HandoffRelease: -1}), clock.Now
	b := start(t, cfg)
	c := adminClient{t, httptest.NewServer(b.AdminHandler("tok"))}
	defer c.srv.Close()

	ingest(t, b, msg("ann", "a1", "hi"), msg("bob", "b1", "hi"))
	s.waitSent(t)
	s.waitSent(t)
	c.call("POST", "/admin/sessions/acct/ann/handoff", "", http.StatusAccepted)
	eventually(t, "ann handed off", func() bool {
		sess, err := cfg.Store.GetSession(ctx, key("ann"))
		return err == nil && sess.Handoff != nil
	})

	c.call("POST", "/admin/sessions/acct/bob/send", `{"text": "inside the window"}`, http.StatusAccepted)
	if got := s.waitSent(t); got.Text != "inside the window" || lastTag() != "" {
		t.Fatalf("sent %+v tag %q", got, lastTag())
	}

	clock.Add(25 * time.Hour)
	out := c.call("POST", "/admin/sessions/acct/ann/send", `{"text": "Anna here", "quick_replies": [{"title": "Thanks"}]}`, http.StatusAccepted)
	if !strings.Contains(out, `"queued": "send"`) {
		t.Fatal(out)
	}
	if got := s.waitSent(t); got.Text != "Anna here" || lastTag() != dmflow.TagHumanAgent {
		t.Fatalf("sent %+v tag %q, want HUMAN_AGENT", got, lastTag())
	}
	if out := c.call("POST", "/admin/sessions/acct/bob/send", `{"text": "late"}`, http.StatusConflict); !strings.Contains(out, "not handed off") {
		t.Fatal(out)
	}
	c.call("POST", "/admin/sessions/acct/nobody/send", `{"text": "hi"}`, http.StatusNotFound)
	c.call("POST", "/admin/sessions/acct/ann/send", `{"txt": "hi"}`, http.StatusBadRequest)
	c.call("POST", "/admin/sessions/acct/ann/send", `{"text": ""}`, http.StatusBadRequest)

	clock.Add(7 * 24 * time.Hour)
	if out := c.call("POST", "/admin/sessions/acct/ann/send", `{"text": "too late"}`, http.StatusUnprocessableEntity); !strings.Contains(out, "7 days") {
		t.Fatal(out)
	}
	// Queued before the window closed (Command skips Send's check): the
	// sender refuses it and it is dead-lettered with the reason.
	rep := dmflow.Reply{Kind: dmflow.ReplyText, Text: "queued too late"}
	if _, err := b.Command(ctx, key("ann"), dmflow.AdminCommand{Op: dmflow.AdminSend, Reply: &rep}); err != nil {
		t.Fatal(err)
	}
	var dead []dmflow.DeadLetter
	eventually(t, "the late message to be dead-lettered", func() bool {
		dead, _ = cfg.Store.DeadLetters(ctx, 10)
		return len(dead) == 1
	})
	if d := dead[0]; d.Item.Message.Reply.Text != "queued too late" || d.Item.Message.Tag != dmflow.TagHumanAgent ||
		!strings.Contains(d.Reason, "HUMAN_AGENT replies are allowed for 7 days") {
		t.Fatalf("dead letter %+v", d)
	}
}
