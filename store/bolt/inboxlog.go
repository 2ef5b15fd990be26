package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/store/internal/kvstore"
	bbolt "go.etcd.io/bbolt"
)

// The inbox log. AppendInbox makes new events durable in an append-only log
// next to the bbolt file (PATH.inbox/, one segment file at a time), with
// its own group-commit writer: one write and one fdatasync per batch of
// appends. A webhook is acknowledged after that fsync, so it never waits
// behind the session commits, claims and acknowledgements that share
// bbolt's single writer. The logged events are applied into bbolt (as
// pending inbox items with their indexes, exactly what AppendInbox stored
// before) at the start of the next bbolt write transaction, whatever it
// is, together with the highest applied log sequence number (LSN); an
// applier goroutine makes sure such a transaction follows every log batch.
// So every claim, commit, forget or prune sees every event acknowledged
// before it, and inbox reads (History, InboxDepth, Export) apply first.
//
// Duplicates are decided when logging: an event is a duplicate if its Key
// is logged and not applied yet (an in-memory set, changed only by the log
// writer and, after bbolt committed their application, the applier), or,
// checked afterwards in a bbolt read transaction, if bbolt holds it.
//
// Segments are zero-filled to their size when created (see rotate), and a
// batch larger than a segment gets a segment of its own size. Records: a
// 4-byte payload length (0: no more records), the payload's CRC-32C, and the
// payload: LSN (8 bytes), receive time (Unix ns, 8 bytes), the number of
// events, then each event's inbox item record (kvstore.EncodeItems) with
// its length. One record per AppendInbox call, applied in one transaction.
//
// Open replays the records above the applied LSN into bbolt (a record whose
// length or CRC does not check is a torn tail: the batch it belongs to was
// never acknowledged, and it ends its segment), then deletes the segments.
// A segment is deleted as soon as every record in it is applied and a newer
// one is active (segments rotate at logSegmentSize); Close applies
// everything and removes the log; Forget and Compact rotate and delete
// every applied segment, so a forgotten person's text leaves the log files
// with the call.
type inboxLog struct {
	d       *DB
	dir     string
	noSync  bool
	segSize int64

	reqs chan *logReq
	done chan struct{}
	wake chan struct{} // to the applier: records were logged
	stop chan struct{} // closes the applier
	idle chan struct{} // the applier exited

	closeMu sync.RWMutex // guards closed and sends on reqs
	closed  bool

	// wmu is held by the log writer while it writes, and by purge to rotate.
	wmu    sync.Mutex
	active *os.File // nil until the first append (and after a purge)
	size   int64
	next   uint64 // the next LSN
	broken error  // a failed write: the log refuses appends

	mu       sync.Mutex
	pending  []*logRec      // logged, not applied, in LSN order
	keys     map[string]int // Keys of pending events
	segs     []segment      // closed segments and the active one (last), oldest first
	applied  uint64
	applying int // records of pending in the transaction being committed

	batches, appends atomic.Uint64 // log writes (one sync each), AppendInbox calls logged
}

// segment is one log file and the highest LSN in it.
type segment struct {
	path string
	last uint64
}

// logRec is one logged AppendInbox call.
type logRec struct {
	lsn    uint64
	events []dmflow.Event
	recs   [][]byte
	now    time.Time
}

type logReq struct {
	events []dmflow.Event
	recs   [][]byte
	now    time.Time
	res    dmflow.AppendResult
	err    error
	done   chan struct{}
}

const (
	logSegmentSize = 2 << 20
	logMaxBatch    = 1024
	// bLog is the bbolt bucket that keeps the applied LSN.
	bLog = "inbox.log"
)

var (
	keyApplied = []byte("applied")
	crcTable   = crc32.MakeTable(crc32.Castagnoli)
	errLogBad  = errors.New("bad record")
)

// logDir is where the inbox log of the bbolt file at path lives.
func logDir(path string) string { return path + ".inbox" }

// openLog replays the log into bdb (before the writer starts) and returns
// it ready for appends.
func openLog(d *DB, noSync bool) (*inboxLog, error) {
	l := &inboxLog{d: d, dir: logDir(d.path), noSync: noSync, segSize: logSegmentSize,
		reqs: make(chan *logReq, logMaxBatch), done: make(chan struct{}), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), idle: make(chan struct{}), keys: map[string]int{}}
	if err := l.replay(); err != nil {
		return nil, err
	}
	go l.loop()
	go l.applier()
	return l, nil
}

