package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// env0 makes st.env the expression environment of the current flow:
// event, user, now, and every declared variable coerced to its type.
func (st *step) env0() {
	if st.envM == st.m {
		return
	}
	env, s := st.env, st.s
	clear(env)
	env["event"] = st.evBox
	env["user"] = st.userEnv()
	env["now"] = st.now
	env["input"] = nil
	env["response"] = flows.ResponseEnv{}
	for _, vi := range st.m.varList {
		v, ok := s.Vars[vi.v.Name]
		if !ok || v == nil {
			env[vi.v.Name] = vi.def
			continue
		}
		if typed(v, vi.v.Type) {
			env[vi.v.Name] = v // already in the typed form: no conversion, no allocation
			continue
		}
		tv, err := coerce(v, vi.v.Type)
		if err != nil {
			tv = vi.def
		}
		env[vi.v.Name] = tv
	}
	st.envM = st.m
}

// userEnv is `user`: a map so that unknown profile fields are missing and
// `user.username ?? "there"` works (flows compiles user as a typed map).
// The map is step scratch, reused across env rebuilds.
func (st *step) userEnv() map[string]any {
	s, u := st.s, st.userMap
	if u == nil {
		u = make(map[string]any, 5)
		st.userMap = u
	}
	clear(u)
	u["id"], u["account"], u["handed_off"] = s.Key.User, s.Key.Account, s.Handoff != nil
	if p := s.Profile; p != nil {
		if p.Username != "" {
			u["username"] = p.Username
		}
		if p.Name != "" {
			u["name"] = p.Name
		}
	}
	return u
}

// eval runs an expression; a run-time error is traced and reported as !ok.
func (st *step) eval(x *flows.Expr, what string) (any, bool) {
	if x == nil || x.Prog == nil {
		return nil, false
	}
	st.env0()
	out, err := st.vm.Run(x.Prog, st.env)
	if err != nil {
		st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: "error", Pos: st.e.pos(x.Pos), Expr: x.Src,
			Detail: what + ": " + err.Error()})
		return nil, false
	}
	return out, true
}

// cond evaluates a condition and traces it with its result. A run-time
// error counts as false.
func (st *step) cond(x *flows.Expr, what, pos string) bool {
	out, ok := st.eval(x, what)
	b, _ := out.(bool)
	b = b && ok
	if pos == "" {
		pos = st.e.pos(x.Pos)
	}
	st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: what, Pos: pos, Expr: x.Src, Result: b})
	return b
}

// text renders a template. Expressions that fail render as "" (traced).
func (st *step) text(t *flows.Template) string {
	if t == nil {
		return ""
	}
	if len(t.Parts) == 1 && t.Parts[0].Expr == nil {
		return t.Parts[0].Lit
	}
	b := st.buf[:0]
	for _, p := range t.Parts {
		if p.Expr == nil {
			b = append(b, p.Lit...)
			continue
		}
		v, _ := st.eval(p.Expr, "template")
		b = appendValue(b, v)
	}
	st.buf = b
	return string(b)
}

// appendValue formats a template value: strings as is, numbers in their
// shortest form, times as RFC 3339, nil as nothing.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return b
	case string:
		return append(b, v...)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	default:
		return append(b, flows.Format(v)...)
	}
}

// typed reports whether v already has the representation expressions
// expect for t (see flows.VarType.Coerce).
func typed(v any, t flows.VarType) bool {
	switch x := v.(type) {
	case string:
		return t == flows.TypeString || t == flows.TypeAny
	case int:
		return t == flows.TypeInt || t == flows.TypeAny
	case float64:
		return t == flows.TypeFloat || t == flows.TypeAny
	case bool:
		return t == flows.TypeBool || t == flows.TypeAny
	case map[string]any:
		return t == flows.TypeMap || t == flows.TypeAny
	case []any:
		if t != flows.TypeList {
			return t == flows.TypeAny
		}
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return t == flows.TypeAny
}

// coerce converts a stored (JSON-form) or computed value to the Go type the
// flow's expressions were compiled for (flows.VarType.Coerce).
func coerce(v any, t flows.VarType) (any, error) {
	if t == "" {
		t = flows.TypeAny
	}
	return t.Coerce(v)
}

// stored converts a typed value to the JSON-compatible form sessions hold
// (string, bool, int, float64, []any, map[string]any, nil).
func stored(v any) any {
	switch v := v.(type) {
	case nil, string, bool, int, float64:
		return v
	case int64:
		return int(v)
	case int32:
		return int(v)
	case float32:
		return float64(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = stored(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = stored(e)
		}
		return out
	}
	b, err := json.Marshal(v) // structs (event, user, response) and other types
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return string(b)
	}
	return dmflow.NormalizeValue(out)
}
