package cli

import (
	"strings"
	"testing"

	"github.com/dmflow/dmflow/internal/pgtest"
)

// TestMigrateCLI: `dmflow migrate` lists its migrations without a
// database, refuses a store that is not PostgreSQL, reports an unreachable
// server without its password, and migrates a fresh schema (twice: the
// second run has nothing to do).
func TestMigrateCLI(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
		not  string
	}{
		{[]string{"--list"}, exitOK, "0001  ", ""},
		{nil, exitUsage, "set --store postgres://", ""},
		{[]string{"--store", "bot.db"}, exitUsage, "set --store postgres://", ""},
		{[]string{"extra"}, exitUsage, "", ""},
		{[]string{"--store", "postgres://dm:hunter2-secret@127.0.0.1:1/dm?connect_timeout=5"}, exitFail, "dmflow migrate:", "hunter2-secret"},
	} {
		code, out, errs := runCmd(t, envMap{}, append([]string{"migrate"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) || (tc.not != "" && strings.Contains(out+errs, tc.not)) {
			t.Errorf("migrate %q: exit %d (want %d), want %q without %q in:\n%s%s", tc.args, code, tc.code, tc.want, tc.not, out, errs)
		}
	}
	dsn, _ := pgtest.Schema(t, "dmflow_cmd_migrate_")
	for range 2 {
		if code, out, errs := runCmd(t, envMap{"DMFLOW_DATABASE_URL": dsn}, "migrate"); code != exitOK || !strings.Contains(out, "schema is current") {
			t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
		}
	}
}
