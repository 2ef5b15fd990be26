package sandbox_test

import (
	"os"
	"slices"
	"testing"

	"github.com/dmflow/dmflow/examples"
	"github.com/dmflow/dmflow/sandbox"
	"github.com/dmflow/dmflow/sandbox/internal/harness"
)

// TestStudioSwitchesAccounts: with a bundle per account the studio lists
// the accounts, and switching shows the other account's bundle and its
// own conversations (the same user id is a different person per account);
// an account that is not served is refused.
func TestStudioSwitchesAccounts(t *testing.T) {
	const other = "17841400000000088"
	env := harness.StartAccounts(t, map[string]harness.Loader{
		harness.Account: harness.LoadFS(examples.FS(), examples.LeadCaptureDir),
		other:           harness.LoadFS(os.DirFS("../examples"), "faq"),
	})
	sb := env.Sandbox
	var cfg struct {
		Account  string   `json:"account"`
		Accounts []string `json:"accounts"`
	}
	if code := call(t, env, "GET", "api/config", "", &cfg); code != 200 || cfg.Account != harness.Account ||
		!slices.Equal(cfg.Accounts, []string{harness.Account, other}) {
		t.Fatalf("config: %d %+v", code, cfg)
	}
	var g sandbox.FlowGraph
	if call(t, env, "GET", "api/graph", "", &g); g.Flow != "lead-capture" {
		t.Fatalf("graph of the first account: %q", g.Flow)
	}
	call(t, env, "POST", "api/send", `{"user":"u1","kind":"text","text":"hi"}`, nil)
	first := stepTo(t, sb, "u1", 0, "greet")
	if first.Account != harness.Account {
		t.Fatalf("step recorded for account %q", first.Account)
	}

	if code := call(t, env, "POST", "api/account", `{"account":"17841400000000099"}`, nil); code != 400 {
		t.Fatalf("an account without a bundle: %d, want 400", code)
	}
	if code := call(t, env, "POST", "api/account", `{"account":"`+other+`"}`, &cfg); code != 200 || cfg.Account != other {
		t.Fatalf("switch: %d %+v", code, cfg)
	}
	if call(t, env, "GET", "api/graph", "", &g); g.Flow != "faq" {
		t.Fatalf("graph of the other account: %q", g.Flow)
	}
	if msgs := sb.Messages("u1", 0); len(msgs) != 0 {
		t.Fatalf("the other account's u1 has no conversation yet, got %d messages", len(msgs))
	}
	call(t, env, "POST", "api/send", `{"user":"u1","kind":"text","text":"hi"}`, nil)
	m := waitFor(t, sb, "u1", 0, func(m sandbox.Message) bool { return m.From == sandbox.FromEngine })
	if m.Account != other || m.Step.Flow != "faq" {
		t.Fatalf("the other account's step: account %q flow %q", m.Account, m.Step.Flow)
	}
	waitFor(t, sb, "u1", m.Seq, func(m sandbox.Message) bool { return m.From == sandbox.FromBot && m.Account == other })

	call(t, env, "POST", "api/account", `{"account":"`+harness.Account+`"}`, nil)
	for _, m := range sb.Messages("u1", 0) {
		if m.Account != harness.Account {
			t.Fatalf("back on the first account, a message of %q: %+v", m.Account, m)
		}
	}
	if !slices.ContainsFunc(sb.Messages("u1", 0), func(m sandbox.Message) bool { return m.Seq == first.Seq }) {
		t.Fatalf("the first account's conversation is kept: %+v", sb.Messages("u1", 0))
	}
}
