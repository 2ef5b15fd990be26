package dmflow

import (
	"context"
	"time"
)

// Store is the durable state of a dmflow deployment: the inbox of received
// events, per-user sessions and their timers, the outbox of replies and
// notices, pending action calls, the dead-letter list and OAuth tokens.
//
// This is the one description of the storage contract; store/storetest
// checks it for every implementation (store/bolt, store/mem,
// store/postgres), whose package docs say only what is specific to them.
//
//   - Durability: a method that returns nil has made its effect durable (the
//     bbolt file is fsync'd, the PostgreSQL transaction committed). Durable
//     stores group-commit concurrent callers: many goroutines calling
//     AppendInbox, Commit or AckOutbox at once share one transaction and one
//     disk flush per batch, and a call that fails inside a batch does not
//     fail the others.
//   - Inbox: AppendInbox stores events in order; an event whose Key was seen
//     before (also earlier in the same batch) is a duplicate and dropped.
//     Each stored event gets a Seq from one store-wide increasing sequence.
//     Events must carry Key, Account and User (otherwise the whole call
//     fails with ErrInvalid and stores nothing).
//   - Ordering: inbox items of one SessionKey are claimed in Seq order, and
//     at most one owner holds a user's inbox lease at a time, so one user's
//     events are never processed concurrently, even across replicas. The same
//     holds for each outbox queue.
//   - Leases: a claim leases the user to its owner until Claim.Now +
//     Claim.Lease; the store keeps that duration with the lease. The owner
//     holds the lease while it is live (now before its end) and nobody
//     released or took it; each claim, Commit and AckOutbox renew it, and
//     RenewInbox and RenewOutbox renew it without other work, to their now
//     plus that duration (never shortening it). Once it has expired, another
//     owner's claim takes the user, with the items the first owner claimed
//     and did not finish (Attempts counts the claims). A Commit that
//     finishes an item (Seq != 0) fails with ErrLeaseLost unless its Owner
//     holds a live lease on the user. The outbox is leased per (queue,
//     user), action calls one by one.
//   - Time: every time decision (lease expiry, due timers, due outbox
//     retries, retention) uses the time the caller passes in (Claim.Now,
//     Commit.Now, ...), never the store's clock, so tests are deterministic.
//   - Atomicity: Commit is all or nothing: the compare-and-swap of the
//     session on Version (ErrConflict when it moved), its timers, the
//     outgoing messages and notices, the action calls, the funnel counts,
//     and marking the inbox item done or failed (recording the messages
//     with it, see InboxItem.Replies). Nothing of a failed Commit is
//     visible.
//   - Retention: done items stay in History and their Keys keep
//     deduplicating redeliveries until PruneInbox or Sweep forgets them;
//     pending items and their keys are never pruned. Failed items stay
//     listed by FailedInbox. ExpireSessions deletes sessions whose Updated
//     time (Commit.Now when the caller left it zero) is older than the TTL,
//     with their timers. Sweep applies retention cut-offs per kind; the bot
//     runs it in the background.
//   - Personal data: Forget erases one person (or a whole business account)
//     in one transaction, and Export returns the same records. Deleted data
//     may stay on disk until the backend reclaims it (store/bolt's Compact,
//     PostgreSQL's VACUUM).
//   - Isolation of values: records returned are copies owned by the caller.
//   - Safety: all methods are safe for concurrent use. A record that cannot be
//     decoded yields an error wrapping ErrCorrupt, never a panic; other
//     records stay usable.
type Store interface {
	Inbox
	Sessions
	Outbox
	Actions
	Tokens
	PersonalData
	Stats
	// Close releases the store. In-flight leases are dropped, and their work
	// becomes claimable again (immediately for a single-process store, after
	// the lease expires for a shared one).
	Close() error
}

// Claim asks for leased work.
type Claim struct {
	Owner string        // the claiming worker or replica, unique per process
	Max   int           // at most this many items (>= 1)
	Lease time.Duration // how long the owner holds the user before others may take over
	Now   time.Time
	// Skip lists business accounts whose items ClaimOutbox and
	// ClaimActions must not return: a sender (or the action runner) passes
	// the accounts that already hold their share of its capacity, so that
	// their waiting items (throttled, paced, slow) never take the room
	// another account's need. ClaimInbox ignores it.
	Skip []string
}

