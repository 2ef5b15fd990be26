package bolt

import (
	"encoding/binary"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dmflow/dmflow/store/internal/kvstore"
)

// leaseRecord renders a lease record as kvstore does (leaseV1).
func leaseRecord(owner string, until time.Time, dur time.Duration, claimed ...uint64) []byte {
	b := kvstore.AppendLease(nil, until.UnixNano(), int64(dur), owner)
	if len(claimed) == 0 {
		return b
	}
	b = b[:len(b)-1]
	b = binary.AppendUvarint(b, uint64(len(claimed)))
	for _, s := range claimed {
		b = binary.BigEndian.AppendUint64(b, s)
	}
	return b
}

// TestMemLeases checks that what a transaction wrote is read back byte for
// byte, whichever form memLeases keeps it in, across changes between the
// forms and deletes.
func TestMemLeases(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		name   string
		writes map[string][]byte // nil value: delete
		want   map[string][]byte // the whole bucket afterwards
	}{
		{"put plain leases",
			map[string][]byte{"u1": leaseRecord("A", t0, time.Second), "u2": leaseRecord("B", t0, time.Minute)},
			map[string][]byte{"u1": leaseRecord("A", t0, time.Second), "u2": leaseRecord("B", t0, time.Minute)}},
		{"a claim, then another owner",
			map[string][]byte{"u1": leaseRecord("A", t0.Add(time.Second), time.Second, 7), "u3": leaseRecord("A", t0, time.Second, 8, 9)},
			map[string][]byte{"u1": leaseRecord("A", t0.Add(time.Second), time.Second, 7), "u2": leaseRecord("B", t0, time.Minute), "u3": leaseRecord("A", t0, time.Second, 8, 9)}},
		{"claims done, a delete",
			map[string][]byte{"u1": leaseRecord("A", t0.Add(2*time.Second), time.Second), "u2": nil},
			map[string][]byte{"u1": leaseRecord("A", t0.Add(2*time.Second), time.Second), "u3": leaseRecord("A", t0, time.Second, 8, 9)}},
		{"a record not in the lease format is kept as is",
			map[string][]byte{"u4": []byte("x"), "u3": nil},
			map[string][]byte{"u1": leaseRecord("A", t0.Add(2*time.Second), time.Second), "u4": []byte("x")}},
	}
	m := newMemLeases()
	for _, st := range steps {
		m.apply(map[string]map[string][]byte{"b": st.writes})
		keys := m.keys("b")
		slices.Sort(keys)
		want := make([]string, 0, len(st.want))
		for k := range st.want {
			want = append(want, k)
		}
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Fatalf("%s: keys %q, want %q", st.name, keys, want)
		}
		for k, v := range st.want {
			if got, ok := m.get("b", k); !ok || string(got) != string(v) {
				t.Fatalf("%s: get %s = %x, %v; want %x", st.name, k, got, ok, v)
			}
		}
		if _, ok := m.get("b", "nope"); ok {
			t.Fatalf("%s: a missing key found", st.name)
		}
		if got := m.size("b"); got != len(st.want) {
			t.Fatalf("%s: size %d, want %d", st.name, got, len(st.want))
		}
	}
	if _, ok := m.get("other", "u1"); ok || len(m.keys("other")) != 0 {
		t.Fatal("a bucket never written has leases")
	}
}

// TestMemLeasesManyOwners checks that leases of owners beyond maxOwners are
// kept too (encoded).
func TestMemLeasesManyOwners(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	m := newMemLeases()
	n := maxOwners + 10
	for i := range n {
		k := strconv.Itoa(i)
		m.apply(map[string]map[string][]byte{"b": {k: leaseRecord("owner"+k, t0, time.Hour)}})
	}
	if len(m.owners) != maxOwners {
		t.Fatalf("%d owners interned, want %d", len(m.owners), maxOwners)
	}
	for _, i := range []int{0, maxOwners - 1, maxOwners, n - 1} {
		k := strconv.Itoa(i)
		if got, _ := m.get("b", k); string(got) != string(leaseRecord("owner"+k, t0, time.Hour)) {
			t.Fatalf("lease %d = %x", i, got)
		}
	}
}
