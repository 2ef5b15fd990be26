package storetest

import (
	"time"

	"github.com/dmflow/dmflow"
)

// Optional capabilities of shared stores (dmflow.Liveness, dmflow.Pacer):
// skipped for stores that do not implement them.
var clusterTests = []test{
	{"HeartbeatTakeover", testHeartbeatTakeover},
	{"HeartbeatAlive", testHeartbeatAlive},
	{"Pace", testPace},
}

// testHeartbeatTakeover: once an owner's heartbeat expired, its inbox and
// outbox leases and action calls are claimable at once (well before the
// leases expire); while it is alive they are not; the dead owner's commit
// of an item taken over fails with ErrLeaseLost.
func testHeartbeatTakeover(h *H) {
	lv, ok := h.S.(dmflow.Liveness)
	if !ok {
		h.Skip("the store does not implement dmflow.Liveness")
	}
	ttl := 3 * time.Second
	_, err := lv.Heartbeat(h.Ctx, "A", T0, ttl)
	h.check(err, "Heartbeat")
	h.append(T0, Msg("u1", "1"), Msg("u2", "2"))
	a := h.claim("A", 10, T0)
	h.send("u1", "hi")
	h.commit(dmflow.Commit{Key: Key("u1"), Now: T0, Actions: []dmflow.ActionCall{{ID: "a1", Name: "crm", Kind: "go", Key: Key("u1")}}})
	h.wantOut(h.claimOut("A", 10), "u1:hi ", "A claims the outbox")
	if acts := h.claimActs("A", 0); len(acts) != 1 {
		h.Fatalf("A claimed %d calls, want 1", len(acts))
	}
	alive := T0.Add(ttl - time.Millisecond)
	h.wantTexts(h.claim("B", 10, alive), "", "B while A's heartbeat lasts")
	dead := T0.Add(ttl)
	h.wantTexts(h.claim("B", 10, dead), "u1:1 u2:2 ", "B once A's heartbeat expired")
	items, err := h.S.ClaimOutbox(h.Ctx, dmflow.QueueDM, claimOf("B", 10, dead))
	h.check(err, "ClaimOutbox")
	h.wantOut(items, "u1:hi ", "B's outbox claim once A's heartbeat expired")
	acts, err := h.S.ClaimActions(h.Ctx, claimOf("B", 10, dead))
	h.check(err, "ClaimActions")
	if len(acts) != 1 {
		h.Fatalf("B claimed %d calls of the dead owner, want 1", len(acts))
	}
	err = h.S.Commit(h.Ctx, dmflow.Commit{Owner: "A", Seq: a[0].Seq, Key: Key("u1"), Now: dead})
	h.wantErr(err, dmflow.ErrLeaseLost, "A commits an item B took over")
	h.check(lv.Depart(h.Ctx, "A"), "Depart")
}

// testHeartbeatAlive: Heartbeat reports whether the previous heartbeat was
// still live; a live owner's leases are not taken, however many
// heartbeats there are.
func testHeartbeatAlive(h *H) {
	lv, ok := h.S.(dmflow.Liveness)
	if !ok {
		h.Skip("the store does not implement dmflow.Liveness")
	}
	ttl := 3 * time.Second
	for i, c := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {2 * time.Second, true}, {4 * time.Second, true}, {7 * time.Second, false}, {8 * time.Second, true}} {
		alive, err := lv.Heartbeat(h.Ctx, "A", T0.Add(c.at), ttl)
		h.check(err, "Heartbeat")
		if alive != c.want {
			h.Fatalf("heartbeat %d at +%v: alive %v, want %v", i, c.at, alive, c.want)
		}
	}
	h.append(T0, Msg("u1", "1"))
	h.claim("A", 10, T0.Add(8*time.Second))
	h.wantTexts(h.claim("B", 10, T0.Add(10*time.Second)), "", "B while A's renewed heartbeat lasts")
	h.check(lv.Depart(h.Ctx, "A"), "Depart")
	h.wantTexts(h.claim("B", 10, T0.Add(10*time.Second)), "", "B after A departed (its lease still holds)")
	h.wantTexts(h.claim("B", 10, Min(2)), "u1:1 ", "B after A's lease expired")
}

// testPace: slots of one account and class are spaced by the interval
// across callers, a batch reserves consecutive slots, an idle bucket
// grants up to burst slots at once, and accounts and classes are
// independent.
func testPace(h *H) {
	p, ok := h.S.(dmflow.Pacer)
	if !ok {
		h.Skip("the store does not implement dmflow.Pacer")
	}
	iv := 10 * time.Millisecond
	pace := func(account, class string, n, burst int, now time.Time) time.Time {
		h.Helper()
		first, err := p.Pace(h.Ctx, account, class, n, iv, burst, now)
		h.check(err, "Pace")
		return first
	}
	for i, c := range []struct {
		account, class string
		n, burst       int
		now, want      time.Duration
	}{
		{"a", dmflow.PaceText, 1, 1, 0, 0},               // first slot now
		{"a", dmflow.PaceText, 3, 1, 0, 10},              // the next three after it
		{"a", dmflow.PaceText, 1, 1, 5, 40},              // another caller queues behind them
		{"b", dmflow.PaceText, 1, 1, 5, 5},               // another account is independent
		{"a", dmflow.PaceMedia, 1, 1, 5, 5},              // another class too
		{"a", dmflow.PaceText, 1, 1, 1000, 1000},         // after idle: now, no burst
		{"c", dmflow.PacePrivate, 5, 5, 0, -40},          // burst 5: all five at once (first+4·iv = now)
		{"c", dmflow.PacePrivate, 1, 5, 0, 10},           // then spaced
		{"c", dmflow.PacePrivate, 3, 5, 1000, 1000 - 40}, // idle again: a burst
	} {
		now := T0.Add(c.now * time.Millisecond)
		if got, want := pace(c.account, c.class, c.n, c.burst, now), T0.Add(c.want*time.Millisecond); !got.Equal(want) {
			h.Fatalf("pace %d (%s/%s n=%d at +%dms): first slot at %v, want %v", i, c.account, c.class, c.n, c.now, got.Sub(T0), want.Sub(T0))
		}
	}
	_, err := p.Pace(h.Ctx, "a", dmflow.PaceText, 0, iv, 1, T0)
	h.wantErr(err, dmflow.ErrInvalid, "Pace of no slots")
}