// replay applies the records above the applied LSN to bbolt in one
// transaction, then removes the segments.
func (l *inboxLog) replay() error {
	var applied uint64
	err := l.d.bdb.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte(bLog)); b != nil {
			if v := b.Get(keyApplied); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	names, err := segmentNames(l.dir)
	if err != nil {
		return err
	}
	var recs []*logRec
	last := applied
	for _, name := range names {
		rs, err := readSegment(filepath.Join(l.dir, name))
		if err != nil {
			return err
		}
		for _, r := range rs {
			last = max(last, r.lsn)
			if r.lsn > applied {
				recs = append(recs, r)
			}
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].lsn < recs[j].lsn })
	if len(recs) > 0 {
		err := l.d.bdb.Update(func(btx *bbolt.Tx) error {
			t := newTx(btx, l.d.leases)
			for _, r := range recs {
				if err := kvstore.ApplyItems(t, r.events, r.recs, r.now); err != nil {
					return err
				}
			}
			return putApplied(t, recs[len(recs)-1].lsn)
		})
		if err != nil {
			return fmt.Errorf("replay inbox log: %w", err)
		}
	}
	for _, name := range names {
		if err := os.Remove(filepath.Join(l.dir, name)); err != nil {
			return err
		}
	}
	if len(names) > 0 {
		if err := syncDir(filepath.Join(l.dir, "x")); err != nil {
			return err
		}
	}
	l.applied, l.next = last, last+1
	return nil
}

func putApplied(t *tx, lsn uint64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], lsn)
	return t.Bucket(bLog).Put(keyApplied, v[:])
}

// segmentNames lists the segment files of dir in LSN order (none if dir
// does not exist).
func segmentNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".log") && len(e.Name()) == 20 {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // fixed-width hex first LSNs
	return names, nil
}

// readSegment returns the records of a segment up to its first record that
// does not check (a torn tail).
func readSegment(path string) ([]*logRec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*logRec
	for len(b) >= 8 {
		n := binary.BigEndian.Uint32(b)
		if n == 0 || uint64(n) > uint64(len(b)-8) || crc32.Checksum(b[8:8+n], crcTable) != binary.BigEndian.Uint32(b[4:]) {
			break
		}
		r, err := decodeLogRec(b[8 : 8+n])
		if err != nil {
			break // cannot happen with a matching CRC unless written by a bug
		}
		out = append(out, r)
		b = b[8+n:]
	}
	return out, nil
}

func decodeLogRec(p []byte) (*logRec, error) {
	if len(p) < 16 {
		return nil, errLogBad
	}
	r := &logRec{lsn: binary.BigEndian.Uint64(p), now: time.Unix(0, int64(binary.BigEndian.Uint64(p[8:]))).UTC()}
	p = p[16:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)) {
		return nil, errLogBad
	}
	p = p[k:]
	for range n {
		m, k := binary.Uvarint(p)
		if k <= 0 || m > uint64(len(p)-k) {
			return nil, errLogBad
		}
		rec := bytes.Clone(p[k : k+int(m)])
		p = p[k+int(m):]
		it, err := kvstore.DecodeItem(rec)
		if err != nil {
			return nil, err
		}
		r.events = append(r.events, it.Event)
		r.recs = append(r.recs, rec)
	}
	if len(p) != 0 {
		return nil, errLogBad
	}
	return r, nil
}

// appendRecord appends r's log record to buf.
func appendRecord(buf []byte, r *logRec) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, 8)...)
	buf = binary.BigEndian.AppendUint64(buf, r.lsn)
	buf = binary.BigEndian.AppendUint64(buf, uint64(r.now.UnixNano()))
	buf = binary.AppendUvarint(buf, uint64(len(r.recs)))
	for _, rec := range r.recs {
		buf = binary.AppendUvarint(buf, uint64(len(rec)))
		buf = append(buf, rec...)
	}
	p := buf[start+8:]
	binary.BigEndian.PutUint32(buf[start:], uint32(len(p)))
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(p, crcTable))
	return buf
}

// append logs the new events and returns once they are durable.
func (l *inboxLog) append(events []dmflow.Event, now time.Time) (dmflow.AppendResult, error) {
	recs, err := kvstore.EncodeItems(events, now)
	if err != nil {
		return dmflow.AppendResult{}, fmt.Errorf("store/bolt: append inbox: %w", err)
	}
	r := &logReq{events: events, recs: recs, now: now, done: make(chan struct{})}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return dmflow.AppendResult{}, errClosed
	}
	l.reqs <- r
	l.closeMu.RUnlock()
	<-r.done
	if r.err != nil {
		return dmflow.AppendResult{}, fmt.Errorf("store/bolt: append inbox: %w", r.err)
	}
	return r.res, nil
}

