package kvstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store"
)

// Options tunes a Store.
type Options struct {
	// Name prefixes errors, e.g. "store/bolt".
	Name string
	// DedupeRetention is how long a done item's Key keeps deduplicating even
	// when PruneInbox is not called (0: store.DefaultDedupeRetention).
	DedupeRetention time.Duration
	// SessionCache bounds the decoded sessions kept in memory (0:
	// DefaultSessionCache, negative: none). See sessCache.
	SessionCache int
	// InboxSync, if set, runs before every read-only transaction that reads
	// inbox items (History, InboxDepth, Export): a backend that logs
	// appends elsewhere first (see logged.go) applies them to the DB there.
	InboxSync func(context.Context) error
}

// Store implements dmflow.Store over a DB.
type Store struct {
	db   DB
	name string
	keep time.Duration
	// sessions caches decoded sessions (nil: off).
	sessions *sessCache
	// inboxSync is Options.InboxSync.
	inboxSync func(context.Context) error
}

var _ dmflow.Store = (*Store)(nil)

// New returns a Store that keeps its data in db.
func New(db DB, o Options) *Store {
	if o.DedupeRetention <= 0 {
		o.DedupeRetention = store.DefaultDedupeRetention
	}
	if o.Name == "" {
		o.Name = "store"
	}
	return &Store{db: db, name: o.Name, keep: o.DedupeRetention, sessions: newSessCache(o.SessionCache), inboxSync: o.InboxSync}
}

// Close closes the underlying DB.
func (s *Store) Close() error { return s.db.Close() }

// errf wraps err with the store name and what was being done.
func (s *Store) errf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", s.name, fmt.Sprintf(format, args...), err)
}

func (s *Store) update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(ctx, fn)
}

func (s *Store) view(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(ctx, fn)
}

// getRec decodes the record at k into v and reports whether it exists.
func getRec(b Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := decRec(raw, v); err != nil {
		return true, fmt.Errorf("key %x: %w", k, err)
	}
	return true, nil
}

func putRec(b Bucket, k []byte, v any) error {
	raw, err := encRec(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// scanKeys returns up to max keys >= from for which keep returns true,
// stopping at the first key for which more returns false (nil: never).
func scanKeys(b Bucket, from []byte, max int, more func(k []byte) bool) ([][]byte, error) {
	var out [][]byte
	err := b.Scan(from, func(k, _ []byte) bool {
		if more != nil && !more(k) {
			return false
		}
		out = append(out, append([]byte(nil), k...))
		return max <= 0 || len(out) < max
	})
	return out, err
}

// limitOr returns n, or store.DefaultPageSize when n <= 0.
func limitOr(n int) int {
	if n <= 0 {
		return store.DefaultPageSize
	}
	return n
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), dmflow.ErrInvalid)
}
