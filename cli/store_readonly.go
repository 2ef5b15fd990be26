package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/bolt"
	berrors "go.etcd.io/bbolt/errors"
)

// readOnlyLockTimeout is how long a read-only open waits for the lock of a
// bbolt file that a running server may hold.
const readOnlyLockTimeout = 500 * time.Millisecond

// errBoltLocked reports a bbolt file another process (a running server)
// holds; callers add how to get the data from that server instead.
var errBoltLocked = errors.New("locked by another process (is dmflow serve running on it?)")

// openStoreReadOnly opens the configured store for reading: the PostgreSQL
// store as usual (reading disturbs no replica), a bbolt file read-only
// (never created, never changed). A bbolt file a server holds fails fast
// with an error wrapping errBoltLocked.
func openStoreReadOnly(ctx context.Context, cfg *serveConfig) (dmflow.Store, string, error) {
	if cfg.StoreURL != "" {
		return openStore(ctx, cfg)
	}
	return openBoltReadOnly(cfg.DB)
}

func openBoltReadOnly(path string) (dmflow.Store, string, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, "", fmt.Errorf("bbolt file: %w", err)
	}
	db, err := bolt.Open(path, &bolt.Options{ReadOnly: true, Timeout: readOnlyLockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, "", fmt.Errorf("bbolt file %s is %w", path, errBoltLocked)
	}
	if err != nil {
		return nil, "", err
	}
	abs, _ := filepath.Abs(path)
	return db, "bbolt " + abs + " (read-only)", nil
}
