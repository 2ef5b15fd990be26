package flowtest

import (
	"path/filepath"
	"strings"
	"testing"
)

// Run runs every transcript (*.test.yaml) under dir as a subtest of t,
// named by its file (relative to dir) and transcript name, against the
// flows it names with opts (the program's helpers and Go actions; nil:
// none). It is `dmflow test dir` from go test:
//
//	func TestFlows(t *testing.T) {
//		flowtest.Run(t, "flows", &flowtest.Options{Flows: loadOptions(), Actions: registry()})
//	}
//
// A transcript file that does not parse fails t; a failing transcript
// fails its subtest with the step's want/got diff. The flows' coverage is
// logged (go test -v shows it; with -v also the transitions never taken).
func Run(t *testing.T, dir string, opts *Options) {
	t.Helper()
	files, err := FindTranscripts([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(opts)
	for _, f := range files {
		ts, err := readTranscripts(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, tr := range ts {
			t.Run(subtestName(dir, tr), func(t *testing.T) {
				if res := r.run(t.Context(), tr); res.Failure != "" {
					t.Error("\n" + res.String())
				}
			})
		}
	}
	var cov strings.Builder
	r.PrintCoverage(&cov, testing.Verbose())
	t.Log("\n" + cov.String())
}

// subtestName is the transcript's file relative to dir (without the
// .test.yaml suffix) and its name.
func subtestName(dir string, tr *transcript) string {
	rel, err := filepath.Rel(dir, tr.File)
	if err != nil {
		rel = tr.File
	}
	rel = strings.TrimSuffix(strings.TrimSuffix(filepath.ToSlash(rel), ".yaml"), ".test")
	rel = strings.TrimSuffix(strings.TrimSuffix(rel, ".yml"), ".test")
	return rel + "/" + tr.Name
}
