// Package store holds the few constants dmflow's storage backends share.
// The storage contract is documented once, on the [dmflow.Store] interface
// in the root package, and checked by store/storetest. The backends are
// sub-packages:
//
//	store/bolt       the default: one embedded bbolt file, one process
//	store/mem        in memory, for tests, `dmflow chat` and embedding
//	store/postgres   several replicas sharing one PostgreSQL database
//	store/storetest  the conformance suite every backend passes
//
// No backend imports another. bolt and mem share one implementation of the
// contract (store/internal/kvstore) over an ordered key-value transaction,
// so the two cannot drift apart; postgres implements it in SQL and proves it
// with storetest.Run.
package store

import "time"

// DefaultPageSize is the page size of listings whose limit is 0.
const DefaultPageSize = 100

// DefaultDedupeRetention is how long backends remember an event Key by
// default when they are not pruned explicitly: Instagram retries a webhook
// for hours, never for days.
const DefaultDedupeRetention = 7 * 24 * time.Hour
