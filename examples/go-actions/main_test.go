package main

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/cli"
	"github.com/dmflow/dmflow/flowtest"
)

// TestTranscripts runs testdata/*.test.yaml with this program's helper and
// Go action, as its `test` command does.
func TestTranscripts(t *testing.T) {
	flowtest.Run(t, "testdata", &flowtest.Options{Flows: loadOptions(), Actions: registry()})
}

// TestCommands: this program's validate and test understand the flow; the
// plain dmflow binary (no options) rejects money and quote.
func TestCommands(t *testing.T) {
	opts := cli.Options{Flows: loadOptions(), Actions: registry()}
	cases := []struct {
		name string
		args []string
		opts cli.Options
		code int
		want string
	}{
		{"validate", []string{"validate", "--strict", "testdata/quote.yaml"}, opts, 0, "ok   testdata/quote.yaml: 1 flow quote (main); 5 states"},
		{"test", []string{"test", "testdata"}, opts, 0, "ok   3 transcripts"},
		{"plain validate", []string{"validate", "testdata/quote.yaml"}, cli.Options{}, 1, "unknown name money"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := cli.Run(t.Context(), tc.args, cli.IO{In: strings.NewReader(""), Out: &out, Err: &out}, tc.opts)
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to contain %q", code, tc.code, out.String(), tc.want)
			}
		})
	}
}

// Unknown Go actions and helpers, and arguments of the wrong type, are
// load-time errors with positions.
func TestLoadErrors(t *testing.T) {
	const flow = `flow: bad
start: a
vars: {n: int, s: string}
states:
  a:
    action:
      go: %s
      args: %s
      next: b
  b:
    say: [{text: "{{ %s }}"}]
    end: true
`
	cases := []struct{ name, action, args, expr, want string }{
		{"unknown action", "qoute", "{plan: s, seats: n}", "s", `bad.yaml:7:11: unknown go action "qoute"`},
		{"wrong arg type", "quote", "{plan: s, seats: s}", "s", "bad.yaml:8:30: cannot assign string to int variable seats"},
		{"unknown arg", "quote", "{plan: s, seats: n, color: s}", "s", `go action quote has no argument "color"`},
		{"missing arg", "quote", "{plan: s}", "s", `go action quote: missing required argument "seats"`},
		{"wrong helper arg", "quote", "{plan: s, seats: n}", "money(s)", "bad.yaml:11:28: cannot use string as argument (type float64) to call money"},
		{"unknown helper", "quote", "{plan: s, seats: n}", "monie(n)", "bad.yaml:11:22: unknown name monie"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.NewReplacer("%s", "\x00").Replace(flow)
			for _, v := range []string{tc.action, tc.args, tc.expr} {
				src = strings.Replace(src, "\x00", v, 1)
			}
			_, err := loadOptions().LoadFS(fstest.MapFS{"bad.yaml": {Data: []byte(src)}}, "bad.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
