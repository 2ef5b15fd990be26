package dmflow

import (
	"strings"
	"time"
)

// SessionKey identifies one conversation: a business account and a customer.
type SessionKey struct {
	Account string `json:"account"` // business account id (IG_ID)
	User    string `json:"user"`    // customer id (IGSID)
}

// String renders the key as "account/user".
func (k SessionKey) String() string { return k.Account + "/" + k.User }

// Valid reports whether a store can keep k: Account and User set, neither
// holding a NUL byte.
func (k SessionKey) Valid() bool {
	return k.Account != "" && k.User != "" && !strings.ContainsRune(k.Account, 0) && !strings.ContainsRune(k.User, 0)
}

// ParseSessionKey parses the "account/user" form produced by String.
func ParseSessionKey(s string) (SessionKey, bool) {
	a, u, ok := strings.Cut(s, "/")
	if !ok || a == "" || u == "" {
		return SessionKey{}, false
	}
	return SessionKey{Account: a, User: u}, true
}

// Session is the durable state of one conversation. The engine derives a new
// Session from the old one and an Event; stores persist it with
// compare-and-swap on Version.
//
// Vars hold JSON-compatible values only (string, bool, int, float64, []any,
// map[string]any, nil), so that every store round-trips them exactly; the
// engine coerces them to the types the flow declares.
type Session struct {
	Key         SessionKey     `json:"key"`
	Flow        string         `json:"flow"`         // flow name
	FlowVersion int            `json:"flow_version"` // flow version the session runs
	State       string         `json:"state"`        // current state ("" = not started)
	Vars        map[string]any `json:"vars,omitempty"`
	// Attempts counts failed answers to the current state's ask.
	Attempts int `json:"attempts,omitempty"`
	// Stack holds the return points of called sub-flows, innermost last,
	// each with its caller's variables.
	Stack []Frame `json:"stack,omitempty"`
	// Timers are the session's pending durable timeouts. Stores index them so
	// they fire across restarts; a newer commit replaces the whole set.
	Timers  []Timer  `json:"timers,omitempty"`
	Handoff *Handoff `json:"handoff,omitempty"` // non-nil while a human has the conversation
	// Pending is the action call the session waits for, if any.
	Pending *ActionCall `json:"pending,omitempty"`
	// Deferred holds user events that arrived while Pending was set and the
	// action's while_pending policy is "queue"; the engine replays them in
	// order right after the action's result (bounded; oldest kept).
	Deferred []Event `json:"deferred,omitempty"`
	// Settling holds the messages of a burst while a settle window is open
	// (the flow's or state's `settle`): the engine merges them into one
	// turn (MergeMessages) when the window's timer fires or another kind of
	// event arrives. Durable like the rest of the session, so a restart
	// mid-window loses nothing.
	Settling []Event `json:"settling,omitempty"`
	// Variants records the user's variant of each A/B experiment a flow's
	// `split` assigned (experiment → variant), so the assignment sticks.
	Variants map[string]string `json:"variants,omitempty"`
	Ended    bool              `json:"ended,omitempty"` // reached an end state
	Profile  *Profile          `json:"profile,omitempty"`
	// LastInbound is the time of the user's last message or postback; it opens
	// Instagram's 24 h messaging window.
	LastInbound time.Time `json:"last_inbound,omitzero"`
	Created     time.Time `json:"created,omitzero"`
	Updated     time.Time `json:"updated,omitzero"`
	// Version is the store's compare-and-swap counter: 0 for a session never
	// stored; each successful commit stores Version+1.
	Version uint64 `json:"version"`
}

// Frame is a sub-flow return point: the calling flow, its call state and
// the caller's variables, which the sub-flow does not see (each flow of a
// session has its own variables; Session.Vars are the current flow's).
type Frame struct {
	Flow  string `json:"flow"`
	State string `json:"state"`
	// Vars are the caller's variables, given back when the sub-flow returns.
	Vars map[string]any `json:"vars,omitempty"`
	// Scoped marks a frame pushed with its own variable scope. Frames stored
	// before scopes (Scoped false) keep the old shared namespace until they
	// return: the sub-flow's variables stay visible to the caller.
	Scoped bool `json:"scoped,omitempty"`
}

// Timer is a pending durable timeout of a session.
type Timer struct {
	ID   string    `json:"id"`   // unique; a fired timer whose ID is gone is stale
	Name string    `json:"name"` // what it is for, e.g. the state that set it
	Due  time.Time `json:"due"`
}

// Handoff records that a human agent has the conversation.
type Handoff struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"` // "flow", "agent" (inbox echo), "admin", "inbox" (thread control)
	// Inbox is set while another app (the Instagram inbox) owns the
	// thread: the bot passed it there (handoff: {inbox: true}) or it was
	// taken. Ending the handoff from the bot's side (idle release, admin,
	// timeout, reset) takes the thread back; a pass back from the inbox
	// ends it without a call.
	Inbox bool `json:"inbox,omitempty"`
}

// Profile is what the platform tells about the customer.
//
// Every field may be unknown: the platform answers only for users who
// gave consent (messaged the account, tapped an ice breaker or the menu),
// and may leave fields out. Unknown fields are nil or "" and are missing
// from `user` in flows.
type Profile struct {
	Username string `json:"username,omitempty"`
	Name     string `json:"name,omitempty"`
	// FollowsBusiness is is_user_follow_business: the user follows the
	// account. BusinessFollows is is_business_follow_user.
	FollowsBusiness *bool `json:"is_user_follow_business,omitempty"`
	BusinessFollows *bool `json:"is_business_follow_user,omitempty"`
	FollowerCount   *int  `json:"follower_count,omitempty"`
	Verified        *bool `json:"is_verified_user,omitempty"`
	// ProfilePic is a CDN URL that expires within days (Meta): use it in
	// replies, never store it elsewhere.
	ProfilePic string    `json:"profile_pic,omitempty"`
	Fetched    time.Time `json:"fetched,omitzero"`
}

// Clone returns a deep copy of s, so an engine step never mutates its input.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	c.Vars = cloneMap(s.Vars)
	c.Stack = append([]Frame(nil), s.Stack...)
	for i := range c.Stack {
		c.Stack[i].Vars = cloneMap(c.Stack[i].Vars)
	}
	c.Timers = append([]Timer(nil), s.Timers...)
	if s.Handoff != nil {
		h := *s.Handoff
		c.Handoff = &h
	}
	if s.Pending != nil {
		p := *s.Pending
		p.Args = cloneMap(s.Pending.Args)
		c.Pending = &p
	}
	if s.Deferred != nil {
		c.Deferred = append([]Event(nil), s.Deferred...)
	}
	if s.Settling != nil {
		c.Settling = append([]Event(nil), s.Settling...)
	}
	if s.Variants != nil {
		c.Variants = make(map[string]string, len(s.Variants))
		for k, v := range s.Variants {
			c.Variants[k] = v
		}
	}
	if s.Profile != nil {
		p := s.Profile.Clone()
		c.Profile = &p
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	case []string:
		return append([]string(nil), v...)
	default:
		return v
	}
}

// Clone returns a copy of p that shares no pointers with it.
func (p Profile) Clone() Profile {
	p.FollowsBusiness = cloneBool(p.FollowsBusiness)
	p.BusinessFollows = cloneBool(p.BusinessFollows)
	p.Verified = cloneBool(p.Verified)
	if p.FollowerCount != nil {
		n := *p.FollowerCount
		p.FollowerCount = &n
	}
	return p
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}
