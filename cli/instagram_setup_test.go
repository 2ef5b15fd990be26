package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
)

// runCmd runs a dmflow command in-process and returns its exit code,
// stdout and stderr.
func runCmd(t *testing.T, env envMap, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(30*time.Second))
	defer cancel()
	code := run(ctx, args, IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: env.lookup})
	return code, out.String(), errb.String()
}

// checkSetUp checks what the double recorded for the account.
func checkSetUp(t *testing.T, graph *igtest.Server, account string) {
	t.Helper()
	prof := graph.MessengerProfile(account)
	if !strings.Contains(string(prof["ice_breakers"]), `"payload":"TRACK"`) || !strings.Contains(string(prof["ice_breakers"]), `"locale":"es_ES"`) {
		t.Errorf("ice_breakers = %s", prof["ice_breakers"])
	}
	if !strings.Contains(string(prof["persistent_menu"]), `"url":"https://shop.example.com"`) {
		t.Errorf("persistent_menu = %s", prof["persistent_menu"])
	}
	if got := graph.SubscribedFields(account); !slices.Equal(got, instagram.DefaultFields) {
		t.Errorf("subscribed fields = %v, want %v", got, instagram.DefaultFields)
	}
}

// TestInstagramSetupWithAccessToken: the account comes from GET /me; the
// output shows what GET answers after the writes.
func TestInstagramSetupWithAccessToken(t *testing.T) {
	graph := newGraph(t)
	cfg := writeFile(t, "dmflow.yaml", profileYAML)
	env := envMap{"INSTAGRAM_ACCESS_TOKEN": testAccessToken, "DMFLOW_GRAPH_URL": graph.URL}
	code, out, errs := runCmd(t, env, "instagram", "setup", "--config", cfg, "--db", filepath.Join(t.TempDir(), "none.db"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	checkSetUp(t, graph, igtest.DefaultAccount)
	for _, want := range []string{
		"account " + igtest.DefaultAccount + ": ice breakers set (2 locales), persistent menu set (1 locale), subscribed to webhooks (messages,",
		`GET messenger_profile: {"data":[`, `"question":"Where is my order?"`,
		`GET subscribed_apps: [{"id":"` + igtest.DefaultAppID + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errs, testAccessToken) {
		t.Error("the access token was printed")
	}
}

// TestInstagramSetupStoredTokens: without INSTAGRAM_ACCESS_TOKEN the
// accounts and tokens come from the store, opened read-only; a file a
// server holds is refused with advice.
func TestInstagramSetupStoredTokens(t *testing.T) {
	graph := newGraph(t)
	db := filepath.Join(t.TempDir(), "d.db")
	st, err := bolt.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := dmflow.Token{Account: igtest.DefaultAccount, AccessToken: testAccessToken, ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.PutToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	env := envMap{"DMFLOW_GRAPH_URL": graph.URL, "DMFLOW_MESSENGER_PROFILE": writeFile(t, "p.yaml", strings.ReplaceAll(strings.TrimPrefix(profileYAML, "instagram:\n"), "\n  ", "\n")[2:])}
	code, _, errs := runCmd(t, env, "instagram", "setup", "--db", db)
	if code != exitFail || !strings.Contains(errs, "locked by another process") || !strings.Contains(errs, "INSTAGRAM_ACCESS_TOKEN") {
		t.Fatalf("with the file held: exit %d: %s", code, errs)
	}
	st.Close()
	code, out, errs := runCmd(t, env, "instagram", "setup", "--db", db)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	checkSetUp(t, graph, igtest.DefaultAccount)
	if !strings.Contains(out, "account "+igtest.DefaultAccount+":") {
		t.Fatalf("output: %s", out)
	}
}

func TestInstagramSetupUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  envMap
		code int
		want string
	}{
		{[]string{"instagram"}, envMap{}, exitUsage, "want the subcommand setup"},
		{[]string{"instagram", "bogus"}, envMap{}, exitUsage, "want the subcommand setup"},
		{[]string{"instagram", "setup", "extra"}, envMap{}, exitUsage, "no other argument"},
		{[]string{"instagram", "--db", filepath.Join(t.TempDir(), "m.db"), "setup"}, envMap{}, exitFail, "no such file"},
		{[]string{"instagram", "setup", "--db", filepath.Join(t.TempDir(), "missing.db")}, envMap{}, exitFail, "no such file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errs := runCmd(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d: %s; want %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

// TestServeInstagramSetupOnStart: serve applies the configured profile
// and subscription before it serves, and logs what GET answered.
func TestServeInstagramSetupOnStart(t *testing.T) {
	graph := newGraph(t)
	env := instagramEnv(graph)
	env["INSTAGRAM_ACCOUNT_ID"] = igtest.DefaultAccount
	dir := t.TempDir()
	srv := startServe(t, env, "--db", dir+"/d.db", "--flows", writeFile(t, "greet.yaml", greetFlow),
		"--config", writeFile(t, "dmflow.yaml", profileYAML), "--instagram-setup-on-start")
	checkSetUp(t, graph, igtest.DefaultAccount)
	var logged bool
	for _, line := range strings.Split(srv.Err.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "instagram setup done" {
			logged = strings.Contains(rec["messenger_profile"].(string), "TRACK")
		}
	}
	if !logged {
		t.Fatalf("no 'instagram setup done' log line with the profile:\n%s", srv.Err.String())
	}
}

// TestServeWithoutSetupOnStart: the default leaves the account alone.
func TestServeWithoutSetupOnStart(t *testing.T) {
	graph := newGraph(t)
	dir := t.TempDir()
	startServe(t, instagramEnv(graph), "--db", dir+"/d.db", "--flows", writeFile(t, "greet.yaml", greetFlow),
		"--config", writeFile(t, "dmflow.yaml", profileYAML))
	if p := graph.MessengerProfile(igtest.DefaultAccount); len(p) != 0 || len(graph.SubscribedFields(igtest.DefaultAccount)) != 0 {
		t.Fatalf("serve changed the account without --instagram-setup-on-start: %v", p)
	}
}
