package flows

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// scope says which context-bound names an expression may use besides event,
// user, now and the flow's variables.
type scope int

const (
	scopeBase     scope = iota
	scopeInput          // ask.validate: `input`
	scopeResponse       // action.save: `response`
)

// baseEnv is the typed environment every expression of a flow compiles against.
func baseEnv(vars []*Var) types.Map {
	env := types.Map{
		"event": typeOf(reflect.TypeFor[EventEnv]()),
		"user":  typeOf(reflect.TypeFor[UserEnv]()),
		"now":   types.TypeOf(time.Time{}),
		// BudgetVar is set by the evaluator, read only by the budget
		// patch (see budget.go).
		BudgetVar: types.Any,
	}
	for _, v := range vars {
		env[v.Name] = v.Type.exprType()
	}
	return env
}

// typeOf converts a Go type to an expr type. Structs (except time.Time) become
// typed maps keyed by their `expr` tags: the engine may pass the struct or a map.
func typeOf(t reflect.Type) types.Type {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return types.TypeOf(time.Time{})
	case t.Kind() == reflect.Struct:
		m := types.Map{}
		for i := range t.NumField() {
			f := t.Field(i)
			if name := f.Tag.Get("expr"); name != "" && name != "-" {
				m[name] = typeOf(f.Type)
			}
		}
		return m
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return types.Array(typeOf(t.Elem()))
	}
	return types.TypeOf(reflect.Zero(t).Interface())
}

func (t VarType) exprType() types.Type {
	switch t {
	case TypeString:
		return types.String
	case TypeInt:
		return types.Int
	case TypeFloat:
		return types.Float64
	case TypeBool:
		return types.Bool
	case TypeTime:
		return types.TypeOf(time.Time{})
	case TypeList:
		return types.Array(types.String)
	case TypeMap:
		return types.TypeOf(map[string]any{})
	}
	return types.Any
}

// envFor returns the environment of an expression in scope s.
func (d *decoder) envFor(s scope) types.Map {
	switch s {
	case scopeInput:
		env := copyEnv(d.env)
		env["input"] = d.input.exprType()
		return env
	case scopeResponse:
		env := copyEnv(d.env)
		env["response"] = typeOf(reflect.TypeFor[ResponseEnv]())
		return env
	}
	return d.env
}

func copyEnv(m types.Map) types.Map {
	c := make(types.Map, len(m)+1)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// exprOptions are the compile options shared by every expression.
func (d *decoder) exprOptions(env types.Map) []expr.Option {
	opts := []expr.Option{
		expr.Env(env),
		expr.DisableBuiltin("now"), // time comes from the env: steps stay deterministic
		expr.Timezone("UTC"),
		expr.Optimize(true),
		expr.Operator("+", "list_concat"),
	}
	opts = append(opts, helperOptions...)
	opts = append(opts, budgetOptions...)
	for _, name := range d.opts.funcNames() {
		fn := d.opts.Funcs[name]
		opts = append(opts, expr.Function(name, fn.Fn, fn.Types...))
	}
	return opts
}

// expr compiles the scalar n as an expression of scope s; cond requires bool.
func (d *decoder) expr(n *yaml.Node, what string, s scope, cond bool) *Expr {
	src, ok := d.str(n, what)
	if !ok {
		return nil
	}
	return d.compile(n, src, 0, 0, s, cond)
}

// compile compiles src, found at (line0, col0) inside the scalar n.
func (d *decoder) compile(n *yaml.Node, src string, line0, col0 int, s scope, cond bool) *Expr {
	e := &Expr{Src: strings.TrimSpace(src), Pos: d.subPos(n, line0, col0)}
	if e.Src == "" {
		d.errorf(e.Pos, "empty expression")
		return nil
	}
	opts := d.exprOptions(d.envFor(s))
	if cond {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		d.exprError(n, line0, col0, err)
		return nil
	}
	e.Prog = prog
	e.Refs = refs(prog.Node())
	return e
}

func (d *decoder) exprError(n *yaml.Node, line0, col0 int, err error) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		d.errorf(d.subPos(n, line0, col0), "%v", err)
		return
	}
	line, col := line0+fe.Line-1, fe.Column
	if fe.Line <= 1 {
		col += col0
	}
	d.errorf(d.subPos(n, line, col), "%s", fe.Message)
}

