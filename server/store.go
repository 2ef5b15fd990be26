package server

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
	"github.com/dmflow/dmflow/store/mem"
	"github.com/dmflow/dmflow/store/postgres"
)

// StoreConfig selects the store OpenStore opens: PostgreSQL when URL is
// set, else the bbolt file Path, else, with Memory, an in-memory store.
type StoreConfig struct {
	// URL is a PostgreSQL URL (store/postgres): replicas share the store.
	URL string
	// Lease is the PostgreSQL store's lease (postgres.Options.Lease; 0:
	// its default) and Migrate applies its migrations first.
	Lease   time.Duration
	Migrate bool
	// Path is the bbolt file (store/bolt), created when missing, for one
	// process. NoSync skips fsync: unsafe, for benchmarks only.
	Path   string
	NoSync bool
	// Memory selects store/mem: nothing survives the process (tests, demos).
	Memory bool
}

// ErrNoStore is returned by OpenStore for a StoreConfig that selects none.
var ErrNoStore = errors.New("server: no store configured (StoreConfig.URL, Path or Memory)")

// OpenStore opens the store cfg selects and returns it with a description
// for logs ("bbolt /abs/path", "postgres schema dmflow"; no credentials).
// An error opening PostgreSQL does not show the URL's password.
func OpenStore(ctx context.Context, cfg StoreConfig) (dmflow.Store, string, error) {
	switch {
	case cfg.URL != "":
		db, err := postgres.Open(ctx, cfg.URL, &postgres.Options{Lease: cfg.Lease, Migrate: cfg.Migrate})
		if err != nil {
			return nil, "", redactPassword(err, cfg.URL)
		}
		return db, "postgres schema " + db.Schema(), nil
	case cfg.Path != "":
		db, err := bolt.Open(cfg.Path, &bolt.Options{NoSync: cfg.NoSync})
		if err != nil {
			return nil, "", err
		}
		abs, _ := filepath.Abs(cfg.Path)
		if cfg.NoSync {
			return db, "bbolt " + abs + " WITHOUT fsync (unsafe, benchmarks only)", nil
		}
		return db, "bbolt " + abs, nil
	case cfg.Memory:
		return mem.New(nil), "in memory (nothing survives the process)", nil
	}
	return nil, "", ErrNoStore
}

// redactPassword hides the password of rawURL in err's text, keeping err
// for errors.Is and errors.As.
func redactPassword(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return err
	}
	return redactedError{err: err, secrets: []string{pw, url.QueryEscape(pw), url.PathEscape(pw)}}
}

type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	s := e.err.Error()
	for _, p := range e.secrets {
		if p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
	}
	return s
}

func (e redactedError) Unwrap() error { return e.err }
