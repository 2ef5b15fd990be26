package flowtest_test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot/actions"
	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/store/mem"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestRun runs testdata/ through go test, as an embedder would.
func TestRun(t *testing.T) {
	flowtest.Run(t, "testdata", nil)
}

// TestConversation drives the shop flow from Go: replies, taps, the
// store's commits, a pending action answered later, a timer and the
// messaging window.
func TestConversation(t *testing.T) {
	ctx := context.Background()
	eng, err := flowtest.LoadEngine(nil, "testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	st := mem.New(nil)
	key := dmflow.SessionKey{Account: "acct", User: "ann"}
	c, err := flowtest.NewConversation(ctx, flowtest.Config{Engine: eng, Key: key, Clock: start, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key() != key || c.Session() != nil || !c.Now().Equal(start) {
		t.Fatalf("new conversation: key %v session %v now %v", c.Key(), c.Session(), c.Now())
	}
	say := func(text string) *flowtest.Outcome {
		t.Helper()
		o, err := c.Say(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if got := say("hi").Texts(); len(got) != 1 || got[0] != "Hi! What's your name?" {
		t.Fatalf("replies %q", got)
	}
	o := say("Al")
	if got := strings.Join(o.Texts(), "|"); got != "Hello Al! Pick one:\n     [Track] [Photo]" {
		t.Fatalf("replies %q", got)
	}
	if taps := c.Taps(); len(taps) != 2 || taps[0].Payload != "TRACK" {
		t.Fatalf("taps %+v", taps)
	}
	// Every turn went through the store's commit: the stored session is
	// the conversation's, its version bumped once per commit.
	stored, err := st.GetSession(ctx, key)
	if err != nil || stored.Version != c.Session().Version || stored.Vars["name"] != "Al" {
		t.Fatalf("stored %+v, %v; conversation %+v", stored, err, c.Session())
	}
	if _, err := c.Tap(ctx, "Nope"); err == nil || !strings.Contains(err.Error(), `no chip or button "Nope"`) {
		t.Fatalf("tap of nothing: %v", err)
	}
	// Without Answer the call stays pending until Result.
	o, err = c.Tap(ctx, "Track")
	if err != nil || len(o.Pending) != 1 || o.Pending[0].Name != "track" || c.Session().Pending == nil {
		t.Fatalf("tap Track: %+v, %v", o, err)
	}
	m, err := flowtest.NewMock("ok", `{"status":"shipped"}`)
	if err != nil {
		t.Fatal(err)
	}
	if o, err = c.Result(ctx, o.Pending[0], m); err != nil || strings.Join(o.Texts(), "|") != "Status: shipped" {
		t.Fatalf("result: %q, %v", o.Texts(), err)
	}
	// A new conversation on the same store resumes the stored session.
	c2, err := flowtest.NewConversation(ctx, flowtest.Config{Engine: eng, Key: key, Clock: start, Store: st})
	if err != nil || c2.Session() == nil || c2.Session().State != c.Session().State {
		t.Fatalf("resume: %+v, %v", c2.Session(), err)
	}
}

// TestWindowAndTimers: Advance fires the due timer at its due time; a
// reply sent more than 24 h after the user's last message is refused by
// the window, as serve's sender would refuse it.
func TestWindowAndTimers(t *testing.T) {
	ctx := context.Background()
	eng, err := flowtest.LoadEngine(nil, "testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	c, err := flowtest.NewConversation(ctx, flowtest.Config{Engine: eng, Key: dmflow.SessionKey{Account: "a", User: "u"}, Clock: start})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hi", "Al"} {
		if _, err := c.Say(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	o, err := c.Advance(ctx, 30*time.Minute)
	if err != nil || len(o.Replies) != 0 {
		t.Fatalf("30m: %q, %v", o.Texts(), err)
	}
	o, err = c.Advance(ctx, 30*time.Minute)
	if err != nil || len(o.Replies) != 2 || !o.Windows[0].OK {
		t.Fatalf("1h: %q %+v, %v", o.Texts(), o.Windows, err)
	}
	if !c.Now().Equal(start.Add(time.Hour)) {
		t.Fatalf("clock %v", c.Now())
	}
	// The nudge re-arms every hour: its replies are delivered until the
	// window closes 24 h after the user's last message, then refused.
	o, err = c.Advance(ctx, 26*time.Hour)
	if err != nil || len(o.Windows) != 52 || !o.Windows[0].OK || o.Windows[51].OK {
		t.Fatalf("after 27h: %d replies, %+v, %v", len(o.Replies), o.Windows, err)
	}
}

// TestRunnerReports: each kind of mismatch is reported at its step, and
// a Go action without a mock runs from the registry.
func TestRunnerReports(t *testing.T) {
	bot, err := os.ReadFile("testdata/shop/bot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	head := "steps:\n  - user: hi\n  - user: Al\n"
	cases := []struct{ name, src, want string }{
		{"text", head + "    bot: [Bye]\n", `bot[0].text: want "Bye", got "Hello Al! Pick one:"`},
		{"count", head + "    bot: [a, b]\n", "bot: want 2 replies, got 1"},
		{"chips", head + "    bot: [{text: 'Hello Al! Pick one:', quick_replies: [Track]}]\n", "quick_replies"},
		{"no reply", head + "    no_reply: true\n", "bot: want 0 replies, got 1"},
		{"state", head + "    state: photo\n", `state: want "photo", got "menu"`},
		{"vars", head + "    vars: {name: Bo, status: x}\n", `vars.name: want "Bo", got "Al"`},
		{"handoff", head + "    handoff: true\n", "handoff: want true, got false"},
		{"ended", head + "    ended: true\n", "ended: want true, got false"},
		{"actions", head + "    actions: [{name: track}]\n", "actions: want 1"},
		{"media", head + "  - tap: Photo\n    bot:\n      - image: https://x/y.png\n      - text: Like it?\n      - x\n", "bot[0]"},
		{"url", head + "  - tap: Track\n    mock: {track: {}}\n    actions: [{name: track, url_matches: 'nope'}]\n", "url_matches"},
		{"no mock", head + "  - tap: Track\n", `action "track" (GET https://api.example.com/t/Al) was called but has no mock`},
		{"bad tap", head + "  - tap: Nothing\n", `no chip or button "Nothing"`},
		{"as another user", head + "  - user: hi\n    as: bob\n    state: menu\n", "as bob"},
		{"bad flow", "flows: [missing.yaml]\n" + head, "flows do not load"},
		{"locale without locales", "locale: es\n" + head, "locale: the flows declare no locales"},
		{"locale", head + "    locale: es\n", `locale: want "es", got ""`},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bot.yaml"), bot, 0o644); err != nil {
		t.Fatal(err)
	}
	r := flowtest.NewRunner(&flowtest.Options{Actions: actions.NewRegistry()})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".test.yaml")
			if err := os.WriteFile(f, []byte("name: "+tc.name+"\n"+tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := r.RunFile(context.Background(), f)
			if err != nil || len(res) != 1 {
				t.Fatalf("RunFile: %v, %v", res, err)
			}
			if !strings.Contains(res[0].Failure, tc.want) || !strings.HasPrefix(res[0].String(), "--- FAIL: "+f) {
				t.Fatalf("report:\n%s\nwant it to contain %q", res[0], tc.want)
			}
		})
	}
	var cov strings.Builder
	r.PrintCoverage(&cov, true)
	if !strings.Contains(cov.String(), "coverage shop: states") || !strings.Contains(cov.String(), "not taken:") {
		t.Fatalf("coverage:\n%s", cov.String())
	}
}

func TestFind(t *testing.T) {
	if _, err := flowtest.FindTranscripts([]string{"testdata/shop/bot.yaml"}); err != nil {
		t.Fatalf("a file is taken as named: %v", err)
	}
	for _, args := range [][]string{{"missing"}, {"../internal"}} {
		if _, err := flowtest.FindBundles(args); err == nil {
			t.Errorf("FindBundles(%q): no error", args)
		}
	}
	if _, err := flowtest.FindTranscripts([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no transcripts") {
		t.Errorf("empty dir: %v", err)
	}
	bs, err := flowtest.FindBundles([]string{"testdata"})
	if err != nil || len(bs) != 1 || bs[0].Name != "testdata/shop" {
		t.Fatalf("bundles %+v, %v", bs, err)
	}
	if _, _, err := flowtest.LoadOne(nil, []string{"testdata/shop", "testdata/shop/bot.yaml"}); err == nil {
		t.Error("LoadOne of two bundles: no error")
	}
}

func TestMocks(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "m.yaml")
	os.WriteFile(good, []byte("track: {status: shipped}\nlookup: {outcome: timeout}\n"), 0o644)
	ms, err := flowtest.LoadMocks(good)
	if err != nil || ms["track"].Outcome != "ok" || ms["lookup"].Outcome != "timeout" {
		t.Fatalf("LoadMocks: %+v, %v", ms, err)
	}
	for _, src := range []string{"", "track: {outcome: maybe}\n", "[x"} {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte(src), 0o644)
		if _, err := flowtest.LoadMocks(bad); err == nil {
			t.Errorf("LoadMocks(%q): no error", src)
		}
	}
	if _, err := flowtest.LoadMocks(filepath.Join(dir, "none.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	for _, tc := range []struct{ outcome, body string }{{"maybe", ""}, {"ok", "{"}} {
		if _, err := flowtest.NewMock(tc.outcome, tc.body); err == nil {
			t.Errorf("NewMock(%q, %q): no error", tc.outcome, tc.body)
		}
	}
	m, err := flowtest.MockOf(dmflow.ActionResult{Name: "x", Outcome: "ok", Status: 200, Body: []byte(`{"n":1.50}`)})
	if err != nil || m.Status != 200 {
		t.Fatalf("MockOf: %+v, %v", m, err)
	}
	if _, err := flowtest.MockOf(dmflow.ActionResult{Name: "x", Body: []byte("{")}); err == nil {
		t.Error("MockOf of a broken body: no error")
	}
}

// TestChannelRules: a transcript's channel is every event's
// event.channel, and a reply the channel cannot render fails the step as
// its sender would refuse it; on the default channel no rule applies.
func TestChannelRules(t *testing.T) {
	dir := t.TempDir()
	flow := "flow: love\nstart: a\nstates:\n  a:\n    say: [{text: 'on {{ event.channel }}'}, {heart: true}]\n    end: true\n"
	if err := os.WriteFile(filepath.Join(dir, "bot.yaml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	r := flowtest.NewRunner(nil)
	for _, tc := range []struct{ channel, text, failure string }{
		{"", "on test", ""},
		{"instagram", "on instagram", ""},
		{"messenger", "on messenger", "reply 2: messenger cannot render like_heart replies (the sender refuses it)"},
	} {
		t.Run(cmp.Or(tc.channel, "default"), func(t *testing.T) {
			src := "steps:\n  - user: hi\n    bot: ['" + tc.text + "', {heart: true}]\n"
			if tc.channel != "" {
				src = "channel: " + tc.channel + "\n" + src
			}
			f := filepath.Join(dir, cmp.Or(tc.channel, "default")+".test.yaml")
			if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := r.RunFile(context.Background(), f)
			if err != nil || len(res) != 1 {
				t.Fatalf("RunFile: %v, %v", res, err)
			}
			if tc.failure == "" && res[0].Failure != "" {
				t.Errorf("failed:\n%s", res[0])
			}
			if tc.failure != "" && !strings.Contains(res[0].Failure, tc.failure) {
				t.Errorf("report:\n%s\nwant it to contain %q", res[0], tc.failure)
			}
		})
	}
}
