package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// greetFlow greets by the profile's username.
const greetFlow = `flow: greet
version: 1
main: true
start: hello
states:
  hello:
    say: [{text: "Hi {{ user.username ?? 'there' }}!"}]
    on:
      - say: [{text: "Hi again {{ user.username ?? 'there' }}"}]
`

// Fake credentials of the in-process production-mode servers.
const (
	testAppSecret   = "cmd-test-app-secret"
	testVerifyToken = "cmd-test-verify-token"
	testAccessToken = "IGAAcmdtestaccesstoken"
	testAdminToken  = "cmd-test-admin-token"
)

// instagramEnv is the environment of a production-mode serve whose Graph
// API is graph.
func instagramEnv(graph *igtest.Server) envMap {
	return envMap{
		"INSTAGRAM_CLIENT_SECRET":        testAppSecret,
		"INSTAGRAM_WEBHOOK_VERIFY_TOKEN": testVerifyToken,
		"INSTAGRAM_ACCESS_TOKEN":         testAccessToken,
		"DMFLOW_ADMIN_TOKEN":             testAdminToken,
		"DMFLOW_GRAPH_URL":               graph.URL,
	}
}

// newGraph starts a Graph API double that accepts testAccessToken.
func newGraph(t *testing.T) *igtest.Server {
	t.Helper()
	g := igtest.NewServer(igtest.Config{AccessTokens: map[string]string{testAccessToken: igtest.DefaultAccount}})
	t.Cleanup(g.Close)
	return g
}

// TestServeGreetsByProfile: with Instagram credentials the bot asks the
// Graph API for the customer's profile, so the flow greets by username;
// a user the platform will not describe is greeted with the fallback.
func TestServeGreetsByProfile(t *testing.T) {
	graph := newGraph(t)
	graph.SetProfile("u-alice", igtest.UserProfile{Username: "alice_ig", Name: "Alice"})
	dir := t.TempDir()
	flow := writeFile(t, "greet.yaml", greetFlow)
	srv := startServe(t, instagramEnv(graph), "--db", dir+"/d.db", "--flows", flow)
	wh := igtest.Webhook{Secret: testAppSecret}
	for _, b := range [][]byte{
		wh.Text(igtest.DefaultAccount, "u-alice", "m-1", "hello"),
		wh.Text(igtest.DefaultAccount, "u-nobody", "m-2", "hello"),
	} {
		if code, err := wh.Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram", b); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d, %v", code, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	msgs, err := graph.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range msgs {
		got[m.RecipientID] = m.Text()
	}
	if got["u-alice"] != "Hi alice_ig!" || got["u-nobody"] != "Hi there!" {
		t.Fatalf("greetings = %q, want Hi alice_ig! and Hi there!", got)
	}
}

// TestSandboxGreetsByUsername: in sandbox mode the double describes each
// sandbox user with its id as username.
func TestSandboxGreetsByUsername(t *testing.T) {
	dir := t.TempDir()
	flow := writeFile(t, "greet.yaml", greetFlow)
	srv := startServe(t, envMap{}, "--db", dir+"/d.db", "--flows", flow)
	body := `{"user":"user-bob","kind":"text","text":"hey"}`
	resp, err := testHTTP.Post(srv.URL+"/sandbox/api/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox send: %s", resp.Status)
	}
	waitFor(t, 10*time.Second, "the sandbox greeting", func() bool {
		return strings.Contains(sandboxBotTexts(t, srv.URL, "user-bob"), "Hi user-bob!")
	})
}

// sandboxBotTexts returns the Graph bodies of the bot's sandbox messages
// to user, joined.
func sandboxBotTexts(t *testing.T, base, user string) string {
	t.Helper()
	resp, err := testHTTP.Get(base + "/sandbox/api/messages?user=" + url.QueryEscape(user))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []struct {
		From  string          `json:"from"`
		Graph json.RawMessage `json:"graph"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.From == "bot" {
			out = append(out, string(m.Graph))
		}
	}
	return strings.Join(out, "\n")
}
