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

// The expression environment of the current flow holds event, user, now,
// input, response and every declared variable coerced to its type. It is
// filled lazily: envReady starts it empty for the current machine and event,
// and need gives each name an expression reads its value on first use, so
// a step pays only for the names its expressions mention. The values are
// those an eagerly built env would hold: everything a name depends on
// either stays fixed for the env's lifetime or updates the env (setVar,
// pin) or invalidates it (envM = nil) when it changes.

// noVariants is `user.variants` of a user in no experiment (read only).
var noVariants = map[string]string{}

// noResponse is `response` outside an action's save, boxed once.
var noResponse any = flows.ResponseEnv{}

// envReady starts st.env afresh when it is stale (another machine, event
// or handoff state).
func (st *step) envReady() {
	if st.envM != st.m {
		clear(st.env)
		st.envM = st.m
	}
}

// need makes st.env ready for x: every name it reads has its value.
func (st *step) need(x *flows.Expr) {
	st.envReady()
	if x.Refs == nil { // built by hand, not by flows: names unknown
		st.needAll()
		return
	}
	for _, name := range x.Refs {
		if name == "$env" {
			st.needAll()
			return
		}
		if _, ok := st.env[name]; !ok {
			st.fill(name)
		}
	}
}

// needAll fills every name of the env.
func (st *step) needAll() {
	for _, name := range envNames {
		if _, ok := st.env[name]; !ok {
			st.fill(name)
		}
	}
	for _, vi := range st.m.varList {
		if _, ok := st.env[vi.v.Name]; !ok {
			st.fill(vi.v.Name)
		}
	}
}

// envNames are the names of the env besides the flow's variables.
var envNames = []string{"event", "user", "now", "input", "response", flows.BudgetVar}

// fill sets name's value in st.env; names that are not in the env
// (functions, let variables) are left out.
func (st *step) fill(name string) {
	switch name {
	case "event":
		if st.evBox == nil {
			st.evBox = flows.NewEventEnv(st.ev)
		}
		st.env[name] = st.evBox
	case "user":
		st.env[name] = st.userEnv()
	case "now":
		st.env[name] = st.now
	case "input":
		st.env[name] = nil
	case "response":
		st.env[name] = noResponse
	case flows.BudgetVar:
		st.env[name] = &st.budget
	default:
		if vi := st.m.vars[name]; vi != nil {
			st.env[name] = st.varValue(vi)
		}
	}
}

// varValue is a declared variable's value in its declared type: the
// session's value, or the default when it is unset or unusable.
func (st *step) varValue(vi *varInfo) any {
	v, ok := st.s.Vars[vi.v.Name]
	if !ok || v == nil {
		return vi.def
	}
	if typed(v, vi.v.Type) {
		return v // already in the typed form: no conversion, no allocation
	}
	tv, err := coerce(v, vi.v.Type)
	if err != nil {
		return vi.def
	}
	return tv
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
	if st.e.b.Locales != nil {
		u["locale"] = st.e.Locale(s)
	}
	u["variants"] = noVariants
	if s.Variants != nil {
		u["variants"] = s.Variants
	}
	if p := s.Profile; p != nil {
		if p.Username != "" {
			u["username"] = p.Username
		}
		if p.Name != "" {
			u["name"] = p.Name
		}
		if p.FollowsBusiness != nil {
			u["is_user_follow_business"] = *p.FollowsBusiness
		}
		if p.BusinessFollows != nil {
			u["is_business_follow_user"] = *p.BusinessFollows
		}
		if p.FollowerCount != nil {
			u["follower_count"] = *p.FollowerCount
		}
		if p.Verified != nil {
			u["is_verified_user"] = *p.Verified
		}
		if p.ProfilePic != "" {
			u["profile_pic"] = p.ProfilePic
		}
		if !p.Fetched.IsZero() {
			u["profile_fetched"] = p.Fetched
		}
	}
	return u
}

// eval runs an expression; a run-time error is traced and reported as !ok.
func (st *step) eval(x *flows.Expr, what string) (any, bool) {
	if x == nil || x.Prog == nil {
		return nil, false
	}
	st.need(x)
	out, err := st.vm.Run(x.Prog, st.env)
	if err != nil {
		if st.tracing {
			st.turn.Trace = append(st.turn.Trace, dmflow.TraceEntry{What: "error", Pos: st.e.pos(x.Pos), Expr: x.Src,
				Detail: what + ": " + err.Error()})
		}
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
	if !st.tracing {
		return b
	}
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
	if len(t.Localized) > 0 {
		t = st.localized(t)
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
