package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dmflow/dmflow/loadtest"
)

// postgres is `dmflow serve --store` with n replicas on a fresh schema of
// the --store database: created by `dmflow migrate` when the configuration
// starts, measured after the run (tables and indexes) and dropped at the
// end.
func (env benchEnv) postgres(name string, n int) benchConfig {
	schema := "bench_" + randomHex(6)
	c := benchConfig{name: name, heaps: env.heapPaths(name, n)}
	c.size = func() int64 { return env.pgSchemaSize(schema) }
	if pid := env.pgServerPID(); pid > 0 {
		c.dbCPU = func() time.Duration { return loadtest.TreeCPU(pid) }
	}
	c.close = func() { env.pgDropSchema(schema) }
	c.start = func(graphURL string) ([]*loadtest.Process, error) {
		u, err := withSearchPath(env.store, schema)
		if err != nil {
			return nil, err
		}
		e := append(benchServeEnv(graphURL), "DMFLOW_DATABASE_URL="+u)
		if err := runToEnd(loadtest.ProcessSpec{Path: env.exe, Args: []string{"migrate"}, Env: e}); err != nil {
			return nil, err
		}
		var procs []*loadtest.Process
		for i := range n {
			p, err := env.serve(name, i, nil, e)
			if err != nil {
				return procs, fmt.Errorf("replica %d: %w", i+1, err)
			}
			procs = append(procs, p)
		}
		return procs, nil
	}
	return c
}

// withSearchPath returns the database URL with its search_path (the
// schema store/postgres uses) replaced by schema.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's message quotes the whole URL, and redactPassword
		// cannot find the password in a URL that does not parse.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("--store: not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redactPassword removes raw's password from s.
func redactPassword(s, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			return strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	return s
}

// pgSchemaSize is the on-disk size of schema's tables with their indexes
// and TOAST data, or 0 when it cannot be read.
func (env benchEnv) pgSchemaSize(schema string) int64 {
	var n int64
	err := pgDo(env.store, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
			FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
			WHERE s.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&n)
	})
	if err != nil {
		fmt.Fprintf(env.errw, "dmflow bench: size of schema %s: %v\n", schema, redactPassword(err.Error(), env.store))
	}
	return n
}

// pgServerPID returns the process id of the --store server's postmaster
// when it runs on this machine (the parent of this connection's backend,
// a process named postgres), else 0; its CPU time with all its processes'
// is the bench's "db".
func (env benchEnv) pgServerPID() int {
	pid := 0
	_ = pgDo(env.store, func(ctx context.Context, conn *pgx.Conn) error {
		var backend int32
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
			return err
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", backend))
		if err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			pid = loadtest.ParentPID(int(backend))
		}
		return nil
	})
	return pid
}

// pgDropSchema drops the benchmark's schema.
func (env benchEnv) pgDropSchema(schema string) {
	err := pgDo(env.store, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		return err
	})
	if err != nil {
		fmt.Fprintf(env.errw, "dmflow bench: drop schema %s: %v\n", schema, redactPassword(err.Error(), env.store))
	}
}

// pgDo runs fn on a connection to dsn, within 30 s.
func pgDo(dsn string, fn func(context.Context, *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return fn(ctx, conn)
}
