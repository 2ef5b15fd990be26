package flows

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9_-]+$`)
	stateRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Allowed keys, per YAML mapping.
var (
	flowKeys  = []string{"flow", "version", "description", "main", "start", "params", "vars", "triggers", "migrate", "states", "settle", "entry", "locales", "lookup_media", "channels"}
	stateKeys = []string{"describe", "set", "say", "ask", "on", "next", "timeout", "handoff", "end", "call", "return", "action", "split", "settle", "refresh_profile"}
	varKeys   = []string{"type", "default"}
	trigKeys  = []string{"keywords", "when", "set", "say", "goto", "handoff"}
	onKeys    = []string{"keywords", "when", "set", "say", "goto"}
	askKeys   = []string{"var", "type", "choices", "validate", "retry", "max_attempts", "on_fail"}
	tmoKeys   = []string{"after", "goto", "say"}
	hoKeys    = []string{"reason", "release_after", "next", "inbox", "metadata"}
	callKeys  = []string{"flow", "args", "save", "return"}
	actKeys   = []string{"name", "http", "go", "args", "timeout", "retries", "save", "next", "on_error", "on_timeout", "while_pending"}
	httpKeys  = []string{"method", "url", "headers", "body"}
	splitKeys = []string{"experiment", "variants"}
	varntKeys = []string{"name", "weight", "goto"}
)

func (d *decoder) decodeFlow(doc *yaml.Node) *Flow {
	if len(doc.Content) == 0 {
		d.errorf(d.pos(doc), "empty YAML document")
		return nil
	}
	root := doc.Content[0]
	m := d.mapping(root, "flow", flowKeys...)
	if !d.require(root, m, "flow", "flow", "start", "states") {
		return nil
	}
	f := &Flow{Pos: d.pos(root), Version: 1, States: map[string]*State{}}
	d.flow = f
	if name, ok := d.str(m.get("flow"), "flow name"); ok {
		if !nameRE.MatchString(name) {
			d.errorf(d.pos(m.get("flow")), "flow name %q must match [a-z0-9_-]+", name)
		}
		f.Name = name
	}
	d.flowScalars(f, m)
	if v := m.get("lookup_media"); v != nil {
		f.LookupMedia, _ = d.boolean(v, "lookup_media")
	}
	d.vars(m.get("vars"))
	d.env = baseEnv(f.Vars)
	d.locales(m.get("locales"))
	d.channels(m.get("channels"))
	d.params(m.get("params"))
	d.states(m.get("states"))
	d.triggers(m.get("triggers"))
	d.entry(m.get("entry"))
	d.migrate(m.get("migrate"))
	return f
}

func (d *decoder) flowScalars(f *Flow, m *fields) {
	if n := m.get("version"); n != nil {
		if v, ok := d.integer(n, "version"); ok && v < 1 {
			d.errorf(d.pos(n), "version must be >= 1")
		} else if ok {
			f.Version = v
		}
	}
	if n := m.get("description"); n != nil {
		f.Description, _ = d.str(n, "description")
	}
	if n := m.get("main"); n != nil {
		f.Main, _ = d.boolean(n, "main")
	}
	n := m.get("start")
	f.Start, _ = d.str(n, "start")
	f.StartPos = d.pos(n)
	if n := m.get("settle"); n != nil {
		f.Settle, _ = d.settle(n)
		f.SettlePos = d.pos(n)
	}
}

// settle decodes a settle window: a duration up to MaxSettle, or 0s / off.
func (d *decoder) settle(n *yaml.Node) (time.Duration, bool) {
	if s, ok := d.str(n, "settle"); !ok {
		return 0, false
	} else if s == "0" || s == "0s" || s == "off" {
		return 0, true
	}
	v, ok := d.duration(n, "settle")
	if !ok {
		return 0, false
	}
	if v > MaxSettle {
		d.errorf(d.pos(n), "settle must be at most %s (0s or off turns it off), got %s", fmtDuration(MaxSettle), fmtDuration(v))
		return 0, false
	}
	return v, true
}

// split decodes a state's A/B split.
func (d *decoder) split(n *yaml.Node) *SplitSpec {
	if n == nil {
		return nil
	}
	m := d.mapping(n, "split", splitKeys...)
	if !d.require(n, m, "split", "experiment", "variants") {
		return nil
	}
	sp := &SplitSpec{Pos: d.pos(n)}
	if v := m.get("experiment"); v != nil {
		if name, ok := d.str(v, "split experiment"); ok {
			if !nameRE.MatchString(name) {
				d.errorf(d.pos(v), "split experiment %q must match [a-z0-9_-]+", name)
			}
			sp.Experiment = name
		}
	}
	seen := map[string]*Variant{}
	total := 0
	for _, item := range d.seq(m.get("variants"), "split variants") {
		vm := d.mapping(item, "variant", varntKeys...)
		if !d.require(item, vm, "variant", "name", "weight", "goto") {
			continue
		}
		v := &Variant{Pos: d.pos(item)}
		if name, ok := d.str(vm.get("name"), "variant name"); ok {
			if !nameRE.MatchString(name) {
				d.errorf(d.pos(vm.get("name")), "variant name %q must match [a-z0-9_-]+", name)
			}
			if prev := seen[name]; prev != nil {
				d.errorf(d.pos(vm.get("name")), "variant %q is already declared at %s", name, prev.Pos)
			}
			seen[name] = v
			v.Name = name
		}
		if w, ok := d.integer(vm.get("weight"), "variant weight"); ok {
			if w < 0 || w > 1_000_000 {
				d.errorf(d.pos(vm.get("weight")), "variant weight must be between 0 and 1000000, got %d", w)
			} else {
				v.Weight = w
				total += w
			}
		}
		v.Goto = d.target(vm.get("goto"), "goto")
		sp.Variants = append(sp.Variants, v)
	}
	if len(sp.Variants) > 0 && total == 0 {
		d.errorf(sp.Pos, "split %s: the variants' weights add up to 0 (at least one needs a weight above 0)", sp.Experiment)
	}
	if m.has("variants") && len(sp.Variants) == 0 {
		d.errorf(d.pos(m.get("variants")), "split %s needs at least one variant", sp.Experiment)
	}
	return sp
}

func (d *decoder) vars(n *yaml.Node) {
	if n == nil {
		return
	}
	m := d.mapping(n, "vars")
	if m == nil {
		return
	}
	for _, name := range m.order {
		k, v := m.keys[name], m.vals[name]
		switch {
		case !identRE.MatchString(name):
			d.errorf(d.pos(k), "variable name %q must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", name)
			continue
		case contains(Reserved, name) || isBuiltin(name) || Helpers[name] != "" || d.opts.isFunc(name):
			d.errorf(d.pos(k), "variable name %q is reserved", name)
			continue
		}
		if vr := d.variable(name, k, v); vr != nil {
			d.flow.Vars = append(d.flow.Vars, vr)
		}
	}
}

func (o *Options) isFunc(name string) bool {
	if name == "list_concat" {
		return true
	}
	if o == nil {
		return false
	}
	_, ok := o.Funcs[name]
	return ok
}

func (d *decoder) variable(name string, k, v *yaml.Node) *Var {
	vr := &Var{Name: name, Pos: d.pos(k)}
	typ, def := v, (*yaml.Node)(nil)
	if v.Kind == yaml.MappingNode {
		m := d.mapping(v, "variable "+name, varKeys...)
		if !d.require(v, m, "variable "+name, "type") {
			return nil
		}
		typ, def = m.get("type"), m.get("default")
	}
	s, ok := d.str(typ, "variable type")
	if !ok {
		return nil
	}
	vr.Type = VarType(s)
	if !vr.Type.valid() {
		d.errorf(d.pos(typ), "unknown variable type %q (string, int, float, bool, time, []string, map, any)", s)
		return nil
	}
	if def != nil {
		vr.Default = d.defaultValue(vr.Type, def)
	}
	return vr
}

func (t VarType) valid() bool {
	switch t {
	case TypeString, TypeInt, TypeFloat, TypeBool, TypeTime, TypeList, TypeMap, TypeAny:
		return true
	}
	return false
}

// defaultValue decodes a variable's default, coerced to its type.
func (d *decoder) defaultValue(t VarType, n *yaml.Node) any {
	var raw any
	if err := n.Decode(&raw); err != nil {
		d.errorf(d.pos(n), "default: %v", err)
		return nil
	}
	v, err := t.Coerce(normalize(raw))
	if err != nil {
		d.errorf(d.pos(n), "default: %v", err)
		return nil
	}
	return v
}

func (d *decoder) params(n *yaml.Node) {
	if n == nil {
		return
	}
	items := []*yaml.Node{n}
	if n.Kind != yaml.ScalarNode {
		items = d.seq(n, "params")
	}
	for _, it := range items {
		p, ok := d.str(it, "param")
		if !ok {
			continue
		}
		if d.flow.Var(p) == nil {
			d.errorf(d.pos(it), "param %q is not a declared variable", p)
		}
		d.flow.Params = append(d.flow.Params, p)
	}
}

func (d *decoder) states(n *yaml.Node) {
	m := d.mapping(n, "states")
	if m == nil {
		return
	}
	for _, name := range m.order {
		k := m.keys[name]
		switch {
		case !stateRE.MatchString(name):
			d.errorf(d.pos(k), "state name %q must match [A-Za-z0-9_-]+", name)
		}
		st := &State{Name: name, Pos: d.pos(k)}
		d.flow.States[name] = st
		d.flow.Order = append(d.flow.Order, name)
		d.state(st, m.vals[name])
	}
}

func (d *decoder) state(st *State, n *yaml.Node) {
	m := d.mapping(n, "state "+st.Name, stateKeys...)
	if m == nil {
		return
	}
	if v := m.get("describe"); v != nil {
		st.Describe, _ = d.str(v, "describe")
	}
	st.Set = d.assigns(m.get("set"), "set", scopeBase)
	st.Say = d.replies(m.get("say"), "say")
	st.Ask = d.ask(m.get("ask"))
	st.On = d.transitions(m.get("on"), "on", onKeys)
	st.Next = d.target(m.get("next"), "next")
	st.Timeout = d.timeout(m.get("timeout"))
	st.Handoff = d.handoff(m.get("handoff"))
	if v := m.get("end"); v != nil {
		st.End, _ = d.boolean(v, "end")
	}
	if v := m.get("return"); v != nil {
		st.Return, _ = d.boolean(v, "return")
	}
	st.Call = d.call(m.get("call"))
	st.Action = d.action(m.get("action"), st.Name)
	st.Split = d.split(m.get("split"))
	if v := m.get("settle"); v != nil {
		if w, ok := d.settle(v); ok {
			st.Settle, st.SettlePos = &w, d.pos(v)
		}
	}
	if v := m.get("refresh_profile"); v != nil {
		st.RefreshProfile, _ = d.boolean(v, "refresh_profile")
		if st.RefreshProfile && st.Ask == nil && len(st.On) == 0 {
			d.errorf(d.pos(v), "state %s: refresh_profile needs a state that waits (ask or on): the profile is fetched again when input arrives there", st.Name)
		}
	}
	d.exclusive(st, m)
}

// exclusive reports states combining phases that cannot run together.
func (d *decoder) exclusive(st *State, m *fields) {
	var kinds []string
	for _, k := range []string{"action", "call", "handoff", "end", "return", "split"} {
		if v := m.get(k); v != nil && !(v.Tag == "!!bool" && v.Value == "false") {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) > 1 {
		d.errorf(st.Pos, "state %s: %s cannot be combined (a state does at most one of action, call, handoff, end, return, split)", st.Name, strings.Join(kinds, " and "))
	}
	if len(kinds) == 0 {
		return
	}
	for _, k := range []string{"ask", "on", "next"} {
		if m.has(k) {
			d.errorf(d.pos(m.keys[k]), "state %s: %s cannot be combined with %s", st.Name, k, kinds[0])
		}
	}
}

func (d *decoder) assigns(n *yaml.Node, what string, s scope) []*Assign {
	if n == nil {
		return nil
	}
	m := d.mapping(n, what)
	if m == nil {
		return nil
	}
	var out []*Assign
	for _, name := range m.order {
		k := m.keys[name]
		a := &Assign{Var: name, Pos: d.pos(k)}
		a.Value = d.expr(m.vals[name], what+" "+name, s, false)
		if a.Value == nil {
			continue
		}
		if vr := d.flow.Var(name); vr == nil {
			d.errorf(a.Pos, "%s: variable %q is not declared", what, name)
		} else {
			d.assignable(a, vr.Type)
		}
		out = append(out, a)
	}
	return out
}

// assignable checks the static type of a.Value against t.
func (d *decoder) assignable(a *Assign, t VarType) {
	got := a.Value.Prog.Node().Type()
	if got == nil || !compatible(t, got.String()) {
		if got != nil {
			d.errorf(a.Value.Pos, "cannot assign %s to %s variable %s", got, t, a.Var)
		}
	}
}

// compatible reports whether a value of Go type named got may be stored in a
// variable of type t (the engine coerces int to float and lists to []string).
func compatible(t VarType, got string) bool {
	if t == TypeAny || got == "interface {}" {
		return true
	}
	switch t {
	case TypeString:
		return got == "string"
	case TypeInt:
		return got == "int" || got == "int64"
	case TypeFloat:
		return got == "float64" || got == "int" || got == "int64"
	case TypeBool:
		return got == "bool"
	case TypeTime:
		return got == "time.Time"
	case TypeList:
		return strings.HasPrefix(got, "[]")
	case TypeMap:
		return strings.HasPrefix(got, "map[string]")
	}
	return false
}

func (d *decoder) target(n *yaml.Node, what string) *Target {
	if n == nil {
		return nil
	}
	s, ok := d.str(n, what)
	if !ok {
		return nil
	}
	return &Target{State: s, Pos: d.pos(n)}
}

func (d *decoder) transitions(n *yaml.Node, what string, keys []string) []*Transition {
	if n == nil {
		return nil
	}
	var out []*Transition
	for _, item := range d.seq(n, what) {
		if t := d.transition(item, what, keys); t != nil {
			out = append(out, t)
		}
	}
	return out
}

func (d *decoder) transition(n *yaml.Node, what string, keys []string) *Transition {
	m := d.mapping(n, what+" entry", keys...)
	if m == nil {
		return nil
	}
	t := &Transition{Pos: d.pos(n)}
	if v := m.get("keywords"); v != nil {
		for _, k := range d.strList(v, "keywords") {
			t.Keywords = append(t.Keywords, strings.ToLower(strings.TrimSpace(k)))
		}
		if len(t.Keywords) == 0 {
			d.errorf(d.pos(v), "keywords must not be empty")
		}
	}
	if v := m.get("when"); v != nil {
		t.When = d.expr(v, "when", scopeBase, true)
	}
	t.Set = d.assigns(m.get("set"), "set", scopeBase)
	t.Say = d.replies(m.get("say"), "say")
	t.Goto = d.target(m.get("goto"), "goto")
	if v := m.get("handoff"); v != nil {
		t.Handoff, _ = d.boolean(v, "handoff")
	}
	if t.Goto == nil && !t.Handoff && what == "triggers" && len(t.Say) == 0 && len(t.Set) == 0 {
		d.errorf(t.Pos, "trigger does nothing: it needs goto, handoff, say or set")
	}
	if t.Goto != nil && t.Handoff {
		d.errorf(t.Pos, "trigger has both goto and handoff")
	}
	return t
}

func (d *decoder) triggers(n *yaml.Node) {
	d.flow.Triggers = d.transitions(n, "triggers", trigKeys)
	for _, t := range d.flow.Triggers {
		if t.When == nil && len(t.Keywords) == 0 {
			d.errorf(t.Pos, "trigger needs keywords or when (a trigger without a condition would match every event)")
		}
	}
}

func (d *decoder) migrate(n *yaml.Node) {
	if n == nil {
		return
	}
	m := d.mapping(n, "migrate")
	if m == nil {
		return
	}
	d.flow.Migrate = map[string]string{}
	for _, from := range m.order {
		to, ok := d.str(m.vals[from], "migrate target")
		if !ok {
			continue
		}
		d.flow.Migrate[from] = to
		if d.flow.States[to] == nil {
			d.errorf(d.pos(m.vals[from]), "migrate %s: unknown target state %q", from, to)
		}
		if d.flow.States[from] != nil {
			d.warnf(d.pos(m.keys[from]), "migrate: state %q still exists, so its sessions are not moved to %s", from, to)
		}
	}
}

func (d *decoder) ask(n *yaml.Node) *Ask {
	if n == nil {
		return nil
	}
	m := d.mapping(n, "ask", askKeys...)
	if !d.require(n, m, "ask", "var") {
		return nil
	}
	a := &Ask{Pos: d.pos(n), Type: AskText}
	a.Var, _ = d.str(m.get("var"), "ask var")
	if v := m.get("type"); v != nil {
		s, _ := d.str(v, "ask type")
		a.Type = AskType(s)
		if !a.Type.valid() {
			d.errorf(d.pos(v), "unknown ask type %q (text, number, email, phone, url, date, choice, attachment)", s)
			a.Type = AskText
		}
	}
	a.Input = d.askInput(a, m.get("var"))
	if v := m.get("choices"); v != nil {
		a.Choices = d.strList(v, "choices")
	}
	if (a.Type == AskChoice) != (len(a.Choices) > 0) {
		d.errorf(a.Pos, "ask: choices are required for type choice and only allowed there")
	}
	if v := m.get("validate"); v != nil {
		d.input = a.Input
		a.Validate = d.expr(v, "validate", scopeInput, true)
	}
	a.Retry = d.replies(m.get("retry"), "retry")
	if v := m.get("max_attempts"); v != nil {
		if x, ok := d.integer(v, "max_attempts"); ok && x < 1 {
			d.errorf(d.pos(v), "max_attempts must be >= 1")
		} else {
			a.MaxAttempts = x
		}
	}
	a.OnFail = d.target(m.get("on_fail"), "on_fail")
	if (a.MaxAttempts > 0) != (a.OnFail != nil) {
		d.errorf(a.Pos, "ask: max_attempts and on_fail go together")
	}
	return a
}

func (t AskType) valid() bool {
	switch t {
	case AskText, AskNumber, AskEmail, AskPhone, AskURL, AskDate, AskChoice, AskAttachment:
		return true
	}
	return false
}

// askInput checks the ask's variable and returns the type of `input`.
func (d *decoder) askInput(a *Ask, n *yaml.Node) VarType {
	want := map[AskType][]VarType{AskNumber: {TypeFloat, TypeInt, TypeAny}, AskDate: {TypeTime, TypeAny}}[a.Type]
	if want == nil {
		want = []VarType{TypeString, TypeAny}
	}
	vr := d.flow.Var(a.Var)
	if vr == nil {
		d.errorf(d.pos(n), "ask: variable %q is not declared", a.Var)
		return want[0]
	}
	for _, t := range want {
		if vr.Type == t {
			if t == TypeAny {
				return want[0]
			}
			return t
		}
	}
	d.errorf(d.pos(n), "ask: type %s cannot be stored in %s variable %s", a.Type, vr.Type, a.Var)
	return want[0]
}

func (d *decoder) timeout(n *yaml.Node) *Timeout {
	if n == nil {
		return nil
	}
	m := d.mapping(n, "timeout", tmoKeys...)
	if !d.require(n, m, "timeout", "after") {
		return nil
	}
	t := &Timeout{Pos: d.pos(n)}
	t.After, _ = d.duration(m.get("after"), "timeout after")
	t.Say = d.replies(m.get("say"), "say")
	t.Goto = d.target(m.get("goto"), "goto")
	if t.Goto == nil && len(t.Say) == 0 {
		d.errorf(t.Pos, "timeout needs goto or say")
	}
	return t
}

func (d *decoder) handoff(n *yaml.Node) *HandoffSpec {
	if n == nil {
		return nil
	}
	h := &HandoffSpec{Pos: d.pos(n)}
	if n.Kind == yaml.ScalarNode {
		if on, ok := d.boolean(n, "handoff"); !ok || !on {
			return nil
		}
		return h
	}
	m := d.mapping(n, "handoff", hoKeys...)
	if m == nil {
		return nil
	}
	if v := m.get("reason"); v != nil {
		h.Reason = d.template(v, "reason", scopeBase)
	}
	if v := m.get("release_after"); v != nil {
		h.ReleaseAfter, _ = d.duration(v, "release_after")
	}
	if v := m.get("inbox"); v != nil {
		h.Inbox, _ = d.boolean(v, "inbox")
	}
	if v := m.get("metadata"); v != nil {
		h.Metadata = d.template(v, "metadata", scopeBase)
		if !h.Inbox {
			d.errorf(d.pos(v), "handoff metadata travels with the thread to the inbox: it needs inbox: true")
		}
	}
	h.Next = d.target(m.get("next"), "next")
	return h
}

func (d *decoder) call(n *yaml.Node) *Call {
	if n == nil {
		return nil
	}
	m := d.mapping(n, "call", callKeys...)
	if !d.require(n, m, "call", "flow", "return") {
		return nil
	}
	c := &Call{Pos: d.pos(n)}
	c.Flow, _ = d.str(m.get("flow"), "call flow")
	c.Return = d.target(m.get("return"), "return")
	if v := m.get("args"); v != nil {
		c.Args = d.rawAssigns(v, "args")
	}
	if v := m.get("save"); v != nil {
		c.Save = d.callSaves(v)
	}
	return c
}

// callSaves decodes `save: {caller_var: subflow_var}`; the names are checked
// against both flows in the bundle (checkCalls).
func (d *decoder) callSaves(n *yaml.Node) []*CallSave {
	m := d.mapping(n, "call save")
	if m == nil {
		return nil
	}
	var out []*CallSave
	for _, name := range m.order {
		from, ok := d.str(m.vals[name], "call save "+name)
		if !ok {
			continue
		}
		out = append(out, &CallSave{Var: name, From: from, Pos: d.pos(m.keys[name]), FromPos: d.pos(m.vals[name])})
	}
	return out
}

// rawAssigns compiles name: expr pairs whose names are not this flow's
// variables (sub-flow params, Go action args).
func (d *decoder) rawAssigns(n *yaml.Node, what string) []*Assign {
	m := d.mapping(n, what)
	if m == nil {
		return nil
	}
	var out []*Assign
	for _, name := range m.order {
		if e := d.expr(m.vals[name], what+" "+name, scopeBase, false); e != nil {
			out = append(out, &Assign{Var: name, Value: e, Pos: d.pos(m.keys[name])})
		}
	}
	return out
}

var idempotent = map[string]bool{"GET": true, "HEAD": true, "PUT": true, "DELETE": true, "OPTIONS": true}

func (d *decoder) action(n *yaml.Node, state string) *ActionSpec {
	if n == nil {
		return nil
	}
	m := d.mapping(n, "action", actKeys...)
	if !d.require(n, m, "action", "next") {
		return nil
	}
	a := &ActionSpec{Pos: d.pos(n), Name: state, WhilePending: "queue", Timeout: 10 * time.Second}
	if v := m.get("name"); v != nil {
		a.Name, _ = d.str(v, "action name")
	}
	switch {
	case m.has("http") == m.has("go"):
		d.errorf(a.Pos, "action needs exactly one of http or go")
	case m.has("http"):
		a.Kind = "http"
		d.httpAction(a, m.get("http"))
		if m.has("args") {
			d.errorf(d.pos(m.keys["args"]), "args are for go actions; an http action sends body")
		}
	default:
		a.Kind = "go"
		a.Name, _ = d.str(m.get("go"), "go action name")
		if v := m.get("args"); v != nil {
			a.Args = d.rawAssigns(v, "args")
		}
		d.goAction(a, m.get("go"))
	}
	d.actionOptions(a, m)
	return a
}

func (d *decoder) actionOptions(a *ActionSpec, m *fields) {
	if v := m.get("timeout"); v != nil {
		a.Timeout, _ = d.duration(v, "action timeout")
	}
	if v := m.get("retries"); v != nil {
		if r, ok := d.integer(v, "retries"); ok && (r < 0 || r > 10) {
			d.errorf(d.pos(v), "retries must be between 0 and 10")
		} else {
			a.Retries = r
		}
		if a.Kind == "http" && a.Retries > 0 && !idempotent[a.Method] {
			d.errorf(d.pos(v), "retries are only allowed for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS), not %s", a.Method)
		}
	}
	d.actionTime(a, m)
	if v := m.get("save"); v != nil {
		a.Save = d.assigns(v, "save", scopeResponse)
	}
	a.Next = d.target(m.get("next"), "next")
	a.OnError = d.target(m.get("on_error"), "on_error")
	a.OnTimeout = d.target(m.get("on_timeout"), "on_timeout")
	if v := m.get("while_pending"); v != nil {
		a.WhilePending, _ = d.str(v, "while_pending")
		if a.WhilePending != "queue" && a.WhilePending != "ignore" {
			d.errorf(d.pos(v), "while_pending must be queue or ignore")
		}
	}
}

// actionTime reports an action whose attempts together may outlast
// MaxActionTime, at its timeout (else its retries).
func (d *decoder) actionTime(a *ActionSpec, m *fields) {
	worst := a.Timeout * time.Duration(a.Retries+1)
	if worst <= MaxActionTime {
		return
	}
	n := m.get("timeout")
	if n == nil {
		n = m.get("retries")
	}
	plural := "s"
	if a.Retries == 0 {
		plural = ""
	}
	d.errorf(d.pos(n), "action %s may take %v (%d attempt%s of timeout %v); at most %v is allowed: lower timeout or retries",
		a.Name, worst, a.Retries+1, plural, a.Timeout, MaxActionTime)
}

func (d *decoder) httpAction(a *ActionSpec, n *yaml.Node) {
	m := d.mapping(n, "http", httpKeys...)
	if !d.require(n, m, "http", "url") {
		return
	}
	a.Method = "GET"
	if v := m.get("method"); v != nil {
		s, _ := d.str(v, "method")
		a.Method = strings.ToUpper(s)
		if !idempotent[a.Method] && a.Method != "POST" && a.Method != "PATCH" {
			d.errorf(d.pos(v), "unknown HTTP method %q", s)
		}
	}
	a.URL = d.requestURL(m.get("url"))
	if v := m.get("headers"); v != nil {
		a.Headers = d.requestHeaders(v)
	}
	if v := m.get("body"); v != nil {
		a.Body = d.expr(v, "body", scopeBase, false)
	}
}

// goAction checks a Go action against the registered signatures, if any.
func (d *decoder) goAction(a *ActionSpec, n *yaml.Node) {
	if d.opts == nil || d.opts.Actions == nil {
		return
	}
	sig, ok := d.opts.Actions[a.Name]
	if !ok {
		d.errorf(d.pos(n), "unknown go action %q", a.Name)
		return
	}
	given := map[string]bool{}
	for _, arg := range a.Args {
		given[arg.Var] = true
		t, ok := sig.Args[arg.Var]
		if !ok {
			d.errorf(arg.Pos, "go action %s has no argument %q", a.Name, arg.Var)
			continue
		}
		d.assignable(arg, t)
	}
	for _, r := range sig.Required {
		if !given[r] {
			d.errorf(a.Pos, "go action %s: missing required argument %q", a.Name, r)
		}
	}
}

var (
	refRE  = regexp.MustCompile(`^[A-Za-z0-9_=-]+$`)
	adIDRE = regexp.MustCompile(`^[0-9]{1,32}$`)
)

// entry decodes `entry:`, a mapping from an ig.me/ad ref (or "ad:<ad id>")
// to a state: a referral carrying it goes there before any trigger. Each
// pair becomes a trigger at the front of Triggers (`event.ref == "REF"` or
// `event.ad_id == "ID"`, goto state), so it behaves like one everywhere.
func (d *decoder) entry(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(d.pos(n), "entry must be a mapping of ref (or ad:ID) to state")
		return
	}
	var out []*Transition
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		src := ""
		if id, ok := strings.CutPrefix(k.Value, "ad:"); ok {
			if !adIDRE.MatchString(id) {
				d.errorf(d.pos(k), "entry %q: an ad id is digits (ad:6045…)", k.Value)
				continue
			}
			src = "event.ad_id == " + strconv.Quote(id)
		} else {
			if len(k.Value) > 2083 || !refRE.MatchString(k.Value) {
				d.errorf(d.pos(k), "entry %q: a ref is 1 to 2083 characters of A-Z a-z 0-9 _ - = (Instagram's ig.me ref)", k.Value)
				continue
			}
			src = "event.ref == " + strconv.Quote(k.Value)
		}
		t := &Transition{Pos: d.pos(k), When: d.compile(k, src, 0, 0, scopeBase, true), Goto: d.target(v, "entry state")}
		if t.When != nil && t.Goto != nil {
			out = append(out, t)
		}
	}
	d.flow.Triggers = append(out, d.flow.Triggers...)
}
