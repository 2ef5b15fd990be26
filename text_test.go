package dmflow_test

import (
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
)

// TestTruncateText: the prefix TruncateText keeps splits into at most n
// parts, and text that fits is kept whole.
func TestTruncateText(t *testing.T) {
	for _, s := range []string{
		"", "short", strings.Repeat("a", 10000), strings.Repeat("word ", 3000),
		strings.Repeat("Sentence one. Another one!\n", 500), strings.Repeat("é👍🏽 ", 2000),
		strings.Repeat("x", 1200) + "\n\n" + strings.Repeat("y ", 3000),
	} {
		for _, n := range []int{1, 2, 5} {
			got, cut := dmflow.TruncateText(s, 100, n)
			if parts := dmflow.SplitText(got, 100); len(parts) > n {
				t.Errorf("len %d, n %d: prefix splits into %d parts", len(s), n, len(parts))
			}
			if fits := len(dmflow.SplitText(s, 100)) <= n; fits == cut || (fits && got != s) || !strings.HasPrefix(s, got) {
				t.Errorf("len %d, n %d: cut %v, got %d bytes", len(s), n, cut, len(got))
			}
		}
	}
}
