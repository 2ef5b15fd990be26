package kvstore

import (
	"context"
	"time"

	"github.com/dmflow/dmflow"
)

// timerRec is a timer index entry.
type timerRec struct {
	Key   dmflow.SessionKey `json:"key"`
	Timer dmflow.Timer      `json:"timer"`
}

func timerKey(uk []byte, t dmflow.Timer) []byte {
	return cat(timeKey(t.Due), uk, []byte(t.ID))
}

// FireTimers moves timers due at or before now into the inbox.
func (s *Store) FireTimers(ctx context.Context, now time.Time, max int) (int, error) {
	var n int
	err := s.update(ctx, func(tx Tx) error {
		var err error
		n, err = s.fire(tx, now, limitOr(max))
		return err
	})
	return n, s.errf(err, "fire timers")
}

func (s *Store) fire(tx Tx, now time.Time, max int) (int, error) {
	end := timeKey(now)
	tb := tx.Bucket(bTimers)
	keys, err := scanKeys(tb, nil, max, func(k []byte) bool { return string(k[:8]) <= string(end) })
	if err != nil {
		return 0, err
	}
	events := make([]dmflow.Event, len(keys))
	for i, k := range keys {
		var r timerRec
		if _, err := getRec(tb, k, &r); err != nil {
			return 0, err
		}
		events[i] = timerEvent(r)
		if err := tb.Delete(k); err != nil {
			return 0, err
		}
	}
	_, err = s.appendEvents(tx, events, nil, now)
	return len(keys), err
}

func timerEvent(r timerRec) dmflow.Event {
	t := r.Timer
	return dmflow.Event{
		Key: "timer:" + t.ID, Kind: dmflow.KindTimer,
		Account: r.Key.Account, User: r.Key.User, Time: t.Due,
		Timer: &dmflow.TimerFire{ID: t.ID, Name: t.Name, Due: t.Due},
	}
}

// NextTimer returns the earliest pending timer's due time.
func (s *Store) NextTimer(ctx context.Context) (time.Time, bool, error) {
	var due time.Time
	var ok bool
	err := s.view(ctx, func(tx Tx) error {
		var r timerRec
		var derr error
		err := tx.Bucket(bTimers).Scan(nil, func(_, v []byte) bool {
			derr, ok = decRec(v, &r), true
			return false
		})
		due = r.Timer.Due
		if err == nil {
			err = derr
		}
		return err
	})
	return due, ok, s.errf(err, "next timer")
}