// loop is the log's group-commit writer.
func (l *inboxLog) loop() {
	defer close(l.done)
	var buf []byte
	for r := range l.reqs {
		batch := []*logReq{r}
	drain:
		for len(batch) < logMaxBatch {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf = l.write(batch, buf[:0])
		l.batches.Add(1)
		l.appends.Add(uint64(len(batch)))
		for _, r := range batch {
			close(r.done)
		}
	}
}

// write decides the batch's duplicates, logs its new events and makes them
// durable, and sets each request's result. buf is scratch space.
func (l *inboxLog) write(batch []*logReq, buf []byte) []byte {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	fail := func(err error) []byte {
		for _, r := range batch {
			r.err, r.res = err, dmflow.AppendResult{}
		}
		return buf
	}
	if l.broken != nil {
		return fail(l.broken)
	}
	// Duplicates: first the logged, unapplied keys, then (in a read
	// transaction begun after that check) what bbolt holds: a key that left
	// the set meanwhile was committed to bbolt before it left.
	dup := make([][]bool, len(batch))
	seen := map[string]bool{}
	l.mu.Lock()
	for i, r := range batch {
		dup[i] = make([]bool, len(r.events))
		for j := range r.events {
			k := r.events[j].Key
			if l.keys[k] > 0 || seen[k] {
				dup[i][j] = true
			}
			seen[k] = true
		}
	}
	l.mu.Unlock()
	err := kv{l.d}.View(context.Background(), func(tx kvstore.Tx) error {
		for i, r := range batch {
			for j := range r.events {
				if dup[i][j] {
					continue
				}
				d, err := l.d.Store.IsDuplicate(tx, r.events[j].Key, r.now)
				if err != nil {
					return err
				}
				dup[i][j] = d
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	var recs []*logRec
	for i, r := range batch {
		lr := &logRec{now: r.now}
		for j := range r.events {
			if dup[i][j] {
				r.res.Duplicates++
				continue
			}
			r.res.Added++
			lr.events = append(lr.events, r.events[j])
			lr.recs = append(lr.recs, r.recs[j])
		}
		if len(lr.events) > 0 {
			lr.lsn = l.next + uint64(len(recs))
			recs = append(recs, lr)
			buf = appendRecord(buf, lr)
		}
	}
	if len(recs) == 0 {
		return buf
	}
	if err := l.writeDurably(buf, recs[len(recs)-1].lsn); err != nil {
		l.broken = fmt.Errorf("inbox log: %w (the log refuses appends until the store is reopened)", err)
		return fail(l.broken)
	}
	l.next += uint64(len(recs))
	l.mu.Lock()
	l.pending = append(l.pending, recs...)
	for _, r := range recs {
		for i := range r.events {
			l.keys[r.events[i].Key]++
		}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return buf
}

// writeDurably writes buf to the active segment (rotating first when it is
// full) and syncs it; last is the highest LSN in buf. Called with wmu.
func (l *inboxLog) writeDurably(buf []byte, last uint64) error {
	if l.active == nil || l.size+int64(len(buf)) > l.segSize && l.size > 0 {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	if _, err := l.active.WriteAt(buf, l.size); err != nil {
		return err
	}
	if !l.noSync {
		if err := fdatasync(l.active); err != nil {
			return err
		}
	}
	l.size += int64(len(buf))
	l.mu.Lock()
	l.segs[len(l.segs)-1].last = last
	l.mu.Unlock()
	return nil
}

// rotate closes the active segment and starts a new one, named by the next
// LSN, with its directory entry synced. Called with wmu.
func (l *inboxLog) rotate() error {
	if l.active != nil && l.size == 0 {
		return nil // holds nothing: keep it
	}
	if l.active != nil {
		if err := l.active.Close(); err != nil {
			return err
		}
		l.active = nil
	}
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(l.dir, fmt.Sprintf("%016x.log", l.next))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, l.d.mode)
	if err != nil {
		return err
	}
	// Zero-filled and synced in advance, so that an append's fdatasync
	// writes only its data: no size or extent change, no journal commit
	// (which would also stall bbolt's syncs). Records end at the first
	// zero length.
	if _, err := f.Write(make([]byte, l.segSize)); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if !l.noSync {
		if err := fdatasync(f); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		if err := syncDir(path); err != nil { // the new file's entry
			f.Close()
			os.Remove(path)
			return err
		}
		if err := syncDir(l.dir); err != nil { // the directory's, if new
			f.Close()
			os.Remove(path)
			return err
		}
	}
	l.active, l.size = f, 0
	l.mu.Lock()
	l.segs = append(l.segs, segment{path: path, last: l.next - 1})
	l.mu.Unlock()
	return nil
}

// apply stores the logged records not applied yet in the bbolt write
// transaction t; the writer calls it first in every transaction and, once
// bbolt committed, calls applied.
func (l *inboxLog) apply(t *tx) error {
	l.mu.Lock()
	recs := l.pending
	l.mu.Unlock()
	l.applying = len(recs)
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := kvstore.ApplyItems(t, r.events, r.recs, r.now); err != nil {
			return err
		}
	}
	return putApplied(t, recs[len(recs)-1].lsn)
}

// committed drops the records the committed transaction applied (the first
// l.applying of pending: only the log writer adds, at the end).
func (l *inboxLog) committed() {
	n := l.applying
	l.applying = 0
	if n == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.pending[:n] {
		for i := range r.events {
			k := r.events[i].Key
			if l.keys[k]--; l.keys[k] <= 0 {
				delete(l.keys, k)
			}
		}
	}
	l.applied = l.pending[n-1].lsn
	clear(l.pending[:n])
	l.pending = l.pending[n:]
}

// unapplied reports whether records wait to be applied.
func (l *inboxLog) unapplied() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) > 0
}

// sync applies every record logged so far to bbolt (an empty write
// transaction applies them) and deletes the segments that are wholly
// applied and not active.
func (l *inboxLog) sync(context.Context) error {
	if l.unapplied() {
		if err := l.d.w.do(func(kvstore.Tx) error { return nil }); err != nil {
			return err
		}
	}
	return l.truncate()
}

// truncate deletes the segments before the active one whose records are
// all applied.
func (l *inboxLog) truncate() error {
	l.mu.Lock()
	var gone []string
	for len(l.segs) > 1 && l.segs[0].last <= l.applied {
		gone = append(gone, l.segs[0].path)
		l.segs = l.segs[1:]
	}
	l.mu.Unlock()
	for _, p := range gone {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("inbox log: %w", err)
		}
	}
	return nil
}

// applyDelay is how long the applier leaves a log batch to the next bbolt
// write transaction before it runs one of its own. Under load a claim or
// commit follows within a few milliseconds (the bot claims as soon as an
// append returns) and applies the batch for free; a transaction of the
// applier's own costs a bbolt commit with its two fsyncs. Reads of the
// inbox apply first (InboxSync), so the delay is never visible.
const applyDelay = 20 * time.Millisecond

// applier follows every log batch with a bbolt transaction (which applies
// it) when no other write comes first within applyDelay, and deletes
// applied segments.
func (l *inboxLog) applier() {
	defer close(l.idle)
	t := time.NewTimer(applyDelay)
	t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		}
		t.Reset(applyDelay)
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		// An error here failed a bbolt transaction: the records stay
		// pending and the next transaction applies them.
		_ = l.sync(context.Background())
	}
}

