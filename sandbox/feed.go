package sandbox

import (
	"cmp"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// Who sent a Message.
const (
	FromUser   = "user"   // the person at the chat page (an inbound webhook)
	FromBot    = "bot"    // a Send API request the Graph API double accepted
	FromAgent  = "agent"  // a human agent answering from the Instagram inbox (an echo webhook)
	FromEngine = "engine" // a step of the flow engine (Step), for the studio's flow pane
)

// Message is one line of a sandbox conversation.
type Message struct {
	Seq  uint64 `json:"seq"` // increasing across all users, from 1
	User string `json:"user"`
	// Account is the business account the conversation is with.
	Account string    `json:"account,omitempty"`
	From    string    `json:"from"`
	Time    time.Time `json:"time"`
	MID     string    `json:"mid,omitempty"`
	// Input is what the user or agent sent (From user or agent).
	Input *Input `json:"input,omitempty"`
	// Graph is the Send API request body the bot posted (From bot): the
	// "message" or "sender_action" the page renders.
	Graph json.RawMessage `json:"graph,omitempty"`
	// Step is the engine step (From engine).
	Step *Step `json:"step,omitempty"`
	// Undelivered (From bot, without Graph) is why a reply the step made
	// is not sent: Instagram's messaging window refuses it
	// (dmflow.CheckWindow at the studio clock's time; the sender
	// dead-letters it). Reply is that reply.
	Undelivered string        `json:"undelivered,omitempty"`
	Reply       *dmflow.Reply `json:"reply,omitempty"`
}

// subBuffer is how many messages a slow subscriber may lag behind.
const subBuffer = 256

// sub is one subscription to some users' messages.
type sub struct {
	c     chan Message
	users map[string]bool
}

// feed keeps each user's recent messages and fans new ones out.
type feed struct {
	mu    sync.Mutex
	keep  int
	seq   uint64
	users map[string][]Message
	subs  map[*sub]struct{}
	shut  bool
}

func newFeed(keep int) *feed {
	return &feed{keep: keep, users: map[string][]Message{}, subs: map[*sub]struct{}{}}
}

// add records m (assigning Seq) and delivers it to the user's subscribers.
func (f *feed) add(m Message) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	m.Seq = f.seq
	k := feedKey(m.Account, m.User)
	list := append(f.users[k], m)
	if len(list) > f.keep {
		list = append([]Message(nil), list[len(list)-f.keep:]...)
	}
	f.users[k] = list
	for s := range f.subs {
		if !s.users[k] {
			continue
		}
		select {
		case s.c <- m:
		default: // too slow: drop it; it reconnects and replays
			delete(f.subs, s)
			close(s.c)
		}
	}
	return m
}

// since returns the users' messages after seq, in Seq order.
func (f *feed) since(account string, users []string, after uint64) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for _, u := range slices.Compact(slices.Sorted(slices.Values(users))) {
		for _, m := range f.users[feedKey(account, u)] {
			if m.Seq > after {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

func (f *feed) subscribe(account string, users []string) (<-chan Message, func()) {
	s := &sub{c: make(chan Message, subBuffer), users: map[string]bool{}}
	for _, u := range users {
		s.users[feedKey(account, u)] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.shut {
		close(s.c)
		return s.c, func() {}
	}
	f.subs[s] = struct{}{}
	var once sync.Once
	return s.c, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.subs[s]; ok {
				delete(f.subs, s)
				close(s.c)
			}
		})
	}
}

// close ends all subscriptions and refuses new ones.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shut = true
	for s := range f.subs {
		close(s.c)
		delete(f.subs, s)
	}
}

// feedKey is the feed's key of a conversation: one user of one account.
func feedKey(account, user string) string { return account + "\x00" + user }
