package bot

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// recentTTL is how long this process remembers what it sent to a user.
// Acknowledged ids are durable dedupe keys, so this only covers echoes
// that reached the inbox before their reply was acknowledged and are
// processed later (an inbox backlog), and content matches after a crash.
const recentTTL = 5 * time.Minute

// recentPerUser is how many recent sends are remembered per user.
const recentPerUser = 4

// maxTrackedUsers bounds the users remembered at once (about 100 bytes
// each); beyond it, users with no send in flight are evicted early.
const maxTrackedUsers = 1 << 16

// sweepEvery bounds how often the tracker (and the end-to-end latency map)
// is swept for expired entries, so that a map holding many live entries is
// not walked on every send.
const sweepEvery = time.Second

// echoTracker remembers, per user, the sends in flight and the last few
// sends of this process (hashes of the message id and of the content), so
// that an echo reaching the inbox before its reply was acknowledged is
// still recognised as ours.
//
// Users are keyed by a 64-bit hash of their session key, like the ids and
// contents they are matched on, so that the tracker holds no strings: two
// users whose keys collide (odds about 2^-33 at maxTrackedUsers) would share
// one entry, i.e. an echo to one would also be matched against the other's
// recent sends, and a send in flight to one would make the other's echoes
// wait for it.
type echoTracker struct {
	mu    sync.Mutex
	users map[uint64]*userSends
	swept time.Time // last sweep
}

type userSends struct {
	done     chan struct{} // while inflight > 0: closed when it drops to 0
	last     int64         // time of the last delivered send, Unix ns
	inflight int32
	next     uint8 // ring position
	recent   [recentPerUser]recentSend
}

// recentSend is one delivered message: FNV-1a hashes of its id and of its
// content signature (see replySig).
type recentSend struct{ mid, sig uint64 }

func newEchoTracker() *echoTracker {
	return &echoTracker{users: map[uint64]*userSends{}}
}

// begin records a send to key in flight.
func (t *echoTracker) begin(key dmflow.SessionKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := userHash(key)
	u := t.users[k]
	if u == nil {
		u = &userSends{}
		t.users[k] = u
	}
	if u.inflight == 0 {
		u.done = make(chan struct{})
	}
	u.inflight++
}

// end records the outcome of a send begun with begin: mid is "" on
// failure, sig is the reply's content signature.
func (t *echoTracker) end(key dmflow.SessionKey, mid, sig string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	u := t.users[userHash(key)]
	if u == nil {
		return
	}
	if mid != "" {
		u.recent[u.next] = recentSend{mid: hash(mid), sig: hash(sig)}
		u.next = (u.next + 1) % recentPerUser
		u.last = now.UnixNano()
	}
	if u.inflight--; u.inflight == 0 {
		close(u.done)
		u.done = nil // waiters hold it; an idle user keeps no channel
	}
	t.sweep(now)
}

// sweep forgets users without a send in flight whose last send is older
// than recentTTL, at most once per sweepEvery; above maxTrackedUsers it
// forgets such users regardless of age.
func (t *echoTracker) sweep(now time.Time) {
	full := len(t.users) > maxTrackedUsers
	if len(t.users) <= 4096 || (!full && now.Sub(t.swept) < sweepEvery) {
		return
	}
	t.swept = now
	old := now.Add(-recentTTL).UnixNano()
	for k, u := range t.users {
		if u.inflight == 0 && (full || u.last < old) {
			delete(t.users, k)
		}
	}
}

// isOurs reports whether an echo to key with id mid and content signature
// sig was sent by this process recently, waiting up to grace for sends to
// key that are still in flight.
func (t *echoTracker) isOurs(ctx context.Context, key dmflow.SessionKey, mid, sig string, grace time.Duration) bool {
	ok, done := t.match(key, mid, sig)
	if ok || done == nil {
		return ok
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	case <-ctx.Done():
	}
	ok, _ = t.match(key, mid, sig)
	return ok
}