// AppendResult tells what AppendInbox did.
type AppendResult struct {
	Added      int // new events stored
	Duplicates int // events whose Key was seen before (within the dedupe retention)
}

// InboxItem is an event in the durable inbox.
type InboxItem struct {
	Seq      uint64    `json:"seq"` // assigned by the store, increasing in append order
	Event    Event     `json:"event"`
	Received time.Time `json:"received"`
	// Attempts counts how often the item was claimed; a crash loop shows here.
	Attempts int `json:"attempts,omitempty"`
	// Replies are the messages the Commit that finished the item enqueued
	// for the user (Commit.Outbox), in order: what the bot said then. The
	// store records them with the item, and History and Export return them,
	// so a replay can show what was sent next to what the current flows
	// would send and a conversation can be recorded as a test. Empty for a
	// pending item, a turn without replies, and items finished before
	// stores recorded replies.
	Replies []Outgoing `json:"replies,omitempty"`
}

// Inbox is the durable queue of received events.
type Inbox interface {
	// AppendInbox stores the events whose Key was not seen before, in order,
	// and returns once they are durable. Redelivered events (same Key) are
	// counted as duplicates and dropped. Keys are remembered for the dedupe
	// retention after the item is done (see PruneInbox).
	AppendInbox(ctx context.Context, events []Event, now time.Time) (AppendResult, error)
	// ClaimInbox leases pending items to c.Owner. It returns at most c.Max
	// items, in Seq order per user, only of users whose inbox lease is free,
	// expired or already held by c.Owner, and only items not already claimed
	// by c.Owner and not yet done. Claiming leases the user to c.Owner until
	// c.Now+c.Lease (renewed by each claim and commit).
	//
	// A claim is shared between business accounts round-robin: every
	// account with claimable items gets its oldest one before any account
	// gets a second, and so on (within a round, older items first), so one
	// account's backlog cannot fill a claim while another account's users
	// wait. Each account's items are its oldest claimable ones, so each
	// user's come in Seq order. Items are returned in Seq order.
	ClaimInbox(ctx context.Context, c Claim) ([]InboxItem, error)
	// ReleaseInbox gives up the owner's leases on the given users (all users
	// when keys is empty), making their unfinished items claimable again.
	ReleaseInbox(ctx context.Context, owner string, keys ...SessionKey) error
	// RenewInbox extends the owner's inbox leases on the given users to
	// now plus the lease duration of the claim that took them, so that a
	// user whose claimed items wait in a slow queue is not taken over. It
	// returns the users whose lease the owner no longer holds (expired at
	// now, released, or taken by another owner); those are not renewed.
	RenewInbox(ctx context.Context, owner string, now time.Time, keys ...SessionKey) (lost []SessionKey, err error)
	// Remembered reports whether key was remembered by AckOutbox
	// (Ack.Remember) at a time within the dedupe retention before now,
	// whether or not an inbox item with that Key exists. The bot asks it
	// for "echo:<mid>" before taking an echo processed on another replica
	// for a person's message.
	Remembered(ctx context.Context, key string, now time.Time) (bool, error)
	// InboxDepth returns how many items are not done yet.
	InboxDepth(ctx context.Context) (int, error)
	// History returns up to limit of the user's processed and pending items,
	// oldest first, as kept by the retention (for replay and inspection),
	// each finished item with the Replies its commit enqueued.
	History(ctx context.Context, key SessionKey, limit int) ([]InboxItem, error)
	// FailedInbox lists items that were given up on (Commit with Failed set).
	FailedInbox(ctx context.Context, limit int) ([]FailedItem, error)
	// FireTimers moves timers due at or before now into the inbox as
	// KindTimer events (Key "timer:<id>"), atomically removing them from the
	// timer index, and returns how many fired. Safe to call from several
	// replicas: each timer fires once.
	FireTimers(ctx context.Context, now time.Time, max int) (int, error)
	// NextTimer returns the earliest pending timer's due time, or ok=false.
	NextTimer(ctx context.Context) (due time.Time, ok bool, err error)
	// PruneInbox forgets done items and dedupe keys received before the
	// given time, and returns how many records it removed.
	PruneInbox(ctx context.Context, before time.Time) (int, error)
}

