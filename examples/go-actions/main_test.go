package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRun(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"quote with discount", "hi\nPlatinum\nPro\nmany\n12\n", `bot: Which plan would you like a quote for?
bot: Please pick Starter or Pro.
bot: How many seats?
bot: A number from 1 to 500, please.
bot: 12 × Pro: $529.20 a month.
bot: That includes our 10% volume discount.
`},
		{"the action fails", "hi\nEnterprise\n3\n", `bot: Which plan would you like a quote for?
bot: How many seats?
bot: Sorry, I can't quote that: no self-service price for the enterprise plan. Type restart to try again.
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), strings.NewReader(tc.in), &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", out.String(), tc.want)
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
