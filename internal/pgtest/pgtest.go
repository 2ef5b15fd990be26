// Package pgtest gives tests the throwaway PostgreSQL server that
// scripts/pg-test.sh starts on 127.0.0.1 (DMFLOW_TEST_POSTGRES), and fresh
// schemas on it, so that tests of several packages share one rule: without
// the server a test fails under CI (a broken CI setup must not pass
// silently) and is skipped otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Need is the message of a test that cannot find the server.
const Need = "postgres tests need DMFLOW_TEST_POSTGRES; run them via scripts/pg-test.sh run -- go test ./..."

// URL returns the test server's URL, failing the test under CI and
// skipping it elsewhere when there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("DMFLOW_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal(Need)
		}
		tb.Skip(Need)
	}
	return u
}

// Schema creates the name of a fresh schema (prefix + random hex) that is
// dropped with everything in it when the test ends, and returns the test
// server's URL with search_path set to it, and the name. store/postgres
// creates its tables there.
func Schema(tb testing.TB, prefix string) (dsn, schema string) {
	tb.Helper()
	base := URL(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema = prefix + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("DMFLOW_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	tb.Cleanup(func() { Exec(tb, base, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	return u.String(), schema
}

// Exec runs one statement on the database at dsn, reporting a failure as a
// test error.
func Exec(tb testing.TB, dsn, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Errorf("connect: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Errorf("%s: %v", sql, err)
	}
}
