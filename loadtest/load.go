package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
)

// Options configures a Load. Zero values select the defaults.
type Options struct {
	// URL is the webhook endpoint (required), e.g.
	// http://127.0.0.1:8080/webhook/instagram.
	URL string
	// URLs are further endpoints (other replicas): POSTs, redeliveries
	// included, go round robin over URL and URLs, as through a load
	// balancer.
	URLs []string
	// Secret signs the bodies (X-Hub-Signature-256, required).
	Secret string
	// Users is the number of distinct users (default 100).
	Users int
	// Accounts spreads the users over this many business accounts
	// (default 1). The Send API client paces 100 replies/s per account.
	Accounts int
	// Events is the total number of events, rounded up to a whole number
	// per user (default 1000).
	Events int
	// Batch is the number of events per POST, each of another user
	// (default 1).
	Batch int
	// Concurrency is the number of POSTs in flight (default 16). Each user
	// belongs to one sender, so one user's events go one after the other.
	Concurrency int
	// Rate, when > 0, paces the load at this many events per second;
	// otherwise every sender posts again as soon as it was answered.
	Rate float64
	// Duration stops sending after this long (default 1 min).
	Duration time.Duration
	// Run prefixes message ids (default "load"). The same Run and user
	// produce the same ids, so a repeated load is deduplicated.
	Run string
	// FirstSeq is the first sequence number sent to each user (default 1).
	FirstSeq int
	// Retry is the pause before a POST that was not answered 200 is
	// delivered again (default 20 ms, doubling up to 1 s).
	Retry time.Duration
	// Client sends the POSTs (default: keep-alive client, 10 s timeout).
	Client *http.Client
	// Lean sends pre-built, pre-signed POSTs over one persistent HTTP/1.1
	// connection per sender and target (see Prepare), instead of through
	// Client: the generator then costs a fraction of the CPU, so that a
	// benchmark measures the server rather than the generator.
	Lean bool
}

func (o *Options) setDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.Users, 100)
	def(&o.Accounts, 1)
	def(&o.Events, 1000)
	def(&o.Batch, 1)
	def(&o.Concurrency, 16)
	def(&o.FirstSeq, 1)
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.Run == "" {
		o.Run = "load"
	}
	if o.Retry <= 0 {
		o.Retry = 20 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: o.Concurrency, IdleConnTimeout: 30 * time.Second,
		}}
	}
}

// Load is one run of the generator. Create it with NewLoad, run it with
// Send, then read Result after the replies arrived.
type Load struct {
	o       Options
	perUser int
	start   time.Time
	// sentAt is the first attempt of each event in ns since start (index
	// user*perUser + seq-FirstSeq); acked marks events answered 200.
	sentAt []atomic.Int64
	acked  []atomic.Bool
	paced  atomic.Int64
	// targets are URL and URLs; next picks the next POST's target.
	targets []string
	next    atomic.Uint64

	// prepared holds, when Lean, each sender's requests in sending order
	// (built by Prepare).
	prepared [][][]byte

	mu       sync.Mutex
	acks     []time.Duration
	posts    int
	failures map[string]int // attempts not answered 200, by status or error
	sendEnd  time.Time
}

// NewLoad checks o and prepares a run.
func NewLoad(o Options) (*Load, error) {
	if o.URL == "" || o.Secret == "" {
		return nil, fmt.Errorf("loadtest: a URL and a secret are required")
	}
	o.setDefaults()
	per := (o.Events + o.Users - 1) / o.Users
	n := per * o.Users
	return &Load{o: o, perUser: per, sentAt: make([]atomic.Int64, n), acked: make([]atomic.Bool, n),
		targets: append([]string{o.URL}, o.URLs...), failures: map[string]int{}}, nil
}

// PerUser returns how many events each user sends.
func (l *Load) PerUser() int { return l.perUser }

// User returns the IGSID of user u.
func User(u int) string { return "9" + strconv.Itoa(1_000_000+u) }

// Account returns the business account of user u among accounts.
func Account(u, accounts int) string { return strconv.Itoa(17841400000000000 + u%accounts) }

// Send runs the load until every event was acknowledged, Duration passed
// or ctx ended, and returns the elapsed time. Events still unacknowledged
// then are not sent again.
func (l *Load) Send(ctx context.Context) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, l.o.Duration)
	defer cancel()
	l.start = time.Now()
	var wg sync.WaitGroup
	for w := range min(l.o.Concurrency, l.o.Users) {
		wg.Go(func() { l.sender(ctx, w) })
	}
	wg.Wait()
	l.mu.Lock()
	l.sendEnd = time.Now()
	l.mu.Unlock()
	return time.Since(l.start)
}

// senderUsers returns the users of sender w: u % Concurrency == w.
func (l *Load) senderUsers(w int) []int {
	var users []int
	for u := w; u < l.o.Users; u += min(l.o.Concurrency, l.o.Users) {
		users = append(users, u)
	}
	return users
}

