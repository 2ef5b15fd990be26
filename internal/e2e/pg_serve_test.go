package e2e_test

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow/internal/pgtest"
)

// TestPGMigrateThenServe: `dmflow migrate` creates the schema named by the
// URL's search_path (also when several run at once, and again as a no-op),
// serve refuses a schema that was never migrated, and serve keeps sessions
// in PostgreSQL across restarts, configured by --store or
// DMFLOW_DATABASE_URL.
func TestPGMigrateThenServe(t *testing.T) {
	w := newWorld(t, worldOpts{})
	store, schema := pgtest.Schema(t, "dmflow_e2e_")
	envStore := append(append([]string(nil), w.env...), "DMFLOW_DATABASE_URL="+store)

	out, code := w.run(envStore, "serve", "--addr", "127.0.0.1:0", "--flows", w.flows)
	if code == 0 || !strings.Contains(out, "dmflow migrate") {
		t.Fatalf("serve on an empty schema: exit %d, want non-zero and advice to run dmflow migrate:\n%s", code, out)
	}

	var wg sync.WaitGroup
	outs, codes := make([]string, 3), make([]int, 3)
	for i := range outs {
		wg.Go(func() { outs[i], codes[i] = w.run(envStore, "migrate") })
	}
	wg.Wait()
	for i := range outs {
		if codes[i] != 0 || !strings.Contains(outs[i], "schema is current") {
			t.Fatalf("concurrent migrate %d: exit %d:\n%s", i, codes[i], outs[i])
		}
	}
	if out, code := w.run(nil, "migrate", "--store", store); code != 0 || !strings.Contains(out, "schema is current") {
		t.Fatalf("second migrate: exit %d:\n%s", code, out)
	}
	tables := pgCount(t, store, "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema)
	if tables < 6 {
		t.Fatalf("schema %s holds %d tables after migrate, want the dmflow tables", schema, tables)
	}

	w.env = envStore // serve finds the database in the environment
	w.start()
	w.mustPost(w.text("pg1", "m-pg1-1", "hi"))
	w.waitReplies("pg1", 1, 10*time.Second)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	w.env = w.env[:len(w.env)-1]
	w.start("--store", store) // and on the command line
	w.mustPost(w.text("pg1", "m-pg1-2", "2"))
	w.mustPost(w.text("pg1", "m-pg1-1", "hi")) // a redelivery from before the restart
	if got := w.waitReplies("pg1", 2, 10*time.Second); !equal(got, []string{"ready", "v1 got: 2"}) {
		t.Fatalf("replies %q: the session did not survive the restart in PostgreSQL", got)
	}
	w.waitIdle(10 * time.Second)
	if got := w.replies("pg1"); len(got) != 2 {
		t.Fatalf("the redelivered message was answered again: %q", got)
	}
	if n := pgCount(t, store, "SELECT count(*) FROM sessions WHERE user_id = 'pg1'"); n != 1 {
		t.Fatalf("%d session rows for pg1 in schema %s, want 1", n, schema)
	}
}

// TestPGBadDatabase: an unreachable database or a bad URL fails with a
// clear message, and the password in the URL never appears in the output.
// It needs no PostgreSQL server.
func TestPGBadDatabase(t *testing.T) {
	w := newWorld(t, worldOpts{})
	const password = "e2e-pg-password-5d4c3b"
	bad := "postgres://dmflow:" + password + "@127.0.0.1:1/dmflow?sslmode=disable&connect_timeout=2"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"migrate unreachable", []string{"migrate", "--store", bad}, 1, "dmflow migrate:"},
		{"serve unreachable", []string{"serve", "--addr", "127.0.0.1:0", "--flows", w.flows, "--store", bad}, 1, "dmflow serve:"},
		{"migrate without url", []string{"migrate"}, 2, "--store postgres://"},
		{"lease too short", []string{"serve", "--store", bad, "--lease", "10ms"}, 2, "lease 10ms is too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := w.run(w.env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s", code, tc.code, tc.want, out)
			}
			if strings.Contains(out, password) {
				t.Fatalf("the database password leaked:\n%s", out)
			}
		})
	}
}
