package sandbox

import (
	"encoding/json"
	"sync"
	"time"
)

// Who sent a Message.
const (
	FromUser  = "user"  // the person at the chat page (an inbound webhook)
	FromBot   = "bot"   // a Send API request the Graph API double accepted
	FromAgent = "agent" // a human agent answering from the Instagram inbox (an echo webhook)
)

// Message is one line of a sandbox conversation.
type Message struct {
	Seq  uint64    `json:"seq"` // increasing across all users, from 1
	User string    `json:"user"`
	From string    `json:"from"`
	Time time.Time `json:"time"`
	MID  string    `json:"mid,omitempty"`
	// Input is what the user or agent sent (From user or agent).
	Input *Input `json:"input,omitempty"`
	// Graph is the Send API request body the bot posted (From bot): the
	// "message" or "sender_action" the page renders.
	Graph json.RawMessage `json:"graph,omitempty"`
}

// subBuffer is how many messages a slow subscriber may lag behind.
const subBuffer = 256

// feed keeps each user's recent messages and fans new ones out.
type feed struct {
	mu    sync.Mutex
	keep  int
	seq   uint64
	users map[string][]Message
	subs  map[string]map[chan Message]struct{}
	shut  bool
}

func newFeed(keep int) *feed {
	return &feed{keep: keep, users: map[string][]Message{}, subs: map[string]map[chan Message]struct{}{}}
}

// add records m (assigning Seq) and delivers it to the user's subscribers.
func (f *feed) add(m Message) Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	m.Seq = f.seq
	list := append(f.users[m.User], m)
	if len(list) > f.keep {
		list = append([]Message(nil), list[len(list)-f.keep:]...)
	}
	f.users[m.User] = list
	for c := range f.subs[m.User] {
		select {
		case c <- m:
		default: // too slow: drop it; it reconnects and replays
			delete(f.subs[m.User], c)
			close(c)
		}
	}
	return m
}

func (f *feed) since(user string, after uint64) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Message
	for _, m := range f.users[user] {
		if m.Seq > after {
			out = append(out, m)
		}
	}
	return out
}

func (f *feed) subscribe(user string) (<-chan Message, func()) {
	c := make(chan Message, subBuffer)
	f.mu.Lock()
	if f.shut {
		f.mu.Unlock()
		close(c)
		return c, func() {}
	}
	if f.subs[user] == nil {
		f.subs[user] = map[chan Message]struct{}{}
	}
	f.subs[user][c] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.subs[user][c]; ok {
				delete(f.subs[user], c)
				close(c)
			}
		})
	}
}

// close ends all subscriptions and refuses new ones.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shut = true
	for user, cs := range f.subs {
		for c := range cs {
			close(c)
		}
		delete(f.subs, user)
	}
}
