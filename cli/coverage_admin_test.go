package cli

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the golden files under testdata/coverage")

// goldenFile compares got with testdata/coverage/name (or rewrites it with
// -update-golden).
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "coverage", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update-golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestAdminTrafficCommands drives the admin commands that need real
// traffic (stats, stranded) or change it (send, forget, compact) against
// a production-mode serve whose Graph API is the double.
func TestAdminTrafficCommands(t *testing.T) {
	graph := newGraph(t)
	srv := startServe(t, instagramEnv(graph), "--db", filepath.Join(t.TempDir(), "d.db"), "--flows", writeFile(t, "shop.yaml", flowV1))
	wh := igtest.Webhook{Secret: testAppSecret}
	// start → listen ("ready"), then listen → waiting ("waiting").
	for _, text := range []string{"hi", "next"} {
		if code, err := wh.Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram", wh.Text(igtest.DefaultAccount, "u-1", "m-"+text, text)); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	if _, err := graph.WaitMessages(ctx, 2); err != nil {
		t.Fatal(err)
	}
	env := envMap{"DMFLOW_URL": srv.URL + "/", "DMFLOW_ADMIN_TOKEN": testAdminToken}
	key := igtest.DefaultAccount + "/u-1"
	admin := func(args ...string) (int, string, string) {
		t.Helper()
		return runCmd(t, env, append([]string{"admin"}, args...)...)
	}

	// The funnel: a table, the annotated graph, JSON; server refusals exit 1.
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{[]string{"stats"}, "admin_stats.txt"},
		{[]string{"stats", "--graph", "--flow", "shop"}, "admin_stats_graph.txt"},
	} {
		code, out, errs := admin(tc.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		goldenFile(t, tc.golden, out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--json", "stats", "--since", "7d"}, exitOK, `"To": "waiting",`},
		{[]string{"stats", "--flow", "nope"}, exitFail, `404 Not Found: {`},
		{[]string{"stats", "--since", "bogus"}, exitFail, "400 Bad Request"},
		{[]string{"stats", "extra"}, exitUsage, "stats takes 0 argument(s), got 1"},
		{[]string{"stranded", writeFile(t, "stranding.yaml", strandingFlow)}, exitFail,
			key + `  shop  1        waiting  stranded: state "waiting" is gone and flow "shop" has no migrate entry for it (restarts at "listen")`},
		{[]string{"stranded", writeFile(t, "migrating.yaml", migratingFlow)}, exitOK,
			`migrated: state "waiting" of flow "shop" moves to "listen"`},
		{[]string{"stranded", writeFile(t, "bad.yaml", "flow: shop\nstates: 3\n")}, exitFail, "dmflow admin: flows "},
		{[]string{"reload", "--account", igtest.DefaultAccount}, exitFail, "one bundle serves every account"},
		{[]string{"backup", filepath.Join(t.TempDir(), "missing", "x.db")}, exitFail, "x.db.partial: no such file or directory"},
		{[]string{"compact"}, exitOK, `"after_bytes":`},
		{[]string{"send", "--quick", "Yes, No", key, "hello from a person"}, exitOK, `"queued": "send"`},
		{[]string{"send", key}, exitUsage, "send takes 2 argument(s), got 1"},
		{[]string{"send", "nokey", "hi"}, exitUsage, "want ACCOUNT/USER"},
		{[]string{"export", key}, exitOK, `"mid": "m-next"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := admin(tc.args...)
			got := out
			if tc.code != exitOK {
				got = out + errs
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s\nstderr:\n%s", code, tc.code, tc.want, out, errs)
			}
		})
	}
	sent := waitSent(t, graph, "hello from a person")
	if qr := sent.Message.QuickReplies; len(qr) != 2 || qr[0].Title != "Yes" || qr[1].Title != "No" {
		t.Fatalf("quick replies %+v, want Yes and No", qr)
	}

	// forget is queued; the export then holds nothing.
	if code, out, errs := admin("forget", key); code != exitOK || !strings.Contains(out, `"queued": "forget"`) {
		t.Fatalf("forget: exit %d %s %s", code, out, errs)
	}
	waitFor(t, testutil.Wait, "the forgotten session", func() bool {
		_, out, _ := admin("export", key)
		return strings.Contains(out, `"session": null`) && !strings.Contains(out, "m-next")
	})
	if code, out, _ := admin("stranded", writeFile(t, "again.yaml", strandingFlow)); code != exitOK || !strings.Contains(out, "0 sessions checked, 0 stranded") {
		t.Fatalf("stranded after forget: exit %d %s", code, out)
	}
}

// waitSent waits until the double received a message with text.
func waitSent(t *testing.T, graph *igtest.Server, text string) igtest.Message {
	t.Helper()
	var found igtest.Message
	waitFor(t, testutil.Wait, "the message "+text, func() bool {
		for _, m := range graph.Messages() {
			if m.Text() == text {
				found = m
				return true
			}
		}
		return false
	})
	return found
}
