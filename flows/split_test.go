package flows_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/dmflow/dmflow/flows"
)

func split(exp string, weights ...int) *flows.SplitSpec {
	sp := &flows.SplitSpec{Experiment: exp}
	for i, w := range weights {
		sp.Variants = append(sp.Variants, &flows.Variant{Name: string(rune('a' + i)), Weight: w})
	}
	return sp
}

// TestSplitPick checks the assignment rule: deterministic per user and
// experiment, proportional to the weights, zero weights never picked.
func TestSplitPick(t *testing.T) {
	tests := []struct {
		name    string
		sp      *flows.SplitSpec
		want    map[string]float64 // share per variant
		tolRate float64
	}{
		{"even", split("welcome_v2", 50, 50), map[string]float64{"a": 0.5, "b": 0.5}, 0.02},
		{"uneven", split("welcome_v2", 90, 10), map[string]float64{"a": 0.9, "b": 0.1}, 0.02},
		{"three", split("menu", 1, 1, 2), map[string]float64{"a": 0.25, "b": 0.25, "c": 0.5}, 0.02},
		{"zero weight", split("off", 0, 100), map[string]float64{"b": 1}, 0},
		{"single", split("all", 7), map[string]float64{"a": 1}, 0},
	}
	const users = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]int{}
			for i := range users {
				id := fmt.Sprintf("1784%08d", i)
				v := tt.sp.Pick(id)
				if v == nil {
					t.Fatalf("Pick(%s) = nil", id)
				}
				if again := tt.sp.Pick(id); again != v {
					t.Fatalf("Pick(%s) not deterministic: %s then %s", id, v.Name, again.Name)
				}
				got[v.Name]++
			}
			for name, n := range got {
				if _, ok := tt.want[name]; !ok {
					t.Errorf("variant %s picked %d times, want never", name, n)
				}
			}
			for name, share := range tt.want {
				rate := float64(got[name]) / users
				if math.Abs(rate-share) > tt.tolRate {
					t.Errorf("variant %s: share %.3f, want %.3f ± %.3f", name, rate, share, tt.tolRate)
				}
			}
		})
	}
}

// TestSplitPickStable pins a few assignments: a change of the hashing rule
// would move users in running experiments to the other variant, so it must
// be deliberate. The two experiments split the same users differently.
func TestSplitPickStable(t *testing.T) {
	welcome, pricing := split("welcome_v2", 50, 50), split("pricing", 50, 50)
	want := map[string][2]string{
		"user-1":            {"a", "a"},
		"user-2":            {"a", "b"},
		"user-3":            {"a", "b"},
		"user-4":            {"b", "b"},
		"17841400000000001": {"b", "a"},
		"17841400000000002": {"a", "a"},
	}
	for id, w := range want {
		if got := [2]string{welcome.Pick(id).Name, pricing.Pick(id).Name}; got != w {
			t.Errorf("%s: got %v, want %v", id, got, w)
		}
		if welcome.Variant(w[0]) != welcome.Pick(id) {
			t.Errorf("%s: Variant(%q) is not the picked variant", id, w[0])
		}
	}
	if got := split("x", 0, 0).Pick("u"); got != nil {
		t.Errorf("all-zero weights picked %v", got.Name)
	}
}
