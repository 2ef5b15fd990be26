package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/internal/kvstore"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options configures Open. The zero value (or nil) gives the defaults.
type Options struct {
	// Timeout is how long Open waits for the file lock that another process
	// may hold (default 1s). Open never waits forever.
	Timeout time.Duration
	// NoSync skips fsync on commit. UNSAFE: a crash of the machine (not just
	// the process) can lose acknowledged writes or corrupt the file. For
	// benchmarks and throwaway data only.
	NoSync bool
	// DedupeRetention is how long a done event's Key keeps deduplicating
	// redeliveries when PruneInbox is not called (default
	// store.DefaultDedupeRetention).
	DedupeRetention time.Duration
	// MaxBatch caps how many requests share one transaction (default 1000).
	MaxBatch int
	// Linger is how long the writer waits for more requests before a
	// commit, only when the previous commit carried several requests (so a
	// lone caller never waits). Under load a longer wait makes fewer,
	// larger commits: fewer fsyncs, and a page that several requests
	// change is rewritten once (docs/performance.md, round 13). Default
	// 2ms; negative disables it.
	Linger time.Duration
	// SessionCache bounds the decoded sessions kept in memory to skip
	// decoding an unchanged record again (0: 1024, negative: none). An
	// entry is used only while the stored record is byte for byte the one
	// it was decoded from.
	SessionCache int
	// NoInboxLog stores appended events directly in bbolt, in the shared
	// group-commit transactions, instead of in the inbox log first (see
	// inboxLog): the layout before the log, for comparison and as a
	// fallback.
	NoInboxLog bool
	// Mode is the permission of a new file (default 0600).
	Mode os.FileMode
	// ReadOnly opens an existing file for reading only, with a shared lock
	// (other read-only openers may share it; a writer holds it exclusively,
	// so Open fails after Timeout while a server has the file open). Every
	// write fails.
	ReadOnly bool
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.Linger == 0 {
		c.Linger = 2 * time.Millisecond
	}
	if c.Mode == 0 {
		c.Mode = 0o600
	}
	return c
}

// DB is a dmflow.Store in one bbolt file. It is safe for concurrent use;
// concurrent writes are group-committed.
type DB struct {
	*kvstore.Store
	bdb    *bbolt.DB
	leases *memLeases
	w      *writer
	path   string
	bopts  *bbolt.Options // for Compact's new file
	mode   os.FileMode
	log    *inboxLog // nil: appends go to bbolt directly
}

var _ dmflow.Store = (*DB)(nil)

var errClosed = fmt.Errorf("store/bolt: %w", dmflow.ErrClosed)

// Open opens or creates the store file at path. opts may be nil. If another
// process has the file open, Open fails after opts.Timeout.
func Open(path string, opts *Options) (*DB, error) {
	o := opts.withDefaults()
	bopts := &bbolt.Options{
		Timeout: o.Timeout, NoSync: o.NoSync, FreelistType: bbolt.FreelistMapType, NoFreelistSync: true,
		ReadOnly: o.ReadOnly,
	}
	bdb, err := bbolt.Open(path, o.Mode, bopts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store/bolt: open %s: another process has the file open (gave up after %s): %w", path, o.Timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store/bolt: open %s: %w", path, err)
	}
	if err := maybeDropLeases(bdb, o.ReadOnly); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("store/bolt: open %s: drop leases: %w", path, err)
	}
	leases := newMemLeases()
	d := &DB{bdb: bdb, leases: leases, w: newWriter(bdb, leases, o.MaxBatch, o.Linger), path: path, bopts: bopts, mode: o.Mode}
	ko := kvstore.Options{Name: "store/bolt", DedupeRetention: o.DedupeRetention, SessionCache: o.SessionCache}
	if !o.ReadOnly && !o.NoInboxLog {
		ko.InboxSync = func(ctx context.Context) error { return d.log.sync(ctx) }
	}
	d.Store = kvstore.New(kv{d}, ko)
	if ko.InboxSync != nil {
		if d.log, err = openLog(d, o.NoSync); err != nil {
			d.w.close()
			bdb.Close()
			return nil, fmt.Errorf("store/bolt: open %s: inbox log: %w", path, err)
		}
		d.w.log = d.log
	}
	return d, nil
}

