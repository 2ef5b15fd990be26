package engine_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func tourEngine(t testing.TB) *engine.Engine { return tourEngineWith(t, nil) }

// tourEngineWith is tourEngine with options.
func tourEngineWith(t testing.TB, opts *engine.Options) *engine.Engine {
	t.Helper()
	b, err := flows.Load("testdata/tour.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGraph(t *testing.T) {
	e := tourEngine(t)
	for _, tt := range []struct{ flow, format, golden string }{
		{"", "mermaid", "tour.mermaid"},
		{"", "dot", "tour.dot"},
		{"catalog", "", "catalog.mermaid"},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := e.Graph(tt.flow, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := e.Graph(tt.flow, tt.format)
			if again != got {
				t.Fatal("graph output is not deterministic")
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("graph differs from %s:\n%s", path, got)
			}
		})
	}
	if _, err := e.Graph("nope", ""); err == nil {
		t.Error("unknown flow accepted")
	}
	if _, err := e.Graph("", "svg"); err == nil {
		t.Error("unknown format accepted")
	}
}
