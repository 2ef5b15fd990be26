// Package mem is an in-memory dmflow.Store for tests, `dmflow chat` and
// embedding. It keeps every record encoded with dmflow.MarshalRecord, so the
// values it returns are always fresh copies, and it shares its semantics with
// store/bolt: both implement the contract of dmflow.Store the same way.
//
// Caveats: nothing survives the process; every call holds one mutex (writes
// exclusively), so it is meant for tests and small embedded use, not for
// throughput; Close drops everything.
package mem

import (
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/internal/kvstore"
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// DedupeRetention is how long a done event's Key keeps deduplicating
	// redeliveries when PruneInbox is not called (0: store.DefaultDedupeRetention).
	DedupeRetention time.Duration
}

// Store is an in-memory dmflow.Store. It is safe for concurrent use.
type Store struct {
	*kvstore.Store
}

var _ dmflow.Store = (*Store)(nil)

// New returns an empty Store. opts may be nil.
func New(opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	return &Store{kvstore.New(newDB(), kvstore.Options{Name: "store/mem", DedupeRetention: o.DedupeRetention})}
}
