package instagram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const token = "IGAAsecret-token-value"

// setup starts a double and a client wired to it, with fast retries.
func setup(t *testing.T, cfg igtest.Config, mod func(*instagram.ClientConfig)) (*igtest.Server, *instagram.Client) {
	t.Helper()
	cfg.Now = func() time.Time { return testNow }
	cfg.Account = acct
	srv := igtest.NewServer(cfg)
	t.Cleanup(srv.Close)
	cc := instagram.ClientConfig{
		BaseURL: srv.URL, Tokens: instagram.StaticToken(token),
		Backoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Clock:      func() time.Time { return testNow },
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
	}
	if mod != nil {
		mod(&cc)
	}
	return srv, instagram.NewClient(cc)
}

func out(r dmflow.Reply) dmflow.Outgoing {
	return dmflow.Outgoing{Key: dmflow.SessionKey{Account: acct, User: user}, To: dmflow.Recipient{ID: user}, Reply: r, LastInbound: testNow.Add(-time.Minute)}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSendKinds(t *testing.T) {
	tests := []struct {
		name  string
		reply dmflow.Reply
		want  string // the recorded request, minus recipient
	}{
		{"text", dmflow.Reply{Kind: dmflow.ReplyText, Text: "Hello ä 😀"},
			`{"messaging_type":"RESPONSE","message":{"text":"Hello ä 😀"}}`},
		{"quick replies", dmflow.Reply{Kind: dmflow.ReplyText, Text: "Pick", QuickReplies: []dmflow.QuickReply{
			{Title: "Pro plan for power users", Payload: "PRO"}, {Type: "user_email"}}},
			`{"messaging_type":"RESPONSE","message":{"text":"Pick","quick_replies":[{"content_type":"text","title":"Pro plan for power u","payload":"PRO"},{"content_type":"user_email"}]}}`},
		{"image url", dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image", URL: "https://x/a.jpg"}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"image","payload":{"url":"https://x/a.jpg"}}}}`},
		{"audio id", dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "audio", AttachmentID: "123"}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"audio","payload":{"attachment_id":"123"}}}}`},
		{"video", dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "video", URL: "https://x/v.mp4"}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"video","payload":{"url":"https://x/v.mp4"}}}}`},
		{"file", dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "file", URL: "https://x/f.pdf"}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"file","payload":{"url":"https://x/f.pdf"}}}}`},
		{"several images", dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image", URL: "https://x/1.jpg"}, {Type: "image", AttachmentID: "9"}}},
			`{"messaging_type":"RESPONSE","message":{"attachments":[{"type":"image","payload":{"url":"https://x/1.jpg"}},{"type":"image","payload":{"attachment_id":"9"}}]}}`},
		{"like heart", dmflow.Reply{Kind: dmflow.ReplyLikeHeart},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"like_heart"}}}`},
		{"media share", dmflow.Reply{Kind: dmflow.ReplyMediaShare, PostID: "1790001"},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"MEDIA_SHARE","payload":{"id":"1790001"}}}}`},
		{"generic", dmflow.Reply{Kind: dmflow.ReplyGeneric, Elements: []dmflow.Element{{Title: "Tee", Subtitle: "$24", ImageURL: "https://x/t.jpg", DefaultURL: "https://x/t",
			Buttons: []dmflow.Button{{Type: "web_url", Title: "View", URL: "https://x/t"}, {Type: "postback", Title: "Buy", Payload: "BUY"}}}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"generic","elements":[{"title":"Tee","subtitle":"$24","image_url":"https://x/t.jpg","default_action":{"type":"web_url","url":"https://x/t"},"buttons":[{"type":"web_url","title":"View","url":"https://x/t"},{"type":"postback","title":"Buy","payload":"BUY"}]}]}}}}`},
		{"buttons", dmflow.Reply{Kind: dmflow.ReplyButtons, Text: "Need help?", Buttons: []dmflow.Button{{Type: "postback", Title: "Agent", Payload: "AGENT"}}},
			`{"messaging_type":"RESPONSE","message":{"attachment":{"type":"template","payload":{"template_type":"button","text":"Need help?","buttons":[{"type":"postback","title":"Agent","payload":"AGENT"}]}}}}`},
		{"typing on", dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOn}, `{"sender_action":"typing_on"}`},
		{"typing off", dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOff}, `{"sender_action":"typing_off"}`},
		{"mark seen", dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionMarkSeen}, `{"sender_action":"mark_seen"}`},
		{"react", dmflow.Reply{Kind: dmflow.ReplyReact, MID: "mid.1", Reaction: "love"}, `{"sender_action":"react","payload":{"message_id":"mid.1","reaction":"love"}}`},
		{"unreact", dmflow.Reply{Kind: dmflow.ReplyReact, MID: "mid.1"}, `{"sender_action":"unreact","payload":{"message_id":"mid.1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, igtest.Config{}, nil)
			id, err := c.Send(context.Background(), out(tt.reply))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages recorded", len(msgs))
			}
			m := msgs[0]
			if m.ID != id || m.Recipient.ID != user || m.Account != acct {
				t.Errorf("id %q (returned %q), recipient %q, account %q", m.ID, id, m.Recipient.ID, m.Account)
			}
			var got map[string]any
			json.Unmarshal(m.Raw, &got)
			delete(got, "recipient")
			if g := jsonOf(t, got); g != canonical(t, tt.want) {
				t.Errorf("body\n got %s\nwant %s", g, canonical(t, tt.want))
			}
		})
	}
}

func canonical(t *testing.T, s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return jsonOf(t, v)
}

func TestSendRejectsInvalidReplies(t *testing.T) {
	qrs := make([]dmflow.QuickReply, 14)
	for i := range qrs {
		qrs[i] = dmflow.QuickReply{Title: "x", Payload: "x"}
	}
	elems := make([]dmflow.Element, 11)
	for i := range elems {
		elems[i] = dmflow.Element{Title: "t"}
	}
	btn := dmflow.Button{Type: "postback", Title: "b", Payload: "p"}
	for name, r := range map[string]dmflow.Reply{
		"14 quick replies": {Kind: dmflow.ReplyText, Text: "x", QuickReplies: qrs},
		"11 elements":      {Kind: dmflow.ReplyGeneric, Elements: elems},
		"4 buttons":        {Kind: dmflow.ReplyButtons, Text: "x", Buttons: []dmflow.Button{btn, btn, btn, btn}},
		"empty text":       {Kind: dmflow.ReplyText},
		"bad action":       {Kind: dmflow.ReplyAction, Action: "dance"},
		"media no url":     {Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "image"}}},
		"media bad type":   {Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "gif", URL: "u"}}},
		"react no mid":     {Kind: dmflow.ReplyReact, Reaction: "love"},
		"unknown kind":     {Kind: "hologram"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, c := setup(t, igtest.Config{}, nil)
			_, err := c.Send(context.Background(), out(r))
			if !errors.Is(err, dmflow.ErrPermanent) || !errors.Is(err, dmflow.ErrInvalid) {
				t.Errorf("err = %v, want permanent invalid", err)
			}
			if srv.Calls() != 0 {
				t.Errorf("%d Graph calls for an invalid reply", srv.Calls())
			}
		})
	}
}

func TestSendSplitsLongText(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	para := strings.Repeat("Привет, мир! 😀 ", 40) // 2 and 4 byte runes
	text := para + "\n\n" + para + "\n\n" + para
	r := dmflow.Reply{Kind: dmflow.ReplyText, Text: text, QuickReplies: []dmflow.QuickReply{{Title: "Ok", Payload: "OK"}}}
	id, err := c.Send(context.Background(), out(r))
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) < 3 || msgs[len(msgs)-1].ID != id {
		t.Fatalf("%d parts, last id %q vs %q", len(msgs), msgs[len(msgs)-1].ID, id)
	}
	var joined []string
	for i, m := range msgs {
		txt := m.Text()
		if len(txt) > 1000 || !utf8.ValidString(txt) {
			t.Errorf("part %d: %d bytes, valid %v", i, len(txt), utf8.ValidString(txt))
		}
		if hasQR := len(m.Message.QuickReplies) > 0; hasQR != (i == len(msgs)-1) {
			t.Errorf("part %d quick replies %v", i, hasQR)
		}
		joined = append(joined, txt)
	}
	if strings.Join(strings.Fields(strings.Join(joined, " ")), " ") != strings.Join(strings.Fields(text), " ") {
		t.Error("parts do not add up to the text")
	}
}

func TestSplitText(t *testing.T) {
	family := "👨\u200d👩\u200d👧" // one character, 18 bytes
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"at space", "hello world again", 12, []string{"hello world", "again"}},
		{"paragraph first", "aaaa bbbb\n\ncccc dddd", 16, []string{"aaaa bbbb", "cccc dddd"}},
		{"no break", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"utf8 boundary", "ääää", 3, []string{"ä", "ä", "ä", "ä"}},
		{"zwj sequence kept", "abc " + family, 20, []string{"abc", family}},
		{"cluster longer than max", family, 10, []string{"👨\u200d", "👩\u200d", "👧"}},
		{"combining mark kept", "xe\u0301e\u0301", 4, []string{"xe\u0301", "e\u0301"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := instagram.SplitText(tt.in, tt.max)
			if jsonOf(t, got) != jsonOf(t, tt.want) {
				t.Errorf("SplitText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestSendErrorClasses(t *testing.T) {
	type want struct {
		permanent, ambiguous, window, auth bool
		calls                              int
		recorded                           int
	}
	tests := []struct {
		name  string
		fault igtest.Fault
		want  want
	}{
		{"service 2 then ok", igtest.Fault{Path: "/messages", Code: 2, Times: 2}, want{calls: 3, recorded: 1}},
		{"unknown 1 then ok", igtest.Fault{Path: "/messages", Code: 1, Times: 1}, want{calls: 2, recorded: 1}},
		{"5xx then ok", igtest.Fault{Path: "/messages", Status: 503, Times: 1}, want{calls: 2, recorded: 1}},
		{"429 then ok", igtest.Fault{Path: "/messages", Status: 429, Code: 4, Times: 1}, want{calls: 2, recorded: 1}},
		{"613 then ok", igtest.Fault{Path: "/messages", Code: 613, Subcode: 2534040, Times: 1}, want{calls: 2, recorded: 1}},
		{"transient flag", igtest.Fault{Path: "/messages", Code: 9999, Transient: true, Times: 1}, want{calls: 2, recorded: 1}},
		{"retries exhausted", igtest.Fault{Path: "/messages", Code: 2, Times: -1}, want{calls: 4}},
		{"outside window", igtest.Fault{Path: "/messages", Code: 10, Subcode: 2534022}, want{permanent: true, window: true, calls: 1}},
		{"no such user", igtest.Fault{Path: "/messages", Code: 100, Subcode: 2534014}, want{permanent: true, calls: 1}},
		{"bad param", igtest.Fault{Path: "/messages", Code: 100}, want{permanent: true, calls: 1}},
		{"token", igtest.Fault{Path: "/messages", Code: 190, Subcode: 463, Status: 401}, want{permanent: true, auth: true, calls: 1}},
		{"permission", igtest.Fault{Path: "/messages", Code: 200, Subcode: 2534041, Status: 403}, want{permanent: true, calls: 1}},
		{"unavailable", igtest.Fault{Path: "/messages", Code: 551}, want{permanent: true, calls: 1}},
		{"policy block", igtest.Fault{Path: "/messages", Code: 368}, want{permanent: true, calls: 1}},
		{"missing access 1/99", igtest.Fault{Path: "/messages", Code: 1, Subcode: 99}, want{permanent: true, calls: 1}},
		{"ambiguous 1/1357046", igtest.Fault{Path: "/messages", Code: 1, Subcode: 1357046, Deliver: true}, want{ambiguous: true, calls: 1, recorded: 1}},
		// A reset after the request was written is retried: at least once,
		// so a message Meta did process arrives twice.
		{"dropped after write", igtest.Fault{Path: "/messages", Drop: true, Deliver: true, Times: 1}, want{calls: 2, recorded: 2}},
		{"dropped", igtest.Fault{Path: "/messages", Drop: true, Times: 2}, want{calls: 3, recorded: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, igtest.Config{}, nil)
			srv.Inject(tt.fault)
			_, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
			w := tt.want
			ok := w.permanent || w.ambiguous || w.calls == 4
			if (err != nil) != ok {
				t.Fatalf("err = %v", err)
			}
			if errors.Is(err, dmflow.ErrPermanent) != w.permanent || errors.Is(err, dmflow.ErrAmbiguous) != w.ambiguous ||
				errors.Is(err, dmflow.ErrOutsideWindow) != w.window || errors.Is(err, instagram.ErrAuth) != w.auth {
				t.Errorf("err = %v: permanent %v ambiguous %v window %v auth %v", err, errors.Is(err, dmflow.ErrPermanent),
					errors.Is(err, dmflow.ErrAmbiguous), errors.Is(err, dmflow.ErrOutsideWindow), errors.Is(err, instagram.ErrAuth))
			}
			if srv.Calls() != w.calls || len(srv.Messages()) != w.recorded {
				t.Errorf("calls %d recorded %d, want %d and %d", srv.Calls(), len(srv.Messages()), w.calls, w.recorded)
			}
			var ae *instagram.APIError
			if err != nil && !errors.As(err, &ae) {
				t.Errorf("err %T is not an *APIError", err)
			}
			if ae != nil && ae.Code != 0 && ae.FBTraceID == "" {
				t.Errorf("fbtrace_id missing: %+v", ae)
			}
		})
	}
}

func TestSendTimeoutIsRetried(t *testing.T) {
	// Every attempt that is not held must beat the timeout on a busy
	// machine; held ones outlast it.
	timeout := testutil.Scale(time.Second)
	srv, c := setup(t, igtest.Config{}, func(cc *instagram.ClientConfig) {
		cc.HTTPClient = &http.Client{Timeout: timeout}
	})
	srv.Inject(igtest.Fault{Path: "/messages", Latency: 3 * timeout, Status: 500, Times: 1})
	if _, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"})); err != nil {
		t.Fatalf("a timeout then success: err = %v", err)
	}
	srv.Inject(igtest.Fault{Path: "/messages", Latency: 3 * timeout, Status: 500, Times: -1})
	_, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	var ae *instagram.APIError
	if !errors.As(err, &ae) || ae.Class != instagram.Retryable || !ae.Written || errors.Is(err, dmflow.ErrAmbiguous) {
		t.Errorf("timeouts only: err = %v (%+v), want retryable, written", err, ae)
	}
}

func TestSendHonoursUsageThrottle(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	srv.Inject(igtest.Fault{Path: "/messages", Code: 80002, Header: http.Header{
		"X-Business-Use-Case-Usage": {`{"` + acct + `":[{"type":"instagram","call_count":100,"total_cputime":12,"total_time":30,"estimated_time_to_regain_access":5}]}`},
	}})
	_, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	var ra dmflow.RetryAfterer
	if !errors.As(err, &ra) || ra.RetryAfter() != 5*time.Minute || errors.Is(err, dmflow.ErrPermanent) {
		t.Fatalf("err = %v, want retryable with RetryAfter 5m", err)
	}
	// While throttled the client does not call Graph at all.
	_, err = c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "again"}))
	if !errors.As(err, &ra) || ra.RetryAfter() <= 0 || srv.Calls() != 1 {
		t.Errorf("second send: err %v, calls %d", err, srv.Calls())
	}
}

func TestRateLimitQueues(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, func(cc *instagram.ClientConfig) {
		cc.RateLimits = instagram.RateLimits{Text: 1.0 / 3600} // one per hour, burst 1
	})
	if _, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "1"})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "2"}))
	if err == nil || errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("second send within the hour: err = %v, want a retryable wait error", err)
	}
	if srv.Calls() != 1 {
		t.Errorf("the limiter let %d calls through", srv.Calls())
	}
	// Another account has its own budget.
	m := out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "3"})
	m.Key.Account = "me"
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Errorf("other account: %v", err)
	}
}

func TestRateLimitConcurrentSendsAllDelivered(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, func(cc *instagram.ClientConfig) {
		cc.RateLimits = instagram.RateLimits{Text: 200}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "x"}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Messages()); n != 20 {
		t.Errorf("%d delivered", n)
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name    string
		age     time.Duration
		tag     string
		comment bool
		sent    bool
		sentTag string
	}{
		{"fresh", time.Hour, "", false, true, ""},
		{"23h59", 24*time.Hour - time.Minute, "", false, true, ""},
		{"25h", 25 * time.Hour, "", false, false, ""},
		{"25h human agent", 25 * time.Hour, dmflow.TagHumanAgent, false, true, dmflow.TagHumanAgent},
		{"1h human agent sends untagged", time.Hour, dmflow.TagHumanAgent, false, true, ""},
		{"8d human agent", 8 * 24 * time.Hour, dmflow.TagHumanAgent, false, false, ""},
		{"private reply 6d", 6 * 24 * time.Hour, "", true, true, ""},
		{"private reply 8d", 8 * 24 * time.Hour, "", true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, igtest.Config{}, nil)
			srv.SetUserMessagedAt(user, testNow.Add(-tt.age))
			m := out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"})
			m.Tag, m.LastInbound = tt.tag, testNow.Add(-tt.age)
			if tt.comment {
				srv.AddComment("c1", user, testNow.Add(-tt.age))
				m.To = dmflow.Recipient{CommentID: "c1"}
			}
			_, err := c.Send(context.Background(), m)
			if tt.sent != (err == nil) {
				t.Fatalf("err = %v, want sent %v", err, tt.sent)
			}
			if !tt.sent {
				var we *instagram.WindowError
				if !errors.Is(err, dmflow.ErrOutsideWindow) || !errors.As(err, &we) || srv.Calls() != 0 {
					t.Errorf("err = %v, calls %d: want a WindowError without a call", err, srv.Calls())
				}
				return
			}
			if got := srv.Messages()[0]; got.Tag != tt.sentTag {
				t.Errorf("tag %q, want %q", got.Tag, tt.sentTag)
			}
		})
	}
}

func TestWindowEnforcedByPlatform(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	srv.SetUserMessagedAt(user, testNow.Add(-48*time.Hour))
	m := out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"})
	m.LastInbound = time.Time{} // unknown to the sender
	_, err := c.Send(context.Background(), m)
	var ae *instagram.APIError
	if !errors.Is(err, dmflow.ErrOutsideWindow) || !errors.As(err, &ae) || ae.Subcode != 2534022 {
		t.Errorf("err = %v, want the platform's 10/2534022", err)
	}
}

func TestPrivateReplyOncePerComment(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	srv.AddComment("c1", user, testNow.Add(-time.Hour))
	m := out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "Details in DM"})
	m.To, m.LastInbound = dmflow.Recipient{CommentID: "c1"}, testNow.Add(-time.Hour)
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := srv.Messages()[0]; got.Recipient.CommentID != "c1" || got.RecipientID != user {
		t.Errorf("recorded %+v", got)
	}
	_, err := c.Send(context.Background(), m)
	if !errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("second private reply: %v", err)
	}
}

func TestProfileCached(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	srv.SetProfile(user, igtest.UserProfile{Username: "jane.doe", Name: "Jane"})
	for range 3 {
		p, err := c.Profile(context.Background(), acct, user)
		if err != nil || p.Username != "jane.doe" || p.Name != "Jane" || !p.Fetched.Equal(testNow) {
			t.Fatalf("Profile = %+v, %v", p, err)
		}
	}
	if srv.Calls() != 1 {
		t.Errorf("%d calls, want 1 (cached)", srv.Calls())
	}
	var _ interface{ ForgetProfile(account, user string) } = c // bot.ProfileForgetter
	c.ForgetProfile(acct, user)                                // an erasure drops the cached profile
	if _, err := c.Profile(context.Background(), acct, user); err != nil || srv.Calls() != 2 {
		t.Errorf("after ForgetProfile: %d calls, %v; want a new lookup", srv.Calls(), err)
	}
	_, err := c.Profile(context.Background(), acct, "stranger")
	if !errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("no consent: %v", err)
	}
}

func TestProfileSettings(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	ctx := context.Background()
	err := c.SetIceBreakers(ctx, acct, []instagram.Localized[instagram.IceBreaker]{
		{Locale: "default", Items: []instagram.IceBreaker{{Question: "Where is my order?", Payload: "TRACK"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetPersistentMenu(ctx, "", []instagram.Localized[dmflow.Button]{
		{Locale: "default", Items: []dmflow.Button{{Type: "postback", Title: "Agent", Payload: "AGENT"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := srv.MessengerProfile(acct)
	if !strings.Contains(string(p["ice_breakers"]), "TRACK") || !strings.Contains(string(p["persistent_menu"]), "AGENT") {
		t.Errorf("messenger profile %s", jsonOf(t, p))
	}
	if err := c.SetIceBreakers(ctx, acct, []instagram.Localized[instagram.IceBreaker]{{Locale: "en_US"}}); !errors.Is(err, dmflow.ErrPermanent) {
		t.Errorf("no default locale: %v", err)
	}
	five := make([]instagram.IceBreaker, 5)
	if err := c.SetIceBreakers(ctx, acct, []instagram.Localized[instagram.IceBreaker]{{Locale: "default", Items: five}}); !errors.Is(err, dmflow.ErrInvalid) {
		t.Errorf("5 ice breakers: %v", err)
	}
}

func TestSubscribe(t *testing.T) {
	srv, c := setup(t, igtest.Config{}, nil)
	ctx := context.Background()
	if apps, err := c.SubscribedApps(ctx, acct); err != nil || len(apps) != 0 {
		t.Fatalf("before: %v %v", apps, err)
	}
	if err := c.Subscribe(ctx, acct, nil); err != nil {
		t.Fatal(err)
	}
	apps, err := c.SubscribedApps(ctx, acct)
	if err != nil || len(apps) != 1 || jsonOf(t, apps[0].Fields) != jsonOf(t, instagram.DefaultFields) {
		t.Errorf("after: %+v %v", apps, err)
	}
	if got := srv.SubscribedFields(acct); len(got) != len(instagram.DefaultFields) {
		t.Errorf("double has %v", got)
	}
}

func TestGraphCallsLoggedWithoutToken(t *testing.T) {
	var buf bytes.Buffer
	srv, c := setup(t, igtest.Config{}, func(cc *instagram.ClientConfig) {
		cc.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	srv.Inject(igtest.Fault{Path: "/messages", Code: 100, Subcode: 2534014})
	c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	logs := buf.String()
	if strings.Contains(logs, token) {
		t.Fatal("token leaked into logs")
	}
	for _, want := range []string{`"path":"/v25.0/` + acct + `/messages"`, `"code":100`, `"subcode":2534014`, `"fbtrace_id":"A`, `"status":200`, `"latency":`, `"method":"POST"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestTokenRejectedInvalidates(t *testing.T) {
	inv := &invalidator{StaticToken: instagram.StaticToken(token)}
	srv, c := setup(t, igtest.Config{}, func(cc *instagram.ClientConfig) { cc.Tokens = inv })
	srv.Inject(igtest.Fault{Path: "/messages", Code: 190})
	c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}))
	if inv.account != acct {
		t.Errorf("Invalidate not called: %q", inv.account)
	}
}

type invalidator struct {
	instagram.StaticToken
	account string
}

func (i *invalidator) Invalidate(_ context.Context, account string, _ error) { i.account = account }
