package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/internal/kvstore"
)

// db is an in-memory kvstore.DB: sorted buckets behind one RWMutex. Update
// keeps an undo log and rolls back when its function fails.
type db struct {
	mu      sync.RWMutex
	buckets map[string]*bucket
	closed  bool
}

func newDB() *db { return &db{buckets: map[string]*bucket{}} }

var errReadOnly = errors.New("store/mem: write in a read-only transaction")

func (d *db) Update(_ context.Context, fn func(kvstore.Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("store/mem: %w", dmflow.ErrClosed)
	}
	t := &tx{db: d, write: true}
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	return nil
}

func (d *db) View(_ context.Context, fn func(kvstore.Tx) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return fmt.Errorf("store/mem: %w", dmflow.ErrClosed)
	}
	return fn(&tx{db: d})
}

func (d *db) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed, d.buckets = true, nil
	return nil
}

// tx is one transaction; undo holds the inverse of every write, in order.
type tx struct {
	db    *db
	write bool
	undo  []func()
}

func (t *tx) Bucket(name string) kvstore.Bucket {
	b := t.db.buckets[name]
	if b == nil {
		b = &bucket{vals: map[string][]byte{}}
		if t.write {
			t.db.buckets[name] = b
		}
	}
	return &txBucket{tx: t, b: b}
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
}

// bucket is a sorted map.
type bucket struct {
	keys []string // sorted
	vals map[string][]byte
	seq  uint64
}

func (b *bucket) set(k string, v []byte) {
	if _, ok := b.vals[k]; !ok {
		i, _ := slices.BinarySearch(b.keys, k)
		b.keys = slices.Insert(b.keys, i, k)
	}
	b.vals[k] = v
}

func (b *bucket) unset(k string) {
	if _, ok := b.vals[k]; !ok {
		return
	}
	i, _ := slices.BinarySearch(b.keys, k)
	b.keys = slices.Delete(b.keys, i, i+1)
	delete(b.vals, k)
}

// restore returns a function that puts k back as it is now.
func (b *bucket) restore(k string) func() {
	old, ok := b.vals[k]
	return func() {
		if ok {
			b.set(k, old)
		} else {
			b.unset(k)
		}
	}
}

// txBucket is a bucket seen through a transaction.
type txBucket struct {
	tx *tx
	b  *bucket
}

func (tb *txBucket) Get(k []byte) []byte { return tb.b.vals[string(k)] }

func (tb *txBucket) Put(k, v []byte) error {
	if !tb.tx.write {
		return errReadOnly
	}
	tb.tx.undo = append(tb.tx.undo, tb.b.restore(string(k)))
	tb.b.set(string(k), bytes.Clone(v))
	return nil
}

func (tb *txBucket) Delete(k []byte) error {
	if !tb.tx.write {
		return errReadOnly
	}
	tb.tx.undo = append(tb.tx.undo, tb.b.restore(string(k)))
	tb.b.unset(string(k))
	return nil
}

func (tb *txBucket) Scan(from []byte, fn func(k, v []byte) bool) error {
	i, _ := slices.BinarySearch(tb.b.keys, string(from))
	for ; i < len(tb.b.keys); i++ {
		k := tb.b.keys[i]
		if !fn([]byte(k), tb.b.vals[k]) {
			break
		}
	}
	return nil
}

func (tb *txBucket) Len() int { return len(tb.b.keys) }

func (tb *txBucket) NextSequence() (uint64, error) {
	if !tb.tx.write {
		return 0, errReadOnly
	}
	b, old := tb.b, tb.b.seq
	tb.tx.undo = append(tb.tx.undo, func() { b.seq = old })
	b.seq++
	return b.seq, nil
}
