package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram/igtest"
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
}

func faultCases() []faultCase {
	throttle := func(code int) igtest.Fault {
		return igtest.Fault{Status: 400, Code: code, Message: fmt.Sprintf("(#%d) throttled", code), Times: 2}
	}
	cases := []faultCase{
		{"429", igtest.Fault{Status: 429, Times: 2}, ""},
		{"500", igtest.Fault{Status: 500, Times: 2}, ""},
		{"503", igtest.Fault{Status: 503, Times: 2}, ""},
		{"code 4 app throttling", throttle(4), ""},
		{"code 17 user throttling", throttle(17), ""},
		{"code 32 page throttling", throttle(32), ""},
		{"code 613 rate limit", throttle(613), ""},
		{"code 2 transient", igtest.Fault{Status: 503, Code: 2, Transient: true, Times: 2}, ""},
		{"code 190 token", igtest.Fault{Status: 400, Code: 190, Message: "Invalid OAuth access token"}, "190"},
		{"code 551 unavailable", igtest.Fault{Status: 400, Code: 551, Message: "This person isn't available right now."}, "551"},
		{"code 10/2018278 window", igtest.Fault{Status: 400, Code: 10, Subcode: 2018278, Message: "outside of allowed window"}, "2018278"},
		// A reset after the request was written may have delivered the
		// message: it is ambiguous and dead-lettered, never retried blindly.
		{"connection reset", igtest.Fault{Drop: true}, "ambiguous"},
	}
	if long() { // the client's 30 s timeout makes this one slow
		cases = append(cases, faultCase{"timeout", igtest.Fault{Latency: 35 * time.Second, Status: 500}, "ambiguous"})
	}
	return cases
}

// TestGraphFaults sends one message per fault case through the real
// server while the Graph API double fails that message's send: transient
// failures are retried and delivered exactly once, permanent ones end in
// the dead-letter list with the reason, and nothing else is sent.
func TestGraphFaults(t *testing.T) {
	rec := loadtest.NewRecorder()
	account := loadtest.Account(0, 1)
	graph := igtest.NewServer(igtest.Config{Account: account, AccessTokens: map[string]string{token: account},
		OnMessage: func(m igtest.Message) { rec.Record(m.RecipientID, m.Text(), time.Now()) }})
	defer graph.Close()
	s := newSite(t, graph.URL)
	p := s.start()
	wh := igtest.Webhook{Secret: secret}
	cases := faultCases()
	for i, c := range cases {
		calls := graph.Calls()
		graph.Inject(withPath(c.fault))
		body := wh.Text(account, loadtest.User(i), fmt.Sprintf("m.fault.%d", i), "1")
		if status, err := wh.Post(context.Background(), http.DefaultClient, s.webhook(), body); err != nil || status != 200 {
			t.Fatalf("%s: webhook answered %d, %v", c.name, status, err)
		}
		waitIdle(t, p.URL(), 40*time.Second)
		if want := max(c.fault.Times, 1) + map[bool]int{true: 1}[c.dead == ""]; graph.Calls()-calls < want {
			t.Fatalf("%s: %d Graph calls, want at least %d (the fault was not hit)", c.name, graph.Calls()-calls, want)
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
			if c.dead == "" && (len(got) != 1 || reason != "") {
				t.Fatalf("%d replies (want exactly 1), dead letter %q", len(got), reason)
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
