package kvstore

import (
	"testing"
	"time"
)

// TestLeaseIdle checks LeaseIdle, which reads a record in place, against
// the decoded lease, and that it allocates nothing.
func TestLeaseIdle(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 500)
	long := string(make([]byte, 300)) // an owner longer than one varint byte
	tests := []struct {
		name string
		l    lease
		at   time.Time
		want bool
	}{
		{"expired, nothing claimed", lease{Owner: "w1", Until: t0, Dur: time.Second}, t0.Add(time.Nanosecond), true},
		{"expires exactly then", lease{Owner: "w1", Until: t0, Dur: time.Second}, t0, true},
		{"live", lease{Owner: "w1", Until: t0, Dur: time.Second}, t0.Add(-time.Nanosecond), false},
		{"expired with a claim", lease{Owner: "w1", Until: t0, Claimed: []uint64{7}}, t0.Add(time.Hour), false},
		{"expired with claims", lease{Owner: "w1", Until: t0, Claimed: []uint64{7, 9}}, t0.Add(time.Hour), false},
		{"no owner", lease{Until: t0}, t0.Add(time.Hour), true},
		{"long owner", lease{Owner: long, Until: t0}, t0.Add(time.Hour), true},
		{"long owner, live", lease{Owner: long, Until: t0}, t0.Add(-time.Hour), false},
		{"zero time", lease{Owner: "w1", Until: t0}, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.l.encode()
			if got := LeaseIdle(v, tt.at); got != tt.want {
				t.Fatalf("LeaseIdle = %v, want %v", got, tt.want)
			}
			d, err := decodeLease(v)
			if err != nil {
				t.Fatal(err)
			}
			if old := !tt.at.Before(d.Until) && len(d.Claimed) == 0; old != tt.want {
				t.Fatalf("decoded lease says idle = %v, want %v", old, tt.want)
			}
			if n := testing.AllocsPerRun(10, func() { LeaseIdle(v, tt.at) }); n != 0 {
				t.Fatalf("LeaseIdle allocates %v times", n)
			}
		})
	}
	for _, bad := range [][]byte{nil, {leaseV1}, make([]byte, 17), append((&lease{Until: t0}).encode(), 0)} {
		if LeaseIdle(bad, t0.Add(time.Hour)) {
			t.Fatalf("LeaseIdle(%x) = true for a bad record", bad)
		}
	}
}

// TestSplitLease checks that SplitLease and AppendLease render a lease with
// nothing claimed byte for byte, and that leases with claims are refused.
func TestSplitLease(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 500)
	tests := []struct {
		name string
		l    lease
		ok   bool
	}{
		{"plain", lease{Owner: "host-123-abcd", Until: t0, Dur: 30 * time.Second}, true},
		{"no owner", lease{Until: t0}, true},
		{"long owner", lease{Owner: string(make([]byte, 300)), Until: t0, Dur: time.Minute}, true},
		{"negative times", lease{Owner: "w", Until: time.Unix(0, -5), Dur: -1}, true},
		{"one claim", lease{Owner: "w", Until: t0, Claimed: []uint64{1}}, false},
		{"claims", lease{Owner: "w", Until: t0, Claimed: []uint64{3, 4}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.l.encode()
			until, dur, owner, ok := SplitLease(v)
			if ok != tt.ok {
				t.Fatalf("SplitLease ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got := AppendLease(nil, until, dur, string(owner)); string(got) != string(v) {
				t.Fatalf("AppendLease = %x, want %x", got, v)
			}
		})
	}
	for _, bad := range [][]byte{nil, {leaseV1}, make([]byte, 18), append((&lease{Until: t0}).encode(), 0)} {
		if _, _, _, ok := SplitLease(bad); ok {
			t.Fatalf("SplitLease(%x) ok for a bad record", bad)
		}
	}
}
