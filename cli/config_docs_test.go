package cli

import (
	"os"
	"strings"
	"testing"
)

// TestOperationsDocListsEverySetting keeps docs/operations.md's
// configuration table in step with configSettings.
func TestOperationsDocListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, s := range configSettings(&serveConfig{}) {
		row := "| `--" + s.Flag + "` | `" + s.Env + "` |"
		if !strings.Contains(doc, row) {
			t.Errorf("docs/operations.md has no table row starting %q", row)
		}
		if s.Key != "" && !strings.Contains(doc, "`"+s.Key+"`") {
			t.Errorf("docs/operations.md does not mention config key %q", s.Key)
		}
	}
	for _, cmd := range []string{"sessions", "handoffs", "deadletters", "retry SEQ", "reload", "replay A/U", "backup FILE", "stranded PATH"} {
		if !strings.Contains(doc, "`"+cmd) {
			t.Errorf("docs/operations.md does not document admin %q", cmd)
		}
	}
}
