package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/postgres"
)

// Versions of one flow: v1 has listen and waiting; strandingFlow drops
// waiting without a migrate entry; migratingFlow drops it with one.
const (
	flowV1 = `flow: shop
version: 1
main: true
start: listen
states:
  listen:
    say: [{text: "ready"}]
    on: [{goto: waiting}]
  waiting:
    say: [{text: "waiting"}]
    on: [{goto: listen}]
`
	strandingFlow = `flow: shop
version: 2
main: true
start: listen
states:
  listen:
    say: [{text: "ready"}]
    on: [{goto: listen}]
`
	migratingFlow = strandingFlow + `migrate:
  waiting: listen
`
)

const testAccount = "17841400000000009"

// seedSessions stores sessions of v1: one in listen (continues), one in
// waiting, one ended in waiting (ignored) and one of a flow no bundle has.
func seedSessions(t *testing.T, st dmflow.Sessions) {
	t.Helper()
	for _, s := range []dmflow.Session{
		{Flow: "shop", FlowVersion: 1, State: "listen"},
		{Flow: "shop", FlowVersion: 1, State: "waiting"},
		{Flow: "shop", FlowVersion: 1, State: "waiting", Ended: true},
		{Flow: "retired", FlowVersion: 3, State: "ask"},
	} {
		s.Key = dmflow.SessionKey{Account: testAccount, User: "u-" + s.Flow + "-" + s.State + map[bool]string{true: "-ended"}[s.Ended]}
		if err := st.Commit(context.Background(), dmflow.Commit{Key: s.Key, Session: &s, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// seededBolt is a closed bbolt file holding seedSessions.
func seededBolt(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "live.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	seedSessions(t, db)
	// A sandbox store (serve in sandbox mode refuses unmarked data).
	if err := db.PutToken(context.Background(), dmflow.Token{Account: sandboxMarkerAccount}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkAgainstCases runs validate --against source for both new versions.
func checkAgainstCases(t *testing.T, source string, env envMap, extra ...string) {
	t.Helper()
	key := func(flow, state string) string { return testAccount + "/u-" + flow + "-" + state }
	for _, tc := range []struct {
		name, flow string
		code       int
		want       []string
		not        []string
	}{
		{"stranding", strandingFlow, exitFail, []string{
			key("shop", "waiting") + "  shop  1        waiting  stranded: state \"waiting\" is gone and flow \"shop\" has no migrate entry for it (restarts at \"listen\")",
			key("retired", "ask") + "  retired  3        ask      stranded: flow \"retired\" is gone",
			"4 sessions checked, 2 stranded, 0 migrated by ",
		}, []string{key("shop", "listen"), "-ended"}},
		{"migrating", migratingFlow, exitFail, []string{
			"migrated: state \"waiting\" of flow \"shop\" moves to \"listen\"",
			"4 sessions checked, 1 stranded, 1 migrated by ",
		}, []string{key("shop", "listen")}},
		{"current version", flowV1, exitFail, []string{
			key("retired", "ask") + "  retired  3        ask      stranded: flow \"retired\" is gone",
			"4 sessions checked, 1 stranded, 0 migrated by ",
		}, []string{key("shop", "waiting"), key("shop", "listen")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flow := writeFile(t, "shop.yaml", tc.flow)
			args := append([]string{"validate", "--against", source}, extra...)
			code, out, errs := runCmd(t, env, append(args, flow)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(w), " ")) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output mentions %q, which continues unchanged:\n%s", n, out)
				}
			}
		})
	}
}

func TestValidateAgainstBolt(t *testing.T) {
	db := seededBolt(t)
	checkAgainstCases(t, db, envMap{})
}

// TestValidateAgainstCleanBolt: nothing stranded exits 0 (the deploy gate
// opens), and --json reports the same.
func TestValidateAgainstCleanBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clean.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := dmflow.SessionKey{Account: testAccount, User: "u1"}
	if err := db.Commit(context.Background(), dmflow.Commit{Key: k, Session: &dmflow.Session{Key: k, Flow: "shop", FlowVersion: 1, State: "waiting"}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	flow := writeFile(t, "shop.yaml", migratingFlow)
	code, out, errs := runCmd(t, envMap{}, "validate", "--against", path, flow)
	if code != exitOK || !strings.Contains(out, "1 sessions checked, 0 stranded, 1 migrated") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCmd(t, envMap{}, "validate", "--json", "--against", path, flow)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r strandedReport
	if code != exitOK || json.Unmarshal([]byte(lines[len(lines)-1]), &r) != nil || r.Checked != 1 || len(r.Migrated) != 1 || len(r.Stranded) != 0 {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
}

// TestValidateAgainstLockedBolt: a file a server holds is refused quickly
// with the URL form as advice, and nothing is created for a missing file.
func TestValidateAgainstLockedBolt(t *testing.T) {
	path := seededBolt(t)
	held, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	flow := writeFile(t, "shop.yaml", migratingFlow)
	code, _, errs := runCmd(t, envMap{}, "validate", "--against", path, flow)
	if code != exitFail || !strings.Contains(errs, "locked by another process") || !strings.Contains(errs, "--against http://127.0.0.1:8080 --admin-token") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if code, _, errs := runCmd(t, envMap{}, "validate", "--against", missing, flow); code != exitFail || !strings.Contains(errs, "no such file") {
		t.Fatalf("missing file: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("validate --against created the missing file")
	}
}

// TestValidateAgainstServer asks a running serve (in-process) through its
// admin API, the same code path as dmflow admin stranded.
func TestValidateAgainstServer(t *testing.T) {
	db := seededBolt(t)
	srv := startServe(t, envMap{"DMFLOW_ADMIN_TOKEN": testAdminToken}, "--db", db, "--flows", writeFile(t, "shop.yaml", flowV1))
	checkAgainstCases(t, srv.URL, envMap{"DMFLOW_ADMIN_TOKEN": testAdminToken})
	checkAgainstCases(t, srv.URL, envMap{}, "--admin-token", testAdminToken)
	flow := writeFile(t, "shop.yaml", migratingFlow)
	for _, tc := range []struct {
		env  envMap
		code int
		want string
	}{
		{envMap{}, exitUsage, "needs the admin token"},
		{envMap{"DMFLOW_ADMIN_TOKEN": "wrong"}, exitFail, "401"},
	} {
		if code, _, errs := runCmd(t, tc.env, "validate", "--against", srv.URL, flow); code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("exit %d: %s; want %d and %q", code, errs, tc.code, tc.want)
		}
	}
	// admin stranded shares the check and its output.
	code, out, _ := runCmd(t, envMap{"DMFLOW_ADMIN_TOKEN": testAdminToken}, "admin", "--url", srv.URL, "stranded", flow)
	if code != exitFail || !strings.Contains(out, "4 sessions checked, 1 stranded, 1 migrated") {
		t.Fatalf("admin stranded: exit %d\n%s", code, out)
	}
}

func TestValidateAgainstUsage(t *testing.T) {
	dirB := t.TempDir()
	if err := os.WriteFile(filepath.Join(dirB, "b.yaml"), []byte(flowV1), 0o600); err != nil {
		t.Fatal(err)
	}
	dirC := t.TempDir()
	if err := os.WriteFile(filepath.Join(dirC, "c.yaml"), []byte(flowV1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd(t, envMap{}, "validate", "--against", "x.db", dirB, dirC); code != exitUsage || !strings.Contains(errs, "one bundle") {
		t.Fatalf("two bundles: exit %d: %s", code, errs)
	}
	bad := writeFile(t, "bad.yaml", "flow: shop\nstates: 3\n")
	if code, out, _ := runCmd(t, envMap{}, "validate", "--against", "x.db", bad); code != exitFail || strings.Contains(out, "sessions checked") {
		t.Fatalf("invalid flows must fail before the sessions are read: exit %d %s", code, out)
	}
}

// TestValidateAgainstPostgres reads the sessions straight from the
// database (scripts/pg-test.sh sets DMFLOW_TEST_POSTGRES).
func TestValidateAgainstPostgres(t *testing.T) {
	dsn, _ := pgtest.Schema(t, "dmflow_cmd_")
	ctx := context.Background()
	if err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	seedSessions(t, db)
	db.Close()
	checkAgainstCases(t, dsn, envMap{})
}
