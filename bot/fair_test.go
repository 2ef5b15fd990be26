package bot

import (
	"testing"

	"github.com/dmflow/dmflow/internal/testutil"
)

func TestFairSlotsLimits(t *testing.T) {
	for _, tc := range []struct{ cap, perAccount int }{
		{1, 1}, {2, 1}, {4, 3}, {8, 7}, {16, 14}, {128, 112},
	} {
		if f := newFairSlots(tc.cap); f.max != tc.perAccount {
			t.Errorf("cap %d: per account %d, want %d", tc.cap, f.max, tc.perAccount)
		}
	}
}

// waiters reports how many acquires of account wait.
func (f *fairSlots) waiters(account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue[account])
}

// acquireAsync acquires a slot of account in a goroutine and reports on
// the returned channel when it got it.
func acquireAsync(f *fairSlots, account string, got chan<- string) {
	go func() { f.acquire(account); got <- account }()
}

// TestFairSlotsBusyAccount: an account with a backlog of slow sends cannot
// take every slot, and a freed slot goes to the other account first.
func TestFairSlotsBusyAccount(t *testing.T) {
	f := newFairSlots(4) // at most 3 per account
	for range 3 {
		f.acquire("a") // a's throttled sends hold 3 slots
	}
	got := make(chan string, 8)
	acquireAsync(f, "a", got) // a's backlog waits: a is at its limit
	acquireAsync(f, "a", got)
	testutil.Eventually(t, "a's backlog to wait", func() bool { return f.waiters("a") == 2 })
	f.acquire("b") // the slot left for other accounts: no wait
	acquireAsync(f, "b", got)
	testutil.Eventually(t, "b's second send to wait", func() bool { return f.waiters("b") == 1 })

	f.release("a") // a holds 2, b 1: the fewest first is b
	if who := testutil.Recv(t, got, "a slot"); who != "b" {
		t.Fatalf("freed slot went to %s, want b (fewer in flight)", who)
	}
	f.release("b") // a 2, b 1 → a (b has no waiter)
	if who := testutil.Recv(t, got, "a slot"); who != "a" {
		t.Fatalf("freed slot went to %s, want a", who)
	}
	f.release("b") // a 3: at its limit, the slot stays free
	select {
	case who := <-got:
		t.Fatalf("%s got a slot beyond its limit", who)
	default:
	}
	f.acquire("c") // a third account is served at once
	f.release("a")
	if who := testutil.Recv(t, got, "a slot"); who != "a" {
		t.Fatalf("freed slot went to %s, want a", who)
	}
}

// TestFairSlotsTies: among accounts holding as many slots, the one that
// waited longest goes first; one account's waiters keep their order.
func TestFairSlotsTies(t *testing.T) {
	f := newFairSlots(2) // one per account
	f.acquire("x")
	f.acquire("y")
	got := make(chan string, 4)
	acquireAsync(f, "x", got) // x waits (at its limit)
	testutil.Eventually(t, "x to wait", func() bool { return f.waiters("x") == 1 })
	acquireAsync(f, "z", got) // z waits: no free slot
	testutil.Eventually(t, "z to wait", func() bool { return f.waiters("z") == 1 })
	f.release("y") // x holds 1 (at limit), z 0: z
	if who := testutil.Recv(t, got, "a slot"); who != "z" {
		t.Fatalf("got %s, want z", who)
	}
	f.release("x") // x 0 → x's waiter
	if who := testutil.Recv(t, got, "a slot"); who != "x" {
		t.Fatalf("got %s, want x", who)
	}
}