// Prepare builds and signs every POST of a Lean load before Send, so that
// the run measures the server rather than the generator (a no-op
// otherwise, and when called twice).
func (l *Load) Prepare() {
	if !l.o.Lean || l.prepared != nil {
		return
	}
	l.prepared = make([][][]byte, min(l.o.Concurrency, l.o.Users))
	for w := range l.prepared {
		users := l.senderUsers(w)
		for i := range l.perUser {
			for c := 0; c < len(users); c += l.o.Batch {
				body := l.body(users[c:min(c+l.o.Batch, len(users))], i)
				l.prepared[w] = append(l.prepared[w], rawRequest(l.o.URL, body, igtest.Webhook{Secret: l.o.Secret}.Sign(body)))
			}
		}
	}
}

// sender posts the events of its users: every user's first event, then
// every user's second, ...
func (l *Load) sender(ctx context.Context, w int) {
	users := l.senderUsers(w)
	var acks []time.Duration
	defer func() { l.mu.Lock(); l.acks = append(l.acks, acks...); l.mu.Unlock() }()
	var raw *rawClient
	if l.o.Lean {
		l.Prepare()
		raw = newRawClient(l.targets)
		defer raw.close()
	}
	n := 0
	for i := range l.perUser {
		for c := 0; c < len(users); c += l.o.Batch {
			chunk := users[c:min(c+l.o.Batch, len(users))]
			if !l.pace(ctx, len(chunk)) {
				return
			}
			var req []byte
			if raw != nil {
				req = l.prepared[w][n]
				n++
			}
			d, ok := l.post(ctx, chunk, i, raw, req)
			if !ok {
				return
			}
			acks = append(acks, d)
		}
	}
}

// pace waits for the rate's next slot of n events.
func (l *Load) pace(ctx context.Context, n int) bool {
	if l.o.Rate <= 0 {
		return ctx.Err() == nil
	}
	k := l.paced.Add(int64(n)) - int64(n)
	at := l.start.Add(time.Duration(float64(k) / l.o.Rate * float64(time.Second)))
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// post delivers the i-th event of each user in chunk until it is answered
// 200 or ctx ends, and returns the latency of the successful attempt. With
// raw, req is the prepared request (see Prepare).
func (l *Load) post(ctx context.Context, chunk []int, i int, raw *rawClient, req []byte) (time.Duration, bool) {
	now := time.Since(l.start).Nanoseconds()
	for _, u := range chunk {
		l.sentAt[u*l.perUser+i].CompareAndSwap(0, max(now, 1))
	}
	var body []byte
	var sig string
	if raw == nil {
		body = l.body(chunk, i)
		sig = igtest.Webhook{Secret: l.o.Secret}.Sign(body)
	}
	wait := l.o.Retry
	for {
		t0 := time.Now()
		var status int
		var err error
		if raw != nil {
			status, err = raw.do(ctx, int((l.next.Add(1)-1)%uint64(len(l.targets))), req)
		} else {
			status, err = l.do(ctx, body, sig)
		}
		d := time.Since(t0)
		l.count(status, err)
		if status == http.StatusOK {
			for _, u := range chunk {
				l.acked[u*l.perUser+i].Store(true)
			}
			return d, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func (l *Load) do(ctx context.Context, body []byte, sig string) (int, error) {
	target := l.targets[(l.next.Add(1)-1)%uint64(len(l.targets))]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := l.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (l *Load) count(status int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.posts++
	switch {
	case err != nil:
		l.failures["error"]++
	case status != http.StatusOK:
		l.failures[strconv.Itoa(status)]++
	}
}

// body builds a webhook delivery in Meta's format with one entry per event:
// the i-th message of each user in chunk.
func (l *Load) body(chunk []int, i int) []byte {
	ms := strconv.FormatInt(time.Now().UnixMilli(), 10)
	seq := strconv.Itoa(l.o.FirstSeq + i)
	b := make([]byte, 0, 64+230*len(chunk))
	b = append(b, `{"object":"instagram","entry":[`...)
	for k, u := range chunk {
		if k > 0 {
			b = append(b, ',')
		}
		acct, user := Account(u, l.o.Accounts), User(u)
		b = append(b, `{"id":"`+acct+`","time":`+ms+`,"messaging":[{"sender":{"id":"`+user+
			`"},"recipient":{"id":"`+acct+`"},"timestamp":`+ms+`,"message":{"mid":"m.`+l.o.Run+"."+user+"."+seq+
			`","text":"`+seq+`"}}]}`...)
	}
	return append(b, "]}"...)
}

// Acked returns how many events were acknowledged.
func (l *Load) Acked() int {
	n := 0
	for i := range l.acked {
		if l.acked[i].Load() {
			n++
		}
	}
	return n
}

// WaitReplies waits until every acknowledged event was answered (by
// rec) or timeout passed, and reports whether all were.
func (l *Load) WaitReplies(rec *Recorder, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if l.answered(rec) >= l.Acked() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answered counts this load's events that rec saw a reply to.
func (l *Load) answered(rec *Recorder) int {
	n := 0
	seen := make([]bool, l.perUser)
	for u := range l.o.Users {
		clear(seen)
		for _, r := range rec.Replies(User(u)) {
			if i := r.Seq - l.o.FirstSeq; i >= 0 && i < l.perUser && !seen[i] {
				seen[i] = true
				n++
			}
		}
	}
	return n
}
