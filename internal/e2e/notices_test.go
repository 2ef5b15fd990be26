package e2e_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

const notifySecret = "e2e-notify-secret-31c2d4"

// delivered is one accepted outgoing webhook.
type delivered struct {
	seq    uint64
	notice dmflow.Notice
}

// noticeReceiver is the business's endpoint for dmflow's outgoing
// webhooks on 127.0.0.1. It checks every POST's signature twice (with
// bot.VerifyNoticeSignature and with its own HMAC-SHA256), answers 500 to
// the first failFirst deliveries, and keeps the accepted notices per user,
// deduplicated on X-Dmflow-Delivery.
type noticeReceiver struct {
	*httptest.Server
	mu        sync.Mutex
	failFirst int
	posts     int
	dups      int
	seen      map[uint64]bool
	byUser    map[string][]delivered
	problems  []string
}

func newNoticeReceiver(t *testing.T, failFirst int) *noticeReceiver {
	r := &noticeReceiver{failFirst: failFirst, seen: map[uint64]bool{}, byUser: map[string][]delivered{}}
	r.Server = httptest.NewServer(r)
	t.Cleanup(r.Close)
	return r
}

func (r *noticeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if problem := checkNoticeRequest(req, body, err); problem != "" {
		r.problems = append(r.problems, problem)
		http.Error(w, problem, http.StatusUnauthorized)
		return
	}
	if r.posts <= r.failFirst {
		http.Error(w, "not today", http.StatusInternalServerError)
		return
	}
	seq, _ := strconv.ParseUint(req.Header.Get(bot.DeliveryHeader), 10, 64)
	var n dmflow.Notice
	if err := json.Unmarshal(body, &n); err != nil {
		r.problems = append(r.problems, fmt.Sprintf("delivery %d: bad notice: %v", seq, err))
		http.Error(w, "bad notice", http.StatusBadRequest)
		return
	}
	if r.seen[seq] {
		r.dups++ // at least once: a repeat is acknowledged and dropped
	} else {
		r.seen[seq] = true
		r.byUser[n.Key.User] = append(r.byUser[n.Key.User], delivered{seq, n})
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkNoticeRequest returns what is wrong with an outgoing webhook
// request, or "": the signature is "t=<unix>,v1=<hex HMAC-SHA256 of
// t.delivery.body>", recomputed here by hand and checked with
// bot.VerifyNoticeSignature, which must also refuse it for a modified body,
// another secret, another delivery id (a replay) and too late.
func checkNoticeRequest(req *http.Request, body []byte, readErr error) string {
	sig := req.Header.Get(bot.SignatureHeader)
	delivery := req.Header.Get(bot.DeliveryHeader)
	var ts, v1 string
	for _, kv := range strings.Split(sig, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(notifySecret))
	mac.Write([]byte(ts + "." + delivery + "."))
	mac.Write(body)
	got, hexErr := hex.DecodeString(v1)
	sec, tsErr := strconv.ParseInt(ts, 10, 64)
	replay := req.Header.Clone()
	replay.Set(bot.DeliveryHeader, delivery+"0")
	switch {
	case readErr != nil:
		return "read body: " + readErr.Error()
	case req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json":
		return fmt.Sprintf("%s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	case bot.VerifyNoticeSignature(body, req.Header, notifySecret, 0) != nil:
		return fmt.Sprintf("bot.VerifyNoticeSignature rejects %q for delivery %s: %v", sig, delivery, bot.VerifyNoticeSignature(body, req.Header, notifySecret, 0))
	case tsErr != nil || hexErr != nil || !hmac.Equal(got, mac.Sum(nil)):
		return fmt.Sprintf("own HMAC-SHA256 of t.delivery.body differs from %q for %s", sig, body)
	case bot.VerifyNoticeSignature(append(body, ' '), req.Header, notifySecret, 0) == nil:
		return "bot.VerifyNoticeSignature accepts a modified body"
	case bot.VerifyNoticeSignature(body, req.Header, notifySecret+"x", 0) == nil:
		return "bot.VerifyNoticeSignature accepts another secret"
	case bot.VerifyNoticeSignature(body, replay, notifySecret, 0) == nil:
		return "bot.VerifyNoticeSignature accepts the notice under another delivery id"
	case bot.VerifyNoticeSignatureAt(body, req.Header, notifySecret, time.Minute, time.Unix(sec, 0).Add(2*time.Minute)) != bot.ErrNoticeStale:
		return "bot.VerifyNoticeSignature accepts a notice signed 2 minutes ago with a 1-minute tolerance"
	}
	if _, err := strconv.ParseUint(delivery, 10, 64); err != nil {
		return fmt.Sprintf("%s %q: %v", bot.DeliveryHeader, delivery, err)
	}
	return ""
}

// notices returns user's accepted notices.
func (r *noticeReceiver) notices(user string) []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.byUser[user])
}

// waitNotices waits until user has n accepted notices.
func (r *noticeReceiver) waitNotices(t *testing.T, user string, n int) {
	t.Helper()
	waitFor(t, 25*time.Second, fmt.Sprintf("%d notices for %s", n, user), func() bool { return len(r.notices(user)) >= n })
}

// wantNotice is an expected notice: its type and the data fields checked
// ("" data values are not checked; mid is checked against the Graph double).
type wantNotice struct {
	typ  string
	data map[string]any
}

func received(text string) wantNotice {
	return wantNotice{dmflow.NoticeMessageReceived, map[string]any{"kind": "message", "text": text}}
}

func entered(state string) wantNotice {
	return wantNotice{dmflow.NoticeStateEntered, map[string]any{"flow": "notices", "state": state}}
}

var replySent = wantNotice{dmflow.NoticeReplySent, nil}

// TestOutgoingWebhooks runs serve with --notify-url and --notify-secret
// against a receiver that verifies every signature and fails the first
// deliveries with 500. Two users talk at the same time: ask, capture, a
// flow handoff, an admin release. Each user's notices arrive complete, in
// order (a step's notices, then the reply.sent of its replies) and in
// increasing delivery order despite the retries.
func TestOutgoingWebhooks(t *testing.T) {
	const failFirst = 3
	rcv := newNoticeReceiver(t, failFirst)
	w := newWorld(t, worldOpts{flow: "notices.yaml"})
	n := w.start("--notify-url", rcv.URL+"/hooks/dmflow", "--notify-secret", notifySecret)
	users := []string{"n1", "n2"}
	steps := []struct {
		text string // a user message, or "" for the admin release
		want []wantNotice
	}{
		{"hello", []wantNotice{received("hello"), entered("ask_name"), replySent}},
		{"Ann", []wantNotice{received("Ann"),
			{dmflow.NoticeVarCaptured, map[string]any{"var": "name", "value": "Ann", "state": "ask_name"}},
			entered("greet"), replySent}},
		{"agent", []wantNotice{received("agent"), entered("agent"),
			{dmflow.NoticeHandoffStarted, map[string]any{"by": "flow", "reason": "asked for a person"}}, replySent}},
		{"anyone there?", []wantNotice{received("anyone there?")}}, // handed off: the bot is silent
		{"", []wantNotice{{dmflow.NoticeHandoffEnded, map[string]any{"by": "e2e-operator"}}, entered("greet"), replySent}},
		{"thanks", []wantNotice{received("thanks"), replySent}},
	}
	var want []wantNotice
	for i, st := range steps {
		for _, u := range users {
			if st.text == "" {
				if code, body := w.admin(http.MethodPost, "/admin/sessions/"+account+"/"+u+"/release", `{"by":"e2e-operator"}`); code != http.StatusAccepted {
					t.Fatalf("release %s: %d %s", u, code, body)
				}
				continue
			}
			w.say(u, i+1, st.text)
		}
		want = append(want, st.want...)
		for _, u := range users {
			rcv.waitNotices(t, u, len(want)) // the next step starts after this one's reply.sent
		}
	}
	w.waitIdle(10 * time.Second)
	if code := w.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	for _, u := range users {
		checkNotices(t, w, u, rcv.notices(u), want)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.problems) > 0 {
		t.Fatalf("receiver problems:\n%s", strings.Join(rcv.problems, "\n"))
	}
	total := len(want) * len(users)
	if rcv.posts < total+failFirst {
		t.Fatalf("%d POSTs for %d notices and %d refusals: the refused deliveries were not retried", rcv.posts, total, failFirst)
	}
	t.Logf("%d notices in %d POSTs (%d refused, %d repeats)", total, rcv.posts, failFirst, rcv.dups)
	if out := n.stdout.String() + n.stderr.String(); strings.Contains(out, notifySecret) {
		t.Fatal("the notify secret appears in the server's output")
	}
}

// checkNotices compares user's accepted notices with want: types and data
// in order, delivery numbers increasing, every notice keyed to the user,
// and the reply.sent mids equal to the messages Instagram accepted.
func checkNotices(t *testing.T, w *world, user string, got []delivered, want []wantNotice) {
	t.Helper()
	types := func() (out []string) {
		for _, d := range got {
			out = append(out, d.notice.Type)
		}
		return out
	}
	if len(got) != len(want) {
		t.Fatalf("user %s: %d notices, want %d: %q", user, len(got), len(want), types())
	}
	var mids []string
	for _, m := range w.graph.Messages() {
		if m.RecipientID == user {
			mids = append(mids, m.ID)
		}
	}
	var sentMids []string
	for i, d := range got {
		n := d.notice
		if n.Type != want[i].typ || n.Key.User != user || n.Key.Account != account || n.Cause == "" || n.Time.IsZero() {
			t.Fatalf("user %s notice %d: %+v, want type %s (all: %q)", user, i, n, want[i].typ, types())
		}
		if i > 0 && d.seq <= got[i-1].seq {
			t.Errorf("user %s notice %d: delivery %d after %d: out of order", user, i, d.seq, got[i-1].seq)
		}
		for k, v := range want[i].data {
			if n.Data[k] != v {
				t.Errorf("user %s notice %d (%s): data %v, want %s=%v", user, i, n.Type, n.Data, k, v)
			}
		}
		if n.Type == dmflow.NoticeReplySent {
			mid, _ := n.Data["mid"].(string)
			sentMids = append(sentMids, mid)
		}
	}
	if !slices.Equal(sentMids, mids) || len(mids) == 0 {
		t.Errorf("user %s: reply.sent mids %q, Instagram accepted %q", user, sentMids, mids)
	}
}
