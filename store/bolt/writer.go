package bolt

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow/store/internal/kvstore"
	bbolt "go.etcd.io/bbolt"
)

// request is one Update waiting for the group-commit writer.
type request struct {
	fn   func(kvstore.Tx) error
	err  error // fn's own error in the last run
	done chan error
}

// writer is the group-commit loop: one goroutine takes every queued
// request, runs them all in one bbolt transaction and commits once (one pair
// of fsyncs), then answers them. A request that fails after writing aborts
// the transaction; the batch is then re-run without it and it runs alone, so
// one bad request never fails the others. A request that fails before
// writing just reports its error.
type writer struct {
	db     *bbolt.DB
	leases *memLeases
	max    int
	linger time.Duration
	reqs   chan *request
	done   chan struct{}

	mu     sync.RWMutex // guards closed and sends on reqs
	closed bool
	// swap guards db: transactions hold it for reading, Compact for
	// writing while it replaces the file.
	swap sync.RWMutex

	commits, requests atomic.Uint64

	// log, if set, applies logged inbox records first in every
	// transaction (see inboxLog).
	log *inboxLog
}

var errAbort = errors.New("store/bolt: request failed after writing")

func newWriter(db *bbolt.DB, leases *memLeases, max int, linger time.Duration) *writer {
	w := &writer{db: db, leases: leases, max: max, linger: linger, reqs: make(chan *request, max), done: make(chan struct{})}
	go w.loop()
	return w
}

// do queues fn and waits for its durable outcome.
func (w *writer) do(fn func(kvstore.Tx) error) error {
	r := &request{fn: fn, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return errClosed
	}
	w.reqs <- r
	w.mu.RUnlock()
	return <-r.done
}

// close stops accepting requests and waits for the queued ones.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	last := 0
	for r := range w.reqs {
		batch := w.drain([]*request{r})
		if last > 1 && w.linger > 0 {
			batch = w.wait(batch)
		}
		last = len(batch)
		w.run(batch)
	}
}

// wait collects requests for up to w.linger, until batch is full. It runs
// only after a batch of several requests: callers just answered are about to
// send their next request, and waiting for them doubles the batch size,
// while a lone caller never waits.
func (w *writer) wait(batch []*request) []*request {
	t := time.NewTimer(w.linger)
	defer t.Stop()
	for len(batch) < w.max {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// drain adds the requests already queued, up to max.
func (w *writer) drain(batch []*request) []*request {
	for len(batch) < w.max {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// run commits batch in one transaction and answers its requests.
func (w *writer) run(batch []*request) {
	if len(batch) == 0 {
		return
	}
	failed := -1
	var t *tx
	w.swap.RLock()
	err := w.db.Update(func(btx *bbolt.Tx) error {
		t = newTx(btx, w.leases)
		if err := w.applyLog(t); err != nil {
			return err
		}
		for i, r := range batch {
			t.dirty = false
			if r.err = r.fn(t); r.err != nil && t.dirty {
				failed = i
				return errAbort
			}
		}
		return nil
	})
	w.swap.RUnlock()
	if failed >= 0 && errors.Is(err, errAbort) {
		w.run(batch[:failed])
		w.solo(batch[failed])
		w.run(batch[failed+1:])
		return
	}
	if err == nil {
		w.committed(t)
	}
	w.count(len(batch))
	for _, r := range batch {
		r.done <- firstErr(r.err, err)
	}
}

// solo runs one request in its own transaction.
func (w *writer) solo(r *request) {
	var t *tx
	w.swap.RLock()
	err := w.db.Update(func(btx *bbolt.Tx) error {
		t = newTx(btx, w.leases)
		if err := w.applyLog(t); err != nil {
			return err
		}
		return r.fn(t)
	})
	w.swap.RUnlock()
	if err == nil {
		w.committed(t)
	}
	w.count(1)
	r.done <- err
}

// applyLog applies the inbox log's pending records in t.
func (w *writer) applyLog(t *tx) error {
	if w.log == nil {
		return nil
	}
	return w.log.apply(t)
}

// committed runs after bbolt committed t.
func (w *writer) committed(t *tx) {
	w.leases.apply(t.leaseWrites)
	if w.log != nil {
		w.log.committed()
	}
}

func (w *writer) count(n int) {
	w.commits.Add(1)
	w.requests.Add(uint64(n))
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
