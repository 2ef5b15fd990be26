package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/store/postgres"
	"github.com/dmflow/dmflow/store/storetest"
)

// schemaURL is the test URL with search_path set to schema, as the CLI's
// `dmflow migrate` would pass it.
func schemaURL(t *testing.T, schema string) string {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func migrationsApplied(t *testing.T, schema string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaURL(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	ms := postgres.Migrations()
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("Migrations() = %+v, want version 1 first", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Fatalf("migrations not increasing: %+v", ms)
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	for i := range 3 {
		if err := postgres.Migrate(ctx, schemaURL(t, schema)); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if n := migrationsApplied(t, schema); n != len(postgres.Migrations()) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(postgres.Migrations()))
	}
	db, err := postgres.Open(ctx, schemaURL(t, schema), nil)
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	defer db.Close()
	if db.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q from the URL", db.Schema(), schema)
	}
}

// TestMigrateConcurrent starts replicas at once on a fresh schema: the
// advisory lock lets exactly one apply the migrations.
func TestMigrateConcurrent(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, pgtest.URL(t), &postgres.Options{Schema: schema, MaxConns: 2, Migrate: true})
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := migrationsApplied(t, schema); n != len(postgres.Migrations()) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(postgres.Migrations()))
	}
}

func TestOpenUnmigrated(t *testing.T) {
	_, err := postgres.Open(context.Background(), pgtest.URL(t), &postgres.Options{Schema: newSchema(t)})
	if err == nil || !strings.Contains(err.Error(), "dmflow migrate") {
		t.Fatalf("Open of an unmigrated schema: %v, want advice to run dmflow migrate", err)
	}
}

func TestOpenBadSchema(t *testing.T) {
	_, err := postgres.Open(context.Background(), pgtest.URL(t), &postgres.Options{Schema: `a,b`})
	if !errors.Is(err, dmflow.ErrInvalid) {
		t.Fatalf("Open with schema a,b: %v, want ErrInvalid", err)
	}
}

// TestCorruptRecord overwrites stored records with garbage: reads fail with
// ErrCorrupt instead of panicking or returning zero values.
func TestCorruptRecord(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	k := storetest.Key("u1")
	if _, err := db.AppendInbox(ctx, []dmflow.Event{storetest.Msg("u1", "1")}, storetest.T0); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(ctx, dmflow.Commit{Key: k, Session: &dmflow.Session{Key: k}, Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"inbox", "sessions"} {
		if _, err := db.Pool().Exec(ctx, "UPDATE "+table+` SET record = '\x027b7d'`); err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.GetSession(ctx, k)
	if !errors.Is(err, dmflow.ErrCorrupt) {
		t.Fatalf("GetSession: %v, want ErrCorrupt", err)
	}
	_, err = db.History(ctx, k, 0)
	if !errors.Is(err, dmflow.ErrCorrupt) {
		t.Fatalf("History: %v, want ErrCorrupt", err)
	}
}

// TestDedupeRetention: a done item's key deduplicates within the retention
// and is accepted again after it, while a pending item's key never expires.
func TestDedupeRetention(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.URL(t), &postgres.Options{Schema: newSchema(t), Migrate: true, DedupeRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendAt := func(now time.Time, keys ...string) dmflow.AppendResult {
		t.Helper()
		var evs []dmflow.Event
		for _, k := range keys {
			evs = append(evs, storetest.Msg("u1", k))
		}
		r, err := db.AppendInbox(ctx, evs, now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	appendAt(storetest.T0, "done", "pending")
	items, err := db.ClaimInbox(ctx, dmflow.Claim{Owner: "A", Max: 1, Lease: time.Minute, Now: storetest.T0})
	if err != nil || len(items) != 1 {
		t.Fatalf("claim: %v %v", items, err)
	}
	if err := db.Commit(ctx, dmflow.Commit{Owner: "A", Seq: items[0].Seq, Key: storetest.Key("u1"), Now: storetest.T0}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at         time.Time
		added, dup int
	}{
		{storetest.Min(59), 0, 2},
		{storetest.Min(60), 1, 1},
		{storetest.Min(61), 0, 2},
	}
	for i, st := range steps {
		if r := appendAt(st.at, "done", "pending"); r.Added != st.added || r.Duplicates != st.dup {
			t.Fatalf("step %d: %+v, want added %d duplicates %d", i, r, st.added, st.dup)
		}
	}
	hist, err := db.History(ctx, storetest.Key("u1"), 0)
	if err != nil || len(hist) != 3 {
		t.Fatalf("History: %d items, %v; want the old done item kept until pruned", len(hist), err)
	}
}
