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

// TestPartitionParkedUser: a parked user's items are skipped (its account's
// other users and the other accounts go on) until its lookup ends; then
// the parked item comes first, before the user's later ones.
func TestPartitionParkedUser(t *testing.T) {
	p := newPartition()
	item := func(acct, user, key string) claimed {
		return claimed{item: &dmflow.InboxItem{Event: dmflow.Event{Account: acct, User: user, Key: key}}}
	}
	p.push(item("a", "u1", "a1"))
	p.push(item("a", "u1", "a2"))
	p.push(item("a", "u2", "a3"))
	p.push(item("b", "u1", "b1"))
	first, _ := p.pop()
	if first.item.Event.Key != "a1" {
		t.Fatalf("first %s", first.item.Event.Key)
	}
	done := make(chan struct{})
	p.park(first, done)
	pop := func() string {
		c, ok := p.pop()
		if !ok {
			return "closed"
		}
		return c.item.Event.Key
	}
	if got := pop() + " " + pop(); got != "b1 a3" {
		t.Fatalf("while a/u1 is parked: %s, want b1 a3", got)
	}
	close(done)
	p.close()
	if got := pop() + " " + pop() + " " + pop(); got != "a1 a2 closed" {
		t.Fatalf("after the lookup: %s, want a1 a2 closed", got)
	}
}
