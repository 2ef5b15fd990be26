package bolt

import (
	"errors"
	"fmt"

	"github.com/dmflow/dmflow/store/internal/kvstore"
	bbolt "go.etcd.io/bbolt"
)

var errReadOnly = errors.New("write in a read-only transaction")

// appendFill is the FillPercent of buckets written in key order.
const appendFill = 0.9

// tx adapts a bbolt transaction to kvstore.Tx. dirty records whether the
// current request wrote anything (see writer.run).
type tx struct {
	btx     *bbolt.Tx
	dirty   bool
	buckets map[string]kvstore.Bucket
	leases  *memLeases
	// leaseWrites are the transaction's lease writes, applied to leases
	// after bbolt committed.
	leaseWrites map[string]map[string][]byte
}

func newTx(btx *bbolt.Tx, leases *memLeases) *tx {
	return &tx{btx: btx, buckets: map[string]kvstore.Bucket{}, leases: leases, leaseWrites: map[string]map[string][]byte{}}
}

func (t *tx) Bucket(name string) kvstore.Bucket {
	if b, ok := t.buckets[name]; ok {
		return b
	}
	if kvstore.IsLeaseBucket(name) {
		b := &leaseBucket{tx: t, name: name, readOnly: !t.btx.Writable()}
		t.buckets[name] = b
		return b
	}
	b := &bucket{tx: t}
	if t.btx.Writable() {
		b.b, b.err = t.btx.CreateBucketIfNotExists([]byte(name))
		if b.err != nil {
			b.err = fmt.Errorf("bucket %q: %w", name, b.err)
		} else if kvstore.IsAppendBucket(name) {
			// Appends split at FillPercent: bbolt's default 0.5 leaves
			// every page of an append-only bucket half empty.
			b.b.FillPercent = appendFill
		}
	} else {
		b.b = t.btx.Bucket([]byte(name)) // nil: missing, reads as empty
	}
	t.buckets[name] = b
	return b
}

// bucket adapts a bbolt bucket; b is nil for a missing bucket in a read-only
// transaction.
type bucket struct {
	tx  *tx
	b   *bbolt.Bucket
	err error
}

func (b *bucket) Get(k []byte) []byte {
	if b.b == nil {
		return nil
	}
	return b.b.Get(k)
}

func (b *bucket) writable() error {
	if b.err != nil {
		return b.err
	}
	if b.b == nil || !b.tx.btx.Writable() {
		return errReadOnly
	}
	b.tx.dirty = true
	return nil
}

func (b *bucket) Put(k, v []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	return b.b.Put(k, v)
}

func (b *bucket) Delete(k []byte) error {
	if err := b.writable(); err != nil {
		return err
	}
	return b.b.Delete(k)
}

func (b *bucket) Scan(from []byte, fn func(k, v []byte) bool) error {
	if b.b == nil {
		return b.err
	}
	c := b.b.Cursor()
	k, v := c.First()
	if len(from) > 0 {
		k, v = c.Seek(from)
	}
	for ; k != nil; k, v = c.Next() {
		if !fn(k, v) {
			break
		}
	}
	return nil
}

func (b *bucket) Len() int {
	if b.b == nil {
		return 0
	}
	return b.b.Stats().KeyN
}

func (b *bucket) NextSequence() (uint64, error) {
	if err := b.writable(); err != nil {
		return 0, err
	}
	return b.b.NextSequence()
}
