package bot

import (
	"context"
	"errors"
	"time"

	"github.com/dmflow/dmflow"
)

// Platform lookups off the worker. Before an event is stepped the bot may
// ask the platform for the customer's profile (withProfile) or for the
// commented media (withMedia), and an echo may wait for a send in flight
// to its user (ownEcho). Such a lookup can take up to ProfileTimeout (an
// echo up to EchoGrace) when the Graph API is slow for one account
// (throttling, an outage), and an inbox worker serves the users of every
// account hashed to it. So the
// worker runs a lookup in a goroutine and waits for it at most
// lookupInline; when it takes longer, the item is parked: it goes back to
// the head of its user's items in the partition, that user is skipped
// until the lookup ends, and the worker goes on with the other users (of
// every account). Once the lookup ended the item is stepped again with its
// result. A user's events keep their order, and each lookup is made once
// per item (lookups keeps the results across parking and conflict retries).

// lookupInline is how long a worker waits for a lookup before parking its
// item: most lookups (cached, or one Graph round trip) end in time, so a
// fast platform costs no parking.
const lookupInline = 50 * time.Millisecond

// errParked reports that the item waits for a lookup; it is not a failure.
var errParked = errors.New("bot: item waits for a platform lookup")

// lookups are one claimed item's platform lookups. Only the worker
// handling the item reads and writes them, except the lookup in flight,
// which writes its result before closing wait.
type lookups struct {
	profile     *dmflow.Profile // nil: none (failed or not needed)
	profileDone bool
	media       *dmflow.Comment
	mediaDone   bool
	ownEcho     bool // the echo is of the bot's own reply
	echoDone    bool
	wait        chan struct{} // the lookup in flight, closed when it ended; nil: none
}

// await runs fn in a goroutine, unless a lookup is in flight already, and
// waits for it at most lookupInline. It reports whether the lookup ended
// (its results are then visible); otherwise the caller parks the item and
// calls await again once l.wait is closed.
func (l *lookups) await(fn func()) bool {
	if l.wait == nil {
		w := make(chan struct{})
		l.wait = w
		go func() {
			defer close(w)
			fn()
		}()
	}
	t := time.NewTimer(lookupInline)
	defer t.Stop()
	select {
	case <-l.wait:
		l.wait = nil
		return true
	case <-t.C:
		return false
	}
}

// isOwnEcho reports whether the echo ev is of the bot's own reply (see
// ownEcho), waiting for the user's sends in flight off the worker:
// errParked means it still waits.
func (b *Bot) isOwnEcho(ctx context.Context, ev *dmflow.Event, l *lookups) (bool, error) {
	if !l.echoDone {
		e := *ev
		if !l.await(func() { l.ownEcho = b.ownEcho(ctx, &e) }) {
			return false, errParked
		}
		l.echoDone = true
	}
	return l.ownEcho, nil
}
