package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/loadtest"
)

// faultCase is one Graph API failure injected into the send of one
// user's reply, and what must become of that reply.
type faultCase struct {
	name  string
	fault igtest.Fault
	// dead is a substring of the dead-letter reason; "" means the reply
	// must be delivered (after retries).
	dead string
	// dups is how many extra copies of a delivered reply are expected (a
	// retry after Meta processed the request).
	dups int
}

func faultCases() []faultCase {
	throttle := func(code int) igtest.Fault {
		return igtest.Fault{Status: 400, Code: code, Message: fmt.Sprintf("(#%d) throttled", code), Times: 2}
	}
	cases := []faultCase{
		{"429", igtest.Fault{Status: 429, Times: 2}, "", 0},
		{"500", igtest.Fault{Status: 500, Times: 2}, "", 0},
		{"503", igtest.Fault{Status: 503, Times: 2}, "", 0},
		{"code 4 app throttling", throttle(4), "", 0},
		{"code 17 user throttling", throttle(17), "", 0},
		{"code 32 page throttling", throttle(32), "", 0},
		{"code 613 rate limit", throttle(613), "", 0},
		{"code 2 transient", igtest.Fault{Status: 503, Code: 2, Transient: true, Times: 2}, "", 0},
		{"code 190 token", igtest.Fault{Status: 400, Code: 190, Message: "Invalid OAuth access token"}, "190", 0},
		{"code 551 unavailable", igtest.Fault{Status: 400, Code: 551, Message: "This person isn't available right now."}, "551", 0},
		{"code 10/2018278 window", igtest.Fault{Status: 400, Code: 10, Subcode: 2018278, Message: "outside of allowed window"}, "2018278", 0},
		// Connection resets and timeouts are retried (at least once).
		{"connection reset", igtest.Fault{Drop: true, Times: 2}, "", 0},
		{"timeout", igtest.Fault{Latency: 5 * sendTimeout, Status: 500, Times: 2}, "", 0},
		// Meta processed the request, then the connection was lost: the
		// retry delivers the message a second time, counted by the double.
		{"reset after processing", igtest.Fault{Drop: true, Deliver: true, Times: 1}, "", 1},
		// Graph says the message may have been delivered: dead letter.
		{"code 1/1357046 ambiguous", igtest.Fault{Status: 500, Code: 1, Subcode: 1357046, Message: "unknown error"}, "1357046", 0},
	}
	return cases
}

// sendTimeout is the server's --send-timeout in the fault suite: short so
// that the timeout case runs in CI, yet a scaled few seconds, because every
// other send must beat it on a busy machine (a send that times out after
// the double processed it is delivered twice).
var sendTimeout = testutil.Scale(3 * time.Second)

// TestGraphFaults sends one message per fault case through the real
// server while the Graph API double fails that message's send: transient
// failures (including connection resets and timeouts) are retried and
// delivered once, or twice when Meta had processed the request before the
// connection was lost; permanent and ambiguous ones end in the dead-letter
// list with the reason, and nothing else is sent.
func TestGraphFaults(t *testing.T) {
	rec := loadtest.NewRecorder()
	account := loadtest.Account(0, 1)
	graph := igtest.NewServer(igtest.Config{Account: account, AccessTokens: map[string]string{token: account},
		OnMessage: func(m igtest.Message) { rec.Record(m.RecipientID, m.Text(), time.Now()) }})
	defer graph.Close()
	s := newSite(t, graph.URL)
	p := s.start("--send-timeout", sendTimeout.String())
	wh := igtest.Webhook{Secret: secret}
	cases := faultCases()
	for i, c := range cases {
		calls := graph.Calls()
		f := withPath(c.fault)
		f.Recipient = loadtest.User(i) // not taken by a late request of an earlier case
		graph.Inject(f)
		body := wh.Text(account, loadtest.User(i), fmt.Sprintf("m.fault.%d", i), "1")
		if status, err := wh.Post(context.Background(), http.DefaultClient, s.webhook(), body); err != nil || status != 200 {
			t.Fatalf("%s: webhook answered %d, %v", c.name, status, err)
		}
		// The fault must be used up before the next case clears the faults:
		// an idle server alone does not prove the send was made.
		if !testutil.Poll(testutil.Scale(time.Minute), func() bool { return graph.FaultsArmed() == 0 }) {
			t.Fatalf("%s: the fault was not hit within %s; replies to %s: %+v; server log:\n%s",
				c.name, testutil.Scale(time.Minute), loadtest.User(i), rec.Replies(loadtest.User(i)), p.Stderr())
		}
		waitIdle(t, p.URL(), time.Minute)
		if want := max(c.fault.Times, 1) + map[bool]int{true: 1}[c.dead == ""]; graph.Calls()-calls < want {
			t.Fatalf("%s: %d Graph calls, want at least %d (the fault was not hit); replies to %s: %+v; server log:\n%s",
				c.name, graph.Calls()-calls, want, loadtest.User(i), rec.Replies(loadtest.User(i)), p.Stderr())
		}
		graph.ClearFaults()
	}
	p.Stop(20 * time.Second)
	dead, err := s.open().DeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, d := range dead {
		reasons[d.Item.Key.User] = d.Reason
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := loadtest.User(i)
			got, reason := rec.Replies(user), reasons[user]
			if c.dead == "" && (len(got) != 1+c.dups || reason != "") {
				t.Fatalf("%d replies (want %d), dead letter %q", len(got), 1+c.dups, reason)
			}
			if c.dead != "" && (len(got) != 0 || !strings.Contains(strings.ToLower(reason), c.dead)) {
				t.Fatalf("%d replies (want none), dead letter %q (want it to mention %q)", len(got), reason, c.dead)
			}
		})
	}
	if len(dead) != countDead(cases) {
		t.Fatalf("%d dead letters, want %d", len(dead), countDead(cases))
	}
}

func withPath(f igtest.Fault) igtest.Fault {
	f.Path = "/messages"
	return f
}

func countDead(cases []faultCase) int {
	n := 0
	for _, c := range cases {
		if c.dead != "" {
			n++
		}
	}
	return n
}