// FailedItem is an inbox item that could not be processed.
type FailedItem struct {
	Item   InboxItem `json:"item"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Commit is the atomic outcome of processing one inbox item (or of an
// administrative change).
type Commit struct {
	Owner string
	// Seq is the inbox item this commit finishes (0: none). The owner must
	// hold the user's inbox lease; otherwise Commit fails with ErrLeaseLost.
	// The item keeps Outbox as its Replies.
	Seq uint64
	Key SessionKey
	// Session is the new session. Its Version must equal the stored version
	// (0 when none is stored), or Commit fails with ErrConflict; the store
	// writes it with Version+1 and re-indexes its Timers. Nil leaves the
	// session unchanged.
	Session *Session
	// Delete removes the session and its timers (reset).
	Delete bool
	// Outbox messages and Notices are enqueued in order; Actions are
	// recorded for the action runner.
	Outbox  []Outgoing
	Notices []Notice
	Actions []ActionCall
	// Counts are the turn's funnel counters, added to the hour of Now in
	// the same transaction (see Stats).
	Counts []Count
	// Failed, when set, marks the item failed with this reason instead of done
	// (it moves to the FailedInbox list). Session changes are still applied.
	Failed string
	Now    time.Time
}

// Sessions holds per-user sessions. Sessions are written only through Commit.
type Sessions interface {
	// Commit applies c atomically; see Commit.
	Commit(ctx context.Context, c Commit) error
	// GetSession returns the stored session or an error wrapping ErrNotFound.
	GetSession(ctx context.Context, key SessionKey) (*Session, error)
	// ListSessions returns sessions matching f in key order.
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
	// ExpireSessions deletes sessions not updated since before (the session
	// TTL), with their timers, and returns how many it deleted.
	ExpireSessions(ctx context.Context, before time.Time) (int, error)
}

// SessionFilter selects sessions for ListSessions.
type SessionFilter struct {
	Account string     // "" = any
	State   string     // "" = any
	Handoff bool       // only sessions handed off to a human
	After   SessionKey // page after this key (zero = from the start)
	Limit   int        // 0 = a default page size (100)
}

// Queue names for the outbox.
const (
	QueueDM      = "dm"      // replies to Instagram users
	QueueNotices = "notices" // outgoing webhooks to the business's systems
)

// OutboxItem is a queued outgoing message or notice.
type OutboxItem struct {
	Seq      uint64     `json:"seq"`
	Queue    string     `json:"queue"`
	Key      SessionKey `json:"key"`
	Message  *Outgoing  `json:"message,omitempty"` // QueueDM
	Notice   *Notice    `json:"notice,omitempty"`  // QueueNotices
	Created  time.Time  `json:"created"`
	Attempts int        `json:"attempts,omitempty"`
	// NotBefore delays the next attempt (retry backoff).
	NotBefore time.Time `json:"not_before,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Ack acknowledges one delivered outbox item.
type Ack struct {
	Seq uint64
	// Remember is a dedupe key to record with the acknowledgement, e.g.
	// "echo:<mid>" for a delivered reply; "" records nothing.
	Remember string
}

// DeadLetter is an outbox item that failed permanently.
type DeadLetter struct {
	Item   OutboxItem `json:"item"`
	Reason string     `json:"reason"`
	At     time.Time  `json:"at"`
}

// Outbox is the durable queue of outgoing messages, one FIFO per (queue, user).
type Outbox interface {
	// ClaimOutbox leases due items of one queue to c.Owner. For each user
	// whose queue lease is free, expired or held by c.Owner, it returns the
	// user's pending items in Seq order starting from the oldest, provided
	// the oldest is due (NotBefore <= c.Now); a user whose head item waits
	// for a retry contributes nothing, so order per user holds. Items already
	// claimed by c.Owner are not returned again until released or retried.
	//
	// Like ClaimInbox, a claim is shared between business accounts
	// round-robin: every account with claimable items gets its oldest one
	// before any account gets a second, and so on (within a round, older
	// items first), so one account's backlog (an outage's, or a paced
	// account's) cannot fill a claim while another account's replies wait.
	// Each account's items are its oldest claimable ones, so each user's
	// come in Seq order. Accounts in c.Skip contribute nothing. Items are
	// returned in Seq order.
	ClaimOutbox(ctx context.Context, queue string, c Claim) ([]OutboxItem, error)
	// AckOutbox removes delivered items (unknown seqs are ignored) and, in
	// the same transaction, remembers each Ack.Remember key as an inbox
	// dedupe key received at now: for the dedupe retention (see PruneInbox)
	// AppendInbox counts an event with that Key as a duplicate and drops it,
	// and Remembered reports it, even when an inbox item with that Key is
	// pending already. The bot remembers "echo:<mid>" so the platform's echo
	// of its own reply is dropped at ingest.
	//
	// Acknowledging renews owner's lease on the (queue, user) of each item
	// found to now plus the lease's duration, like RenewOutbox. When the
	// owner does not hold that lease any more (expired at now, released or
	// taken over), the acknowledgement still takes effect (the items were
	// delivered) but AckOutbox returns an error wrapping ErrLeaseLost: the
	// caller must stop delivering that user's other claimed items, which
	// another owner may be sending now, and release them.
	AckOutbox(ctx context.Context, owner string, now time.Time, acks ...Ack) error
	// RenewOutbox extends owner's leases on the queue of the given users to
	// now plus the lease duration of the claim that took them, and returns
	// the users whose lease the owner no longer holds (expired at now,
	// released or taken over); those are not renewed. A drainer whose
	// claimed items outlast the lease renews it while it works through them
	// (bot renews every Lease/3, and before a send when less than half the
	// lease is left) and stops sending a lost user's items.
	RenewOutbox(ctx context.Context, queue, owner string, now time.Time, keys ...SessionKey) (lost []SessionKey, err error)
	// RetryOutbox keeps the item at the head of its user's queue, unclaimed,
	// with Attempts+1, NotBefore = next and LastError = reason.
	RetryOutbox(ctx context.Context, owner string, seq uint64, next time.Time, reason string) error
	// DeadLetter moves a permanently failed item to the dead-letter list.
	DeadLetter(ctx context.Context, owner string, seq uint64, reason string, now time.Time) error
	// ReleaseOutbox gives up the owner's claims on the queue (all users when
	// keys is empty) without changing the items.
	ReleaseOutbox(ctx context.Context, queue, owner string, keys ...SessionKey) error
	// OutboxDepth returns how many items of the queue are pending.
	OutboxDepth(ctx context.Context, queue string) (int, error)
	// DeadLetters lists dead letters, oldest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	// RequeueDead moves a dead letter back to the end of its user's queue
	// with Attempts reset.
	RequeueDead(ctx context.Context, seq uint64) error
	// DeleteDead removes a dead letter.
	DeleteDead(ctx context.Context, seq uint64) error
}

// ActionItem is a recorded action call waiting to run.
type ActionItem struct {
	Call     ActionCall `json:"call"`
	Attempts int        `json:"attempts,omitempty"`
}

// Actions is the durable list of action calls the bot runs outside the
// per-user transaction.
type Actions interface {
	// ClaimActions leases up to c.Max recorded calls to c.Owner (calls leased
	// by another live owner, and calls of the accounts in c.Skip, are
	// skipped), oldest first, incrementing Attempts.
	ClaimActions(ctx context.Context, c Claim) ([]ActionItem, error)
	// CompleteAction atomically appends result (a KindActionResult event,
	// Key "action:<id>") to the inbox and forgets the call, so a completed
	// call never runs again. Completing an unknown (already completed) call
	// is a no-op that returns nil.
	CompleteAction(ctx context.Context, owner, id string, result Event, now time.Time) error
	// ReleaseActions gives up owner's leases on the calls ids (all of
	// owner's calls when ids is empty) without changing the calls, so the
	// next ClaimActions of any owner takes them at once. Unknown ids and
	// calls leased by another owner are skipped. The bot releases the calls
	// it cut short at shutdown, which another replica (or the next start)
	// then runs again.
	ReleaseActions(ctx context.Context, owner string, ids ...string) error
}

// Token is an Instagram access token and what is known about it.
type Token struct {
	Account     string    `json:"account"` // IG_ID the token speaks for (webhook entry.id)
	AppUserID   string    `json:"app_user_id,omitempty"`
	Username    string    `json:"username,omitempty"`
	AccessToken string    `json:"access_token"`
	Scopes      []string  `json:"scopes,omitempty"`
	IssuedAt    time.Time `json:"issued_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	// NeedsReauth is set after a refresh failure or error 190: sends stop
	// until the account is authorized again.
	NeedsReauth bool `json:"needs_reauth,omitempty"`
}

// String redacts the secret so a Token can be logged safely.
func (t Token) String() string {
	return "Token{account=" + t.Account + " username=" + t.Username + " expires=" + t.ExpiresAt.Format(time.RFC3339) + " access_token=REDACTED}"
}

// Tokens stores OAuth tokens per business account.
type Tokens interface {
	PutToken(ctx context.Context, t Token) error
	// GetToken returns the account's token or an error wrapping ErrNotFound.
	GetToken(ctx context.Context, account string) (*Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
}

// Forget asks PersonalData.Forget to erase one person (or, with Key.User
// empty, everything of one business account).
type Forget struct {
	Key SessionKey
	// Owner and Seq: when Seq is set, Owner must hold the user's inbox
	// lease (ErrLeaseLost otherwise) and the user's inbox items with Seq <=
	// this one are erased whether done or pending (the bot passes the seq of
	// the forget command it claimed, queued behind the user's earlier work).
	// Pending items after Seq, which arrived after the request, are kept.
	// With Seq 0 (and always for a whole account) pending inbox items are
	// kept.
	Owner string
	Seq   uint64
	Now   time.Time
}

// Forgotten counts what Forget erased.
type Forgotten struct {
	Sessions    int `json:"sessions"`
	Inbox       int `json:"inbox"` // items of the history, failed ones included
	Outbox      int `json:"outbox"`
	DeadLetters int `json:"dead_letters"`
	Actions     int `json:"actions"`
}

// Total is the number of records erased.
func (f Forgotten) Total() int {
	return f.Sessions + f.Inbox + f.Outbox + f.DeadLetters + f.Actions
}

// PersonalExport is everything a store holds about one person.
type PersonalExport struct {
	Key         SessionKey   `json:"key"`
	Session     *Session     `json:"session"` // with its timers and cached profile
	Inbox       []InboxItem  `json:"inbox"`   // history and pending items, oldest first
	Failed      []FailedItem `json:"failed"`
	Outbox      []OutboxItem `json:"outbox"` // pending replies and notices
	DeadLetters []DeadLetter `json:"dead_letters"`
	Actions     []ActionItem `json:"actions"`
}

// Sweep gives the retention cut-offs for PersonalData.Sweep: records older
// than a cut-off are deleted; a zero cut-off keeps that kind.
type Sweep struct {
	History     time.Time // done and failed inbox items received before (with their dedupe keys)
	Delivered   time.Time // delivery records (Ack.Remember keys) remembered before
	DeadLetters time.Time // dead letters of the dm queue dead before
	Notices     time.Time // notices (pending or dead) created before
}

// Swept counts what Sweep deleted.
type Swept struct {
	History, Delivered, DeadLetters, Notices int
}

// PersonalData erases, exports and expires what is stored about people.
type PersonalData interface {
	// Forget erases, in one transaction, every record about f.Key: the
	// session (with its timers and cached profile), inbox items (see
	// Forget.Seq) with their dedupe keys, failed items, pending outbox
	// items and notices, dead letters and recorded action calls. Records
	// that do not name the person stay: remembered delivery keys
	// ("echo:<mid>") and the account's tokens. Forgetting nobody is no error.
	Forget(ctx context.Context, f Forget) (Forgotten, error)
	// Export returns everything stored about the person key (empty lists
	// and a nil Session when nothing is).
	Export(ctx context.Context, key SessionKey) (*PersonalExport, error)
	// Sweep deletes what is older than the retention cut-offs. Pending
	// inbox items and pending replies are never swept.
	Sweep(ctx context.Context, s Sweep) (Swept, error)
}

// Sender delivers one outgoing message. Implemented by adapters (the
// Instagram Send API client) and consumed by the bot's outbox drainer.
//
// Errors: a nil error means the platform accepted the message (messageID is
// its id). An error wrapping ErrPermanent or ErrOutsideWindow will never
// succeed and is dead-lettered; ErrAmbiguous may have been delivered and is
// dead-lettered for a person to decide; any other error is retried with
// backoff, honouring RetryAfter when the error provides it.
type Sender interface {
	Send(ctx context.Context, m Outgoing) (messageID string, err error)
}

// RetryAfterer is implemented by errors that know when a retry may succeed.
type RetryAfterer interface {
	RetryAfter() time.Duration
}