// refs lists the identifiers an expression reads, sorted and unique.
func refs(root ast.Node) []string {
	seen := map[string]bool{}
	ast.Walk(&root, identVisitor(seen))
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type identVisitor map[string]bool

func (v identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v[id.Value] = true
	}
}

// template compiles the scalar n as a template with {{ expr }} placeholders.
func (d *decoder) template(n *yaml.Node, what string, s scope) *Template {
	src, ok := d.str(n, what)
	if !ok {
		return nil
	}
	t := &Template{Src: src, Pos: d.pos(n)}
	rest, off := src, 0
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.Parts = append(t.Parts, TemplatePart{Lit: rest})
			break
		}
		if i > 0 {
			t.Parts = append(t.Parts, TemplatePart{Lit: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		line, col := lineCol(src, off+i)
		if j < 0 {
			d.errorf(d.subPos(n, line, col), "unclosed {{ in %s", what)
			return nil
		}
		line, col = lineCol(src, off+i+2)
		e := d.compile(n, rest[i+2:i+2+j], line, col, s, false)
		if e == nil {
			return nil
		}
		t.Parts = append(t.Parts, TemplatePart{Expr: e})
		off += i + 2 + j + 2
		rest = src[off:]
	}
	return t
}

// lineCol converts a byte offset in s to a 0-based line and rune column.
func lineCol(s string, off int) (line, col int) {
	before := s[:off]
	line = strings.Count(before, "\n")
	if k := strings.LastIndexByte(before, '\n'); k >= 0 {
		before = before[k+1:]
	}
	return line, utf8.RuneCountInString(before)
}

var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// Eval runs the expression against env, a map holding the names described in
// env.go (event, user, now, input/response where allowed, and every declared
// variable with a value of its declared type; see VarType.Coerce). Errors
// carry the expression's position. Safe for concurrent use.
func (e *Expr) Eval(env map[string]any) (any, error) {
	m := vmPool.Get().(*vm.VM)
	defer vmPool.Put(m)
	out, err := m.Run(e.Prog, env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%s: %s: %s", e.Pos, e.Src, fe.Message)
		}
		return nil, fmt.Errorf("%s: %s: %w", e.Pos, e.Src, err)
	}
	return out, nil
}

// EvalBool runs a condition. A nil *Expr (no condition) is true.
func (e *Expr) EvalBool(env map[string]any) (bool, error) {
	if e == nil {
		return true, nil
	}
	out, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("%s: %s: expected bool, got %T", e.Pos, e.Src, out)
	}
	return b, nil
}

// Render evaluates the template's expressions against env and concatenates
// the parts; values are rendered with Format. A nil template renders "".
func (t *Template) Render(env map[string]any) (string, error) {
	if t == nil {
		return "", nil
	}
	if len(t.Localized) > 0 {
		return t.Localized[0].Render(env) // see In for a locale's version
	}
	var b strings.Builder
	b.Grow(len(t.Src))
	for _, p := range t.Parts {
		if p.Expr == nil {
			b.WriteString(p.Lit)
			continue
		}
		v, err := p.Expr.Eval(env)
		if err != nil {
			return "", err
		}
		b.WriteString(Format(v))
	}
	return b.String(), nil
}

// Format renders a value the way templates insert it: strings as they are,
// nil as "", numbers without trailing zeros, times as RFC 3339, lists joined
// with ", ", anything else with fmt.
func Format(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = Format(x)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(v, ", ")
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
