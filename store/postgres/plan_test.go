package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/store/storetest"
)

// TestClaimsPlannedPerCall: the claim, renewal and append statements are not kept
// prepared on the connection (PostgreSQL plans them for each call's
// arguments and the tables' current size), while the per-event statements
// are. A prepared claim switched to a generic plan made while the tables
// were nearly empty and kept it as the backlog grew: one outbox claim of
// `dmflow bench` read 176,000 buffers in 2.7 s (docs/performance.md, round 8);
// the append's generic plan read the whole inbox to forget old keys, 3 ms
// per call by the end of the bench (round 10).
func TestClaimsPlannedPerCall(t *testing.T) {
	db := openSchema(t, newSchema(t), 1) // one connection: the one the query below runs on
	ctx := context.Background()
	p := &pipeline{t: t, db: db, owner: "replica-1", now: storetest.T0}
	p.run(ctx, 64)
	if _, err := db.RenewInbox(ctx, "replica-1", p.now, storetest.Key("u0")); err != nil {
		t.Fatalf("RenewInbox: %v", err)
	}
	rows, err := db.Pool().Query(ctx, "SELECT statement FROM pg_prepared_statements")
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	has := func(fragment string) bool {
		for _, s := range prepared {
			if strings.Contains(s, fragment) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ name, fragment string }{
		{"inbox claim", "WITH RECURSIVE accts AS"},
		{"outbox claim", "UPDATE outbox SET claimed_by = $1"},
		{"renewal", "WITH held AS"},
		{"append", "WITH forget AS"},
	} {
		if has(c.fragment) {
			t.Errorf("the %s is prepared (a generic plan may be cached); want it planned per call", c.name)
		}
	}
	if !has("UPDATE leases SET expires") {
		t.Errorf("no commit statement among the %d prepared statements; the check above proves nothing", len(prepared))
	}
}
