package e2e_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/internal/testutil"
)

// The personal-data tests write a distinctive string in a conversation,
// forget the person through the real server and then look for the string
// everywhere: the admin API, the bbolt file's raw bytes (after compaction)
// and every PostgreSQL table.

const (
	forgetSecret = "quokka-5521-confidential" // the person forgotten
	keepSecret   = "narwhal-7733-kept"        // another person, who stays
)

// converse has two people talk to the bot and waits until all is answered.
func (w *world) converse() {
	w.t.Helper()
	w.mustPost(w.text("p1", "m-p1-1", "hi"))
	w.mustPost(w.text("p1", "m-p1-2", "hello "+forgetSecret)) // "v1 got: ..." repeats it in a reply
	w.mustPost(w.text("p2", "m-p2-1", "hi"))
	w.mustPost(w.text("p2", "m-p2-2", "hello "+keepSecret))
	w.waitReplies("p1", 2, 20*time.Second)
	w.waitReplies("p2", 2, 20*time.Second)
	w.waitIdle(20 * time.Second)
}

// adminCLI runs `dmflow admin ARGS` against the current server.
func (w *world) adminCLI(args ...string) string {
	w.t.Helper()
	out, code := w.run([]string{"DMFLOW_ADMIN_TOKEN=" + adminToken},
		append([]string{"admin", "--url", w.current().url}, args...)...)
	if code != 0 {
		w.t.Fatalf("dmflow admin %v exited %d:\n%s", args, code, out)
	}
	return out
}

// forgetP1 exports p1 (the secret is there), forgets p1 through the CLI
// and waits until the export is empty, then checks every admin listing.
func (w *world) forgetP1() {
	w.t.Helper()
	if x := w.adminCLI("export", account+"/p1"); !strings.Contains(x, forgetSecret) || !strings.Contains(x, `"state"`) {
		w.t.Fatalf("export before forget lacks the conversation:\n%s", x)
	}
	if out := w.adminCLI("forget", account+"/p1"); !strings.Contains(out, `"queued": "forget"`) {
		w.t.Fatalf("forget answered %s", out)
	}
	deadline := time.Now().Add(testutil.Scale(20 * time.Second))
	for {
		x := w.adminCLI("export", account+"/p1")
		if strings.Contains(x, `"session": null`) && strings.Contains(x, `"inbox": []`) {
			if strings.Contains(x, forgetSecret) {
				w.t.Fatalf("export after forget:\n%s", x)
			}
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("p1 not forgotten after 20s:\n%s", x)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range []string{"/admin/sessions", "/admin/sessions/" + account + "/p1", "/admin/sessions/" + account + "/p1/history",
		"/admin/deadletters", "/admin/failed", "/admin/handoffs"} {
		if _, body := w.admin(http.MethodGet, p, ""); strings.Contains(body, forgetSecret) || strings.Contains(body, `"p1"`) {
			w.t.Fatalf("GET %s still shows p1: %s", p, body)
		}
	}
	if _, body := w.admin(http.MethodGet, "/admin/sessions/"+account+"/p2/history", ""); !strings.Contains(body, keepSecret) {
		w.t.Fatalf("p2 lost its history: %s", body)
	}
	// p1 may come back: a new message starts a new conversation.
	w.mustPost(w.text("p1", "m-p1-3", "again"))
	w.waitReplies("p1", 3, 20*time.Second)
}

func TestForgetPersonBolt(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.start()
	w.converse()
	w.forgetP1()
	w.waitIdle(20 * time.Second)
	out := w.adminCLI("compact")
	if !strings.Contains(out, "after_bytes") {
		t.Fatalf("compact answered %s", out)
	}
	raw, err := os.ReadFile(w.db)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(forgetSecret)) {
		t.Fatal("the forgotten text is still in the bbolt file after compact")
	}
	if !bytes.Contains(raw, []byte(keepSecret)) {
		t.Fatal("the other person's text is not in the file: the search proves nothing")
	}
	// Nor in the inbox log next to it (store/bolt's inbox log: every event
	// is logged there before it reaches the bbolt file).
	logs, err := filepath.Glob(w.db + ".inbox/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range logs {
		raw, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) { // a segment may be deleted meanwhile
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(forgetSecret)) {
			t.Fatalf("the forgotten text is still in the inbox log file %s", p)
		}
	}
	// The server goes on after the compaction.
	w.mustPost(w.text("p2", "m-p2-3", "after compact"))
	w.waitReplies("p2", 3, 20*time.Second)
}

func TestForgetPersonPostgres(t *testing.T) {
	w := newWorld(t, worldOpts{})
	c := clusterOn(w, 1, 30*time.Second)
	w.converse()
	if n := pgTablesContaining(t, c.store, forgetSecret); len(n) == 0 {
		t.Fatal("the text is in no table before forget: the search proves nothing")
	}
	w.forgetP1()
	if n := pgTablesContaining(t, c.store, forgetSecret); len(n) > 0 {
		t.Fatalf("the forgotten text is still in tables %v", n)
	}
	if n := pgTablesContaining(t, c.store, keepSecret); len(n) == 0 {
		t.Fatal("the other person's text is in no table")
	}
	if code, body := w.admin(http.MethodPost, "/admin/compact", ""); code != http.StatusNotImplemented || !strings.Contains(body, "VACUUM") {
		t.Fatalf("compact on PostgreSQL: %d %s", code, body)
	}
}

// pgTablesContaining lists the tables of the store's schema with a row
// whose text (bytea columns as hex) contains s.
func pgTablesContaining(t *testing.T, dsn, s string) []string {
	t.Helper()
	ctx, conn, done := pgConnect(t, dsn)
	defer done()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 8 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	var out []string
	for _, tb := range tables {
		var n int
		q := `SELECT count(*) FROM ` + pgx.Identifier{tb}.Sanitize() + ` t WHERE position($1 in t::text) > 0 OR position($2 in t::text) > 0`
		if err := conn.QueryRow(ctx, q, s, hex.EncodeToString([]byte(s))).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			out = append(out, tb)
		}
	}
	return out
}
