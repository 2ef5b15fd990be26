package kvstore

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPickFairDepth: the rule pickFair stops on (the claim is full, or no
// account was cut at depth) gives exactly the candidates that reading
// c.Max items per account gives, for random backlogs.
func TestPickFairDepth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		accounts := 1 + rng.IntN(40)
		max := 1 + rng.IntN(300)
		var lists [][]candidate
		seq := uint64(0)
		for range accounts {
			var l []candidate
			for range rng.IntN(20) * (1 + rng.IntN(3)) {
				seq += 1 + uint64(rng.IntN(3))
				sk := binary.BigEndian.AppendUint64(nil, seq)
				l = append(l, candidate{sk: sk, uk: []byte("u")})
			}
			if len(l) > 0 {
				lists = append(lists, l)
			}
		}
		// Interleave the accounts' seqs: shuffle which seq each item has,
		// keeping each list ascending.
		var all [][]byte
		for _, l := range lists {
			for _, c := range l {
				all = append(all, c.sk)
			}
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		i := 0
		for _, l := range lists {
			part := all[i : i+len(l)]
			i += len(l)
			slices.SortFunc(part, func(a, b []byte) int { return slices.Compare(a, b) })
			for j := range l {
				l[j].sk = part[j]
			}
		}
		capped := func(d int) (out [][]candidate, deeper bool) {
			for _, l := range lists {
				if len(l) > d {
					l, deeper = l[:d], true
				}
				out = append(out, l)
			}
			return out, deeper
		}
		full, _ := capped(max)
		want := roundRobin(full, max)
		for depth := min(firstDepth, max); ; depth = min(4*depth, max) {
			ls, deeper := capped(depth)
			got := roundRobin(ls, max)
			if len(got) == max || !deeper || depth == max {
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("case %d (accounts %d, max %d, depth %d): got %v, want %v", n, accounts, max, depth, got, want)
				}
				break
			}
		}
	}
}