// match looks mid and sig up among the user's recent sends; done is
// non-nil while a send to the user is in flight.
func (t *echoTracker) match(key dmflow.SessionKey, mid, sig string) (ok bool, done chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.users[userHash(key)]
	if u == nil {
		return false, nil
	}
	if u.inflight > 0 {
		done = u.done
	}
	if time.Now().UnixNano()-u.last > int64(recentTTL) {
		return false, done
	}
	hm, hs := hash(mid), hash(sig)
	for _, r := range u.recent {
		if (mid != "" && r.mid == hm) || (sig != "" && r.sig == hs) {
			return true, done
		}
	}
	return false, done
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hash is the FNV-1a hash of s.
func hash(s string) uint64 { return fnvAdd(fnvOffset, s) }

// userHash is the FNV-1a hash of key's account, a zero byte and its user.
func userHash(key dmflow.SessionKey) uint64 {
	h := fnvAdd(fnvOffset, key.Account)
	h = (h ^ 0) * fnvPrime
	return fnvAdd(h, key.User)
}

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// replySig is the content signature of a reply, as its echo will show it:
// the text, else the type of the (first) attachment. Replies that are not
// echoed as messages (sender actions, reactions) have none.
func replySig(r *dmflow.Reply) string {
	switch {
	case r.Kind == dmflow.ReplyAction || r.Kind == dmflow.ReplyReact:
		return ""
	case r.Text != "":
		return "t:" + r.Text
	case len(r.Media) > 0:
		return "a:" + r.Media[0].Type
	case r.Kind == dmflow.ReplyLikeHeart:
		return "a:like_heart"
	case r.Kind == dmflow.ReplyMediaShare:
		return "a:share"
	case r.Kind == dmflow.ReplyGeneric:
		return "a:template"
	}
	return ""
}

// echoSig is the content signature of an echo (see replySig).
func echoSig(ev *dmflow.Event) string {
	switch {
	case ev.Text != "":
		return "t:" + ev.Text
	case len(ev.Attachments) > 0:
		return "a:" + ev.Attachments[0].Type
	}
	return ""
}

// echoPoll is how often a worker looks at the store again while it waits
// for a reply to an unknown echo's user to leave the outbox.
const echoPoll = 25 * time.Millisecond

// ownEcho reports whether an echo event is one of dmflow's own sends: a
// message id or content this
// process sent recently (waiting for a send in flight to the user), the
// content of one of the user's replies still in the outbox (sent by
// another replica, or before a crash, and not acknowledged yet), or an id
// acknowledged by any replica (Store.Remembered). While the echo is none
// of these but the user has replies in the outbox, it waits for them
// (polling, at most Config.EchoGrace in all): a reply another replica is
// sending may be acknowledged meanwhile.
func (b *Bot) ownEcho(ctx context.Context, ev *dmflow.Event) bool {
	key, sig := ev.SessionKey(), echoSig(ev)
	deadline := time.Now().Add(b.cfg.EchoGrace)
	if b.echoes.isOurs(ctx, key, ev.MID, sig, b.cfg.EchoGrace) {
		return true
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		ours, busy := b.storedEcho(ctx, ev)
		if ours {
			return true
		}
		wait := min(echoPoll, time.Until(deadline))
		if !busy || wait <= 0 {
			return false
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if ok, _ := b.echoes.match(key, ev.MID, sig); ok {
			return true
		}
	}
}

// storedEcho looks an echo up in the store: among the user's replies still
// in the outbox (by content), then among the acknowledged ids. In that
// order, because an acknowledgement removes the reply and remembers its id
// in one transaction: a reply that left the outbox before the first look
// is remembered by the second. busy reports that the user has replies in
// the outbox.
func (b *Bot) storedEcho(ctx context.Context, ev *dmflow.Event) (ours, busy bool) {
	key := ev.SessionKey()
	items := b.pendingReplies(ctx, key)
	if pendingMatch(items, ev) {
		return true, true
	}
	if ev.MID == "" {
		return false, len(items) > 0
	}
	ok, err := b.store.Remembered(ctx, echoKey(ev.MID), b.now())
	if err != nil {
		b.log.Warn("look up an unknown echo's id", "account", key.Account, "user", key.String(), "err", err)
	}
	return ok, len(items) > 0
}

// pendingLister is implemented by stores that list a user's outbox items
// without claiming them (store/bolt, store/mem, store/postgres).
type pendingLister interface {
	PendingOutbox(ctx context.Context, queue string, key dmflow.SessionKey, limit int) ([]dmflow.OutboxItem, error)
}

// pendingReplies lists up to 64 of the user's replies in the outbox, if the
// store can.
func (b *Bot) pendingReplies(ctx context.Context, key dmflow.SessionKey) []dmflow.OutboxItem {
	pl, ok := b.store.(pendingLister)
	if !ok {
		return nil
	}
	items, err := pl.PendingOutbox(ctx, dmflow.QueueDM, key, 64)
	if err != nil {
		b.log.Warn("list pending replies for an unknown echo", "account", key.Account, "user", key.String(), "err", err)
	}
	return items
}

// pendingMatch reports whether one of the replies items has the echo's
// content signature, or is a text long enough to be sent in parts that
// contains the echo's text as one of them.
func pendingMatch(items []dmflow.OutboxItem, ev *dmflow.Event) bool {
	sig := echoSig(ev)
	if sig == "" {
		return false
	}
	for i := range items {
		if m := items[i].Message; m != nil && (replySig(&m.Reply) == sig || isPart(m.Reply.Text, ev.Text)) {
			return true
		}
	}
	return false
}

// minPart is the shortest echo text taken for a part of a split reply:
// the Instagram adapter cuts a text above dmflow.MaxTextBytes after more
// than half of each part's room, so every part but the last (whose id the
// Send API client returns) is longer.
const minPart = dmflow.MaxTextBytes / 3

// isPart reports whether part may be one of the messages a long reply
// text was split into.
func isPart(text, part string) bool {
	return len(text) > dmflow.MaxTextBytes && len(part) >= minPart && strings.Contains(text, part)
}

// replySent is the reply.sent notice of a delivered reply.
func (b *Bot) replySent(key dmflow.SessionKey, mid string) dmflow.Notice {
	return dmflow.Notice{Type: dmflow.NoticeReplySent, Key: key, Time: b.now(), Cause: echoKey(mid),
		Data: map[string]any{"mid": mid}}
}

// echoKey is the dedupe key of the platform's echo of message mid (the
// Instagram adapter keys echoes "echo:<mid>"), remembered when the reply
// is acknowledged so that the echo is dropped at ingest.
func echoKey(mid string) string {
	if mid == "" {
		return ""
	}
	return "echo:" + mid
}
