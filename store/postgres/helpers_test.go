package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/store/postgres"
)

const needServer = "postgres tests need DMFLOW_TEST_POSTGRES; run via scripts/pg-test.sh"

// testURL returns the test server's URL. Without one the test fails under
// CI (so a broken CI setup cannot pass silently) and is skipped otherwise.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("DMFLOW_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal(needServer)
		}
		tb.Skip(needServer)
	}
	return u
}

// newSchema returns a fresh schema name, dropped when the test ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	url := testURL(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "dmflow_test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openSchema opens a store (a "replica") on schema, migrating it, closed
// when the test ends.
func openSchema(tb testing.TB, schema string, maxConns int32) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), testURL(tb), &postgres.Options{Schema: schema, MaxConns: maxConns, Migrate: true})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// openTest opens a store on a fresh schema.
func openTest(tb testing.TB) *postgres.DB {
	tb.Helper()
	return openSchema(tb, newSchema(tb), 4)
}
