package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestResolveFlowsDefault: without --flows, ./flows is used only when it
// holds flow files; otherwise (e.g. the flows Go package of a dmflow
// checkout, where the README runs `go run ./cmd/dmflow serve`) the embedded
// example runs.
func TestResolveFlowsDefault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"no flows dir", nil, "embedded example"},
		{"flows dir with Go files only", []string{"flows/ast.go", "flows/doc.go"}, "embedded example"},
		{"flows dir with a flow", []string{"flows/bot.yaml"}, "./flows"},
		{"flows dir with a .yml flow", []string{"flows/bot.yml"}, "./flows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			src, err := resolveFlows(&serveConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if len(src.desc) < len(tc.want) || src.desc[:len(tc.want)] != tc.want {
				t.Fatalf("flows from %q, want %q…", src.desc, tc.want)
			}
		})
	}
}
