package flows_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dmflow/dmflow/flows"
)

const mainFlow = `flow: main
start: a
vars: {n: int}
states:
  a:
    ask: {var: n, type: number, validate: 'input > 0 && input < 10'}
    next: b
  b:
    say: [{text: "n={{ n }}"}]
    end: true
`

func TestLoadFSDirectory(t *testing.T) {
	fsys := fstest.MapFS{
		"flows/main.yaml":      {Data: []byte(mainFlow)},
		"flows/sub.yml":        {Data: []byte("flow: sub\nstart: s\nstates:\n  s: {return: true}\n")},
		"flows/main.test.yaml": {Data: []byte("not: a flow")},
		"flows/notes.txt":      {Data: []byte("ignored")},
	}
	b, err := flows.LoadFS(fsys, "flows")
	if err != nil {
		t.Fatal(err)
	}
	if b.Main != "main" || len(b.Flows) != 2 {
		t.Errorf("Main = %q, flows = %d", b.Main, len(b.Flows))
	}
	if want := []string{"flows/main.yaml", "flows/sub.yml"}; !reflect.DeepEqual(b.Files, want) {
		t.Errorf("Files = %v, want %v", b.Files, want)
	}
}

func TestLoadWarningsOnly(t *testing.T) {
	src := mainFlow + "  orphan: {end: true}\n"
	b, err := flows.LoadFS(fstest.MapFS{"m.yaml": {Data: []byte(src)}}, "m.yaml")
	if err != nil {
		t.Fatalf("warnings must not fail the load: %v", err)
	}
	if got := b.Warnings.Error(); got != "m.yaml:11:3: warning: state orphan is unreachable" {
		t.Errorf("Warnings = %q", got)
	}
	if len(b.Flows["main"].Warnings) != 1 {
		t.Errorf("Flow.Warnings = %v", b.Flows["main"].Warnings)
	}
}

func TestLoadErrorsAs(t *testing.T) {
	_, err := flows.LoadFS(fstest.MapFS{"m.yaml": {Data: []byte("flow: m\nstart: a\nstates:\n  a: {bogus: 1}\n")}}, "m.yaml")
	var e *flows.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
	if e.Pos != (flows.Pos{File: "m.yaml", Line: 4, Col: 3}) || e.Warning {
		t.Errorf("first error = %+v", e)
	}
	var list flows.ErrorList
	if !errors.As(err, &list) || list.Err() == nil || len(list.Warnings()) != 0 {
		t.Errorf("ErrorList = %v", list)
	}
}

func TestLoadProblems(t *testing.T) {
	big := "flow: b\n#" + strings.Repeat("x", flows.MaxFileSize) + "\n"
	fsys := fstest.MapFS{"big.yaml": {Data: []byte(big)}, "empty/README": {Data: nil}}
	tests := []struct{ path, want string }{
		{"big.yaml", "big.yaml:1:1: file is larger than 1048576 bytes (1 MiB)"},
		{"missing.yaml", "flows: open missing.yaml: file does not exist"},
		{"empty", "flows: no *.yaml or *.yml flow files in empty"},
	}
	for _, tt := range tests {
		if _, err := flows.LoadFS(fsys, tt.path); err == nil || err.Error() != tt.want {
			t.Errorf("LoadFS(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	opts := &flows.Options{
		Funcs: map[string]flows.Func{"double": {
			Fn:    func(a ...any) (any, error) { return a[0].(int) * 2, nil },
			Types: []any{new(func(int) int)},
		}},
		Actions: map[string]flows.ActionSig{"lookup": {Args: map[string]flows.VarType{"id": flows.TypeString}, Required: []string{"id"}}},
	}
	ok := "flow: o\nstart: a\nvars: {n: int}\nstates:\n  a:\n    set: {n: double(3)}\n    action: {go: lookup, args: {id: string(n)}, next: b}\n  b: {end: true}\n"
	fl, err := flows.Parse("o.yaml", []byte(ok), opts)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fl.States["a"].Set[0].Value.Eval(map[string]any{"n": 0})
	if err != nil || v != 6 {
		t.Errorf("double(3) = %v, %v", v, err)
	}
	bad := strings.NewReplacer("double(3)", `double("x")`, "go: lookup", "go: lookup2", "id: string(n)", "ids: n").Replace(ok)
	_, err = flows.Parse("o.yaml", []byte(bad), opts)
	var list flows.ErrorList
	errors.As(err, &list)
	want := "o.yaml:6:21: cannot use string as argument (type int) to call double \n" +
		`o.yaml:7:18: unknown go action "lookup2"`
	if got := list.Errors().Error(); got != want {
		t.Errorf("err =\n%v\nwant\n%s", got, want)
	}
	if _, err := flows.Parse("o.yaml", []byte(ok), &flows.Options{Funcs: map[string]flows.Func{"len": {Fn: opts.Funcs["double"].Fn}}}); err == nil {
		t.Error("a Func named like a builtin must be refused")
	}
}

func TestEvalInput(t *testing.T) {
	fl, err := flows.Parse("m.yaml", []byte(mainFlow), nil)
	if err != nil {
		t.Fatal(err)
	}
	ask := fl.States["a"].Ask
	if ask.Input != flows.TypeInt {
		t.Errorf("Input = %s, want int", ask.Input)
	}
	for in, want := range map[int]bool{5: true, 12: false} {
		got, err := ask.Validate.EvalBool(map[string]any{"input": in, "n": 0})
		if err != nil || got != want {
			t.Errorf("validate(%d) = %v, %v", in, got, err)
		}
	}
	if ok, err := (*flows.Expr)(nil).EvalBool(nil); !ok || err != nil {
		t.Error("nil condition must hold")
	}
}

func TestCoerce(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		t    flows.VarType
		in   any
		want any
		err  bool
	}{
		{flows.TypeInt, 3.0, 3, false},
		{flows.TypeInt, 3.5, nil, true},
		{flows.TypeFloat, 2, 2.0, false},
		{flows.TypeString, nil, "", false},
		{flows.TypeString, 1, nil, true},
		{flows.TypeTime, "2024-01-02T03:04:05Z", tm, false},
		{flows.TypeList, []string{"a"}, []any{"a"}, false},
		{flows.TypeList, []any{1}, nil, true},
		{flows.TypeMap, map[string]any{"a": 1}, map[string]any{"a": 1}, false},
		{flows.TypeAny, []any{1}, []any{1}, false},
		{flows.TypeBool, nil, false, false},
	}
	for _, tt := range tests {
		got, err := tt.t.Coerce(tt.in)
		if (err != nil) != tt.err || (!tt.err && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s.Coerce(%#v) = %#v, %v", tt.t, tt.in, got, err)
		}
	}
}

func ExampleLoad() {
	b, err := flows.Load("testdata/ok/tour.yaml")
	if err != nil {
		fmt.Println(err) // one "file:line:col: message" per line
		return
	}
	main := b.Flows[b.Main]
	fmt.Println(b.Main, main.Version, main.Start, len(main.States), len(b.Warnings))
	// Output: lead-capture 3 greet 14 0
}
