package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	bbolt "go.etcd.io/bbolt"
)

// compactTxSize bounds the bytes bbolt.Compact copies per transaction.
const compactTxSize = 64 << 20

// CompactStats tells what Compact did.
type CompactStats struct {
	Before int64 `json:"before_bytes"`
	After  int64 `json:"after_bytes"`
}

// Compact rewrites the file with only its live records (bbolt.Compact into
// PATH.compact, fsync'd, then renamed over PATH) while the store stays
// open. bbolt reuses freed pages but never clears them, so deleted records
// (a forgotten person's messages) stay readable in the file until it is
// compacted. Reads and writes wait while the copy runs, a short pause for
// files of a few hundred MB; the file lock is held throughout. On error the
// old file stays in use.
func (d *DB) Compact(ctx context.Context) (CompactStats, error) {
	var st CompactStats
	if d.log != nil {
		// Apply the inbox log and delete its applied files: compacted, no
		// data file holds a deleted record.
		if err := d.log.purge(ctx); err != nil {
			return st, fmt.Errorf("store/bolt: compact %s: inbox log: %w", d.path, err)
		}
	}
	d.w.mu.RLock() // Close waits for us
	defer d.w.mu.RUnlock()
	if d.w.closed {
		return st, errClosed
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	d.w.swap.Lock() // no transaction runs past this point
	defer d.w.swap.Unlock()
	st.Before = fileSize(d.path)
	tmp := d.path + ".compact"
	os.Remove(tmp)
	ndb, err := d.compactTo(tmp)
	if err != nil {
		os.Remove(tmp)
		return st, fmt.Errorf("store/bolt: compact %s: %w", d.path, err)
	}
	old := d.bdb
	if err := old.Close(); err != nil {
		ndb.Close()
		os.Remove(tmp)
		return st, fmt.Errorf("store/bolt: compact %s: close: %w", d.path, err)
	}
	// From here the old handle is closed: the new file must take over.
	if err := os.Rename(tmp, d.path); err != nil {
		ndb.Close()
		return st, fmt.Errorf("store/bolt: compact %s: rename (the copy is in %s; stop the server and move it over the file): %w", d.path, tmp, err)
	}
	if err := syncDir(d.path); err != nil {
		ndb.Close()
		return st, fmt.Errorf("store/bolt: compact %s: sync directory: %w", d.path, err)
	}
	d.bdb, d.w.db = ndb, ndb
	st.After = fileSize(d.path)
	return st, nil
}

// compactTo copies the live records into a new file at tmp and returns it
// open with the store's options (the bbolt handle follows the rename).
func (d *DB) compactTo(tmp string) (*bbolt.DB, error) {
	if d.bopts.ReadOnly {
		return nil, errReadOnly
	}
	opts := *d.bopts
	ndb, err := bbolt.Open(tmp, d.mode, &opts)
	if err != nil {
		return nil, err
	}
	if err := bbolt.Compact(ndb, d.bdb, compactTxSize); err != nil {
		ndb.Close()
		return nil, err
	}
	if err := ndb.Sync(); err != nil {
		ndb.Close()
		return nil, err
	}
	return ndb, nil
}

func fileSize(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

func syncDir(path string) error {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
