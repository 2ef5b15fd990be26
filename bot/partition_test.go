package bot

import (
	"testing"

	"github.com/dmflow/dmflow"
)

// TestPartitionTurns: a partition hands out the accounts' items in turns,
// each account's (and so each user's) in order.
func TestPartitionTurns(t *testing.T) {
	p := newPartition()
	item := func(acct, key string) claimed {
		return claimed{item: &dmflow.InboxItem{Event: dmflow.Event{Account: acct, User: "u", Key: key}}}
	}
	for _, k := range []string{"a1", "a2", "a3", "a4"} {
		p.push(item("a", k))
	}
	p.push(item("b", "b1"))
	p.push(item("c", "c1"))
	p.push(item("b", "b2"))
	p.close()
	got := ""
	for {
		c, ok := p.pop()
		if !ok {
			break
		}
		got += c.item.Event.Key + " "
	}
	if want := "a1 b1 c1 a2 b2 a3 a4 "; got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
}
