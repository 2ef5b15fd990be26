package postgres_test

import (
	"context"
	"testing"

	"github.com/dmflow/dmflow/internal/pgtest"
	"github.com/dmflow/dmflow/store/postgres"
)

// newSchema returns a fresh schema name, dropped when the test ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	_, schema := pgtest.Schema(tb, "dmflow_test_")
	return schema
}

// openSchema opens a store (a "replica") on schema, migrating it, closed
// when the test ends.
func openSchema(tb testing.TB, schema string, maxConns int32) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(tb), &postgres.Options{Schema: schema, MaxConns: maxConns, Migrate: true})
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
