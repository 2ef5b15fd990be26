package dmflow

import (
	"context"
	"time"
)

// Optional Store capabilities of stores shared by several processes
// (replicas). The bot and the Instagram client discover them with a type
// assertion; a single-process store (bbolt, mem) implements neither and
// keeps leases that expire and per-process send pacing.

// Liveness is implemented by stores shared by several processes: each
// process records a heartbeat, and a process whose heartbeat has expired is
// dead. Every lease a dead owner holds (inbox and outbox leases of users,
// action calls) is claimable at once, as if it had expired, so a crashed
// replica's users are taken over after one heartbeat TTL instead of one
// lease. Commits and acknowledgements still check the lease itself: an
// owner declared dead by mistake (a stall longer than the TTL) loses only
// the leases another owner took meanwhile, and learns it as ErrLeaseLost.
type Liveness interface {
	// Heartbeat records that owner is alive until now+ttl, using the
	// caller's clock like the leases. It reports whether owner was alive
	// until then (its previous heartbeat had not expired at now, or there
	// was none); false means other owners may have taken its leases, so it
	// must renew a lease (RenewInbox, RenewOutbox) before relying on it.
	Heartbeat(ctx context.Context, owner string, now time.Time, ttl time.Duration) (alive bool, err error)
	// Depart removes owner's heartbeat (a graceful stop, after releasing
	// its leases).
	Depart(ctx context.Context, owner string) error
}

// Pace classes: what a send counts against (see Pacer).
const (
	PaceText    = "text"    // text, links, reactions, stickers, templates, sender actions
	PaceMedia   = "media"   // audio and video
	PacePrivate = "private" // private replies to comments
)

// Pacer is implemented by stores shared by several processes: it paces
// sends per account and class across all of them (the platform's limits are
// per account, not per process). Without it, each process paces its own
// sends.
type Pacer interface {
	// Pace reserves n consecutive send slots of class for account, spaced
	// interval apart across every process sharing the store (a generic cell
	// rate algorithm: one row per account and class). After an idle period
	// up to burst slots are available at once. It returns the first slot's
	// time; slot k (0 <= k < n) may be used at first + k*interval, or at now
	// if that is earlier. Slots not used are lost, which only slows sending.
	Pace(ctx context.Context, account, class string, n int, interval time.Duration, burst int, now time.Time) (first time.Time, err error)
}

// WorkSessions is implemented by stores that hand the owner of a claimed
// inbox item its user's session without a round trip: a shared store
// fetches the sessions with the claim and keeps the ones its owner commits.
// The bot loads the session to step through it when the store has it.
type WorkSessions interface {
	// WorkSession returns the session to step for an inbox item owner
	// claimed, or an error wrapping ErrNotFound when none is stored, like
	// GetSession. It may answer from the copy fetched with owner's claim
	// or written by owner's last commit of the user, which is stale when
	// someone else wrote the session since (an operator's reset on another
	// replica, a takeover). Commit of a session based on such a copy fails
	// with ErrConflict: the store compares the stored session with the one
	// it handed out, not only its version (a reset and a new session may
	// reach the same version), and then forgets the copy, so the next
	// WorkSession reads the stored session. Read-only callers (admin,
	// exports) use GetSession, which always reads the store.
	WorkSession(ctx context.Context, owner string, key SessionKey) (*Session, error)
}
