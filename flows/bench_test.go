package flows_test

import (
	"testing"

	"github.com/dmflow/dmflow/flows"
)

// BenchmarkRender renders a reply text with a string and an int variable.
func BenchmarkRender(b *testing.B) {
	tmpl, err := parseText(b, "Hi {{ name }}, you have {{ n }} items")
	if err != nil {
		b.Fatal(err)
	}
	e := env()
	b.ReportAllocs()
	for b.Loop() {
		if s, err := tmpl.Render(e); err != nil || s != "Hi bob, you have 3 items" {
			b.Fatal(s, err)
		}
	}
}

// BenchmarkEvalBool runs a condition on the event.
func BenchmarkEvalBool(b *testing.B) {
	tmpl, err := parseText(b, `{{ event.text == "Hello World" && n > 2 }}`)
	if err != nil {
		b.Fatal(err)
	}
	x := tmpl.Parts[0].Expr
	e := env()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := x.EvalBool(e); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCoerce converts stored session values to their declared types.
func BenchmarkCoerce(b *testing.B) {
	tags := []any{"a", "b"}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range []struct {
			t flows.VarType
			v any
		}{{flows.TypeString, "bob"}, {flows.TypeInt, 3}, {flows.TypeInt, 3.0}, {flows.TypeList, tags}, {flows.TypeTime, "2026-01-02T03:04:05Z"}} {
			if _, err := c.t.Coerce(c.v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
