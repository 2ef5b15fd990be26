// Package kvstore implements the dmflow.Store contract once, over an ordered
// key-value transaction (DB, Tx, Bucket), so that store/bolt and store/mem
// share their semantics instead of copying them. It is internal: embedders
// use the backends.
//
// Every method runs in one DB transaction. Update functions must be
// repeatable: a backend may run one again (group commit re-runs a request
// alone when its batch failed), so they assign their results instead of
// accumulating them, and they check everything before their first write.
package kvstore

import "context"

// DB runs transactions. Update runs fn in a read-write transaction and makes
// it durable before returning nil; if fn returns an error nothing of it is
// kept. View runs fn in a read-only transaction. Both return an error
// wrapping dmflow.ErrClosed after Close.
type DB interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is a transaction over named buckets.
type Tx interface {
	// Bucket returns the named bucket, created on first use in a read-write
	// transaction; in a read-only transaction a missing bucket is empty.
	Bucket(name string) Bucket
}

// Bucket is an ordered map of byte keys. Values returned by Get and Scan are
// valid only during the transaction and must not be modified. A Bucket must
// not be modified during Scan.
type Bucket interface {
	Get(k []byte) []byte
	Put(k, v []byte) error
	Delete(k []byte) error
	// Scan calls fn for the keys >= from, ascending, until fn returns false.
	Scan(from []byte, fn func(k, v []byte) bool) error
	// Len returns the number of keys.
	Len() int
	// NextSequence returns the bucket's next sequence number (from 1), rolled
	// back with the transaction.
	NextSequence() (uint64, error)
}