// purge rotates the log, applies everything logged before, and deletes
// every segment but the new active one: after it, no log file holds a
// record logged before the call (Forget, Compact).
func (l *inboxLog) purge(ctx context.Context) error {
	l.wmu.Lock()
	err := l.broken
	if err == nil && l.active != nil {
		err = l.rotate()
	}
	l.wmu.Unlock()
	if err != nil {
		return err
	}
	return l.sync(ctx)
}

// close stops appends, applies every logged record and removes the log
// files (Open has nothing to replay after a clean close).
func (l *inboxLog) close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.reqs)
	l.closeMu.Unlock()
	<-l.done
	close(l.stop)
	<-l.idle
	err := l.sync(context.Background())
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.active != nil {
		if cerr := l.active.Close(); err == nil {
			err = cerr
		}
		l.active = nil
	}
	if err == nil && !l.unapplied() {
		l.mu.Lock()
		segs := l.segs
		l.segs = nil
		l.mu.Unlock()
		for _, s := range segs {
			if rerr := os.Remove(s.path); rerr != nil && err == nil {
				err = rerr
			}
		}
		os.Remove(l.dir) // if empty
	}
	return err
}

// files lists the log's segment files (for tests and admin tools).
func (l *inboxLog) files() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.segs {
		out = append(out, s.path)
	}
	return out
}