// AppendInbox stores the events whose Key was not seen before, durably in
// the inbox log (see inboxLog), and returns without waiting for bbolt.
func (d *DB) AppendInbox(ctx context.Context, events []dmflow.Event, now time.Time) (dmflow.AppendResult, error) {
	if d.log == nil {
		return d.Store.AppendInbox(ctx, events, now)
	}
	if err := ctx.Err(); err != nil {
		return dmflow.AppendResult{}, err
	}
	if err := d.Store.CheckEvents(events); err != nil {
		return dmflow.AppendResult{}, err
	}
	return d.log.append(events, now)
}

// Forget erases every record about f.Key, and then every inbox log file
// written before (see inboxLog.purge), so the person's messages are gone
// from the log files when it returns.
func (d *DB) Forget(ctx context.Context, f dmflow.Forget) (dmflow.Forgotten, error) {
	out, err := d.Store.Forget(ctx, f)
	if err == nil && d.log != nil {
		if err = d.log.purge(ctx); err != nil {
			err = fmt.Errorf("store/bolt: forget %s: inbox log: %w", f.Key, err)
		}
	}
	return out, err
}

// maybeDropLeases runs dropLeases unless the file is open read-only.
func maybeDropLeases(bdb *bbolt.DB, readOnly bool) error {
	if readOnly {
		return nil
	}
	return bdb.Update(dropLeases)
}

// dropLeases deletes lease buckets left in the file by versions that stored
// leases there (leases now live in memory, see memLeases): the file lock
// proves that no owner of the previous process survived, so its work is
// claimable at once.
func dropLeases(tx *bbolt.Tx) error {
	var names [][]byte
	err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		if kvstore.IsLeaseBucket(string(name)) {
			names = append(names, append([]byte(nil), name...))
		}
		return nil
	})
	for _, n := range names {
		if err == nil {
			err = tx.DeleteBucket(n)
		}
	}
	return err
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// Close waits for queued writes, then closes the file. Leases are dropped
// with the process. Closing twice is a no-op.
func (d *DB) Close() error {
	var lerr error
	if d.log != nil {
		lerr = d.log.close()
	}
	d.w.close()
	d.w.mu.Lock() // no View runs past this point
	defer d.w.mu.Unlock()
	if err := d.bdb.Close(); err != nil {
		return fmt.Errorf("store/bolt: close %s: %w", d.path, err)
	}
	if lerr != nil {
		return fmt.Errorf("store/bolt: close %s: inbox log: %w", d.path, lerr)
	}
	return nil
}

// Backup writes a consistent copy of the file to w while the store keeps
// serving, and returns the number of bytes written.
func (d *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	if d.log != nil {
		// Every event acknowledged before the call goes into the copy.
		if err := d.log.sync(ctx); err != nil {
			return 0, fmt.Errorf("store/bolt: backup %s: %w", d.path, err)
		}
	}
	err := kv{d}.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store/bolt: backup %s: %w", d.path, err)
	}
	return n, nil
}

// Stats counts the group commits so far.
type Stats struct {
	Commits  uint64 // bbolt write transactions committed (one fsync pair each)
	Requests uint64 // write requests they carried
	// LogBatches counts the inbox log's group commits (one write and one
	// fsync each), LogAppends the AppendInbox calls they carried.
	LogBatches, LogAppends uint64
}

// Stats returns how many write transactions carried how many requests.
func (d *DB) Stats() Stats {
	st := Stats{Commits: d.w.commits.Load(), Requests: d.w.requests.Load()}
	if d.log != nil {
		st.LogBatches, st.LogAppends = d.log.batches.Load(), d.log.appends.Load()
	}
	return st
}

// kv is the kvstore.DB view of a DB.
type kv struct{ d *DB }

func (k kv) Update(_ context.Context, fn func(kvstore.Tx) error) error {
	return k.d.w.do(fn)
}

func (k kv) View(ctx context.Context, fn func(kvstore.Tx) error) error {
	return k.view(ctx, func(btx *bbolt.Tx) error { return fn(newTx(btx, k.d.leases)) })
}

// view runs fn in a bbolt read transaction unless the DB is closed.
func (k kv) view(_ context.Context, fn func(*bbolt.Tx) error) error {
	k.d.w.mu.RLock()
	defer k.d.w.mu.RUnlock()
	if k.d.w.closed {
		return errClosed
	}
	k.d.w.swap.RLock()
	defer k.d.w.swap.RUnlock()
	return k.d.bdb.View(fn)
}

func (k kv) Close() error { return k.d.Close() }
