package messenger_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/messenger"
	"github.com/dmflow/dmflow/adapters/messenger/messengertest"
)

// recordPacer is a dmflow.Pacer that grants every slot at once and
// records what it was asked for.
type recordPacer struct {
	mu    sync.Mutex
	asked []string // "page/class interval"
}

func (p *recordPacer) Pace(_ context.Context, account, class string, n int, interval time.Duration, burst int, now time.Time) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.asked = append(p.asked, account+"/"+class+" "+interval.String())
	}
	return now, nil
}

// TestPacedPerPage: every Send API request takes a slot of its Page and
// class from the pacer — text at the published 300/s less the headroom,
// audio and video at 10/s — and two Pages have slots of their own.
func TestPacedPerPage(t *testing.T) {
	const page2 = "1000000000000002"
	g := messengertest.NewServer(messengertest.Config{Tokens: map[string]string{"tok1": page, "tok2": page2}})
	t.Cleanup(g.Close)
	p := &recordPacer{}
	c := messenger.NewClient(messenger.ClientConfig{BaseURL: g.URL, Tokens: messenger.PageTokens{page: "tok1", page2: "tok2"},
		Pacer: p, RateLimits: messenger.RateLimits{Headroom: -1}})
	out := func(pg string, r dmflow.Reply) dmflow.Outgoing {
		return dmflow.Outgoing{Key: dmflow.SessionKey{Account: pg, User: psid}, To: dmflow.Recipient{ID: psid},
			LastInbound: time.Now(), Reply: r}
	}
	ctx := context.Background()
	for _, o := range []dmflow.Outgoing{
		out(page, dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"}),
		out(page, dmflow.Reply{Kind: dmflow.ReplyMedia, Media: []dmflow.Media{{Type: "video", URL: "https://cdn.example/v.mp4"}}}),
		out(page2, dmflow.Reply{Kind: dmflow.ReplyAction, Action: dmflow.ActionTypingOn}),
	} {
		if _, err := c.Send(ctx, o); err != nil {
			t.Fatalf("Send %s: %v", o.Reply.Kind, err)
		}
	}
	want := []string{page + "/text 3.333333ms", page + "/media 100ms", page2 + "/text 3.333333ms"}
	if !slices.Equal(p.asked, want) {
		t.Errorf("slots asked %q, want %q", p.asked, want)
	}
}
