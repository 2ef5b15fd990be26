package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reply is one reply the Graph double accepted.
type Reply struct {
	User string
	// N and Seq are the two numbers of the counter flow's "<n> <seq>"
	// text: the session's count and the sequence number of the event it
	// answers. Both are 0 for a reply of another shape.
	N, Seq int
	At     time.Time
}

// Recorder collects replies per user. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	byUser  map[string][]Reply
	seen    map[userSeq]struct{}
	total   int
	changed chan struct{}
}

type userSeq struct {
	user string
	seq  int
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{byUser: map[string][]Reply{}, seen: map[userSeq]struct{}{}, changed: make(chan struct{})}
}

// Record adds a reply with text to user, received at at.
func (r *Recorder) Record(user, text string, at time.Time) {
	rep := Reply{User: user, At: at}
	rep.N, rep.Seq = parseCounter(text)
	r.mu.Lock()
	r.byUser[user] = append(r.byUser[user], rep)
	r.total++
	r.seen[userSeq{user, rep.Seq}] = struct{}{}
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// parseCounter reads "<n> <seq>".
func parseCounter(text string) (n, seq int) {
	a, b, ok := strings.Cut(text, " ")
	if !ok {
		return 0, 0
	}
	n, _ = strconv.Atoi(a)
	seq, _ = strconv.Atoi(b)
	return n, seq
}

// Total returns how many replies were recorded.
func (r *Recorder) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Unique returns how many distinct (user, sequence number) pairs were
// answered.
func (r *Recorder) Unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// Replies returns a copy of user's replies in arrival order.
func (r *Recorder) Replies(user string) []Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Reply(nil), r.byUser[user]...)
}

// Snapshot returns a copy of every user's replies.
func (r *Recorder) Snapshot() map[string][]Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]Reply, len(r.byUser))
	for u, rs := range r.byUser {
		out[u] = append([]Reply(nil), rs...)
	}
	return out
}

// Wait blocks until done reports true for the recorder (checked after
// every reply) or until deadline, and reports whether done held.
func (r *Recorder) Wait(deadline time.Time, done func(*Recorder) bool) bool {
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		if done(r) {
			return true
		}
		t := time.Until(deadline)
		if t <= 0 {
			return false
		}
		timer := time.NewTimer(min(t, 100*time.Millisecond))
		select {
		case <-ch:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Graph is a minimal Graph API double for load: it accepts POST
// /{version}/{account}/messages for any account and token, records the
// reply and answers like the Send API. Anything else is answered 400.
type Graph struct {
	*Recorder
	// URL is the base URL clients point at.
	URL   string
	srv   *http.Server
	ln    net.Listener
	calls atomic.Int64
	mids  atomic.Int64
}

// StartGraph starts a Graph double on 127.0.0.1.
func StartGraph() (*Graph, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadtest: graph double: %w", err)
	}
	g := &Graph{Recorder: NewRecorder(), URL: "http://" + ln.Addr().String(), ln: ln}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go g.srv.Serve(ln)
	return g, nil
}

// Close stops the double.
func (g *Graph) Close() error { return g.srv.Close() }

// CloseIdleConnections closes the keep-alive connections clients hold open
// to the double while idle, so that a leak check of the client (the server
// under test) does not count its pool of idle connections, which grows up
// to its limit with the peak concurrency and is not a leak.
func (g *Graph) CloseIdleConnections() {
	g.srv.SetKeepAlivesEnabled(false) // closes idle connections
	g.srv.SetKeepAlivesEnabled(true)
}

// Calls returns how many requests the double received.
func (g *Graph) Calls() int64 { return g.calls.Load() }

// sendBody is the part of a Send API body the double reads.
type sendBody struct {
	Recipient struct {
		ID string `json:"id"`
	} `json:"recipient"`
	Message *struct {
		Text string `json:"text"`
	} `json:"message"`
	SenderAction string `json:"sender_action"`
}

func (g *Graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		graphError(w, 100, "Unsupported request.")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var b sendBody
	if err == nil {
		err = json.Unmarshal(raw, &b)
	}
	if err != nil || b.Recipient.ID == "" {
		graphError(w, 100, "(#100) Invalid parameter")
		return
	}
	if b.Message != nil {
		g.Record(b.Recipient.ID, b.Message.Text, time.Now())
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"recipient_id":%q,"message_id":"mid.load.%d"}`, b.Recipient.ID, g.mids.Add(1))
}

func graphError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"fbtrace_id":"Aload"}}`, msg, code)
}
