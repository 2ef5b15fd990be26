package flows_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/flows"
)

var update = flag.Bool("update", false, "rewrite testdata/err/*.golden")

// TestOK loads every valid flow: no error and no warning.
func TestOK(t *testing.T) {
	files, _ := filepath.Glob("testdata/ok/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/ok files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := flows.Load(file)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(b.Warnings) > 0 {
				t.Fatalf("warnings:\n%v", b.Warnings)
			}
		})
	}
}

// TestErrors loads every invalid flow and compares the rendered diagnostics
// with its .golden file.
func TestErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/err/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/err files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			got := diagnostics(t, file)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

// diagnostics renders the load result: the error list, or the warnings.
func diagnostics(t *testing.T, file string) string {
	b, err := flows.Load(file)
	if err == nil {
		if len(b.Warnings) == 0 {
			t.Fatalf("%s loaded without any diagnostic", file)
		}
		return b.Warnings.Error() + "\n"
	}
	if _, ok := err.(flows.ErrorList); !ok {
		t.Fatalf("error is %T, want flows.ErrorList: %v", err, err)
	}
	return err.Error() + "\n"
}
