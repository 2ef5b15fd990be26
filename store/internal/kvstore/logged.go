package kvstore

import (
	"context"
	"time"

	"github.com/dmflow/dmflow"
)

// This file is the interface of a backend that makes appended events
// durable in its own log before they reach the DB (store/bolt's inbox log):
// it validates and encodes events, decides duplicates, and later applies
// the logged events in a DB transaction. Nothing else uses it.

// CheckEvents returns AppendInbox's error for events that cannot be stored.
func (s *Store) CheckEvents(events []dmflow.Event) error {
	return s.errf(validEvents(events), "append inbox")
}

// EncodeItems returns the records of events received at now as inbox
// items with Seq 0, as AppendInbox stores them (the Seq is put in when
// applied). Every element is set.
func EncodeItems(events []dmflow.Event, now time.Time) ([][]byte, error) {
	recs := itemRecs(events, now)
	for i := range recs {
		if recs[i] == nil {
			raw, err := encRec(dmflow.InboxItem{Event: events[i], Received: now})
			if err != nil {
				return nil, err
			}
			recs[i] = raw
		}
	}
	return recs, nil
}

// DecodeItem decodes a record from EncodeItems.
func DecodeItem(rec []byte) (dmflow.InboxItem, error) {
	var it dmflow.InboxItem
	err := decRec(rec, &it)
	return it, err
}

// IsDuplicate reports whether AppendInbox at now would drop an event with
// key as a duplicate of what tx holds.
func (s *Store) IsDuplicate(tx Tx, key string, now time.Time) (bool, error) {
	return s.isDuplicate(tx, key, now)
}

// ApplyItems stores events, received at now and found new, as pending
// items, in order, without deciding duplicates again; recs are their
// records from EncodeItems.
func ApplyItems(tx Tx, events []dmflow.Event, recs [][]byte, now time.Time) error {
	for i := range events {
		var rec []byte
		if len(recs[i]) >= itemFixedEnd && recs[i][0] == recordBin {
			rec = recs[i]
		}
		if err := appendEvent(tx, &events[i], rec, now); err != nil {
			return err
		}
	}
	return nil
}

// syncInbox runs Options.InboxSync before a read of the inbox buckets.
func (s *Store) syncInbox(ctx context.Context) error {
	if s.inboxSync == nil {
		return nil
	}
	return s.inboxSync(ctx)
}
