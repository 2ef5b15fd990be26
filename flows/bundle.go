package flows

import "sort"

// bundle assembles flows into a Bundle and runs the checks across flows:
// unique names, the main flow, call targets, their params and saves, and
// recursion.
func (o *Options) bundle(all []*Flow, files []string) (*Bundle, ErrorList) {
	var e errs
	b := &Bundle{Flows: map[string]*Flow{}, Files: files}
	for _, f := range all {
		if prev, dup := b.Flows[f.Name]; dup {
			e.errorf(f.Pos, "duplicate flow %q (first defined at %s)", f.Name, prev.Pos)
			continue
		}
		b.Flows[f.Name] = f
	}
	b.Main = mainFlow(all, b, &e)
	checkLocales(all, b, &e)
	checkChannels(all, b, &e)
	for _, f := range all {
		checkCalls(f, b, &e)
	}
	checkRecursion(all, b, &e)
	return b, e.list
}

// mainFlow picks the entry flow: the one marked main, the only one, or the
// one named main.
func mainFlow(all []*Flow, b *Bundle, e *errs) string {
	var marked []*Flow
	for _, f := range all {
		if f.Main {
			marked = append(marked, f)
		}
	}
	switch {
	case len(marked) == 1:
		return marked[0].Name
	case len(marked) > 1:
		for _, f := range marked[1:] {
			e.errorf(f.Pos, "more than one main flow: %s and %s", marked[0].Name, f.Name)
		}
		return marked[0].Name
	case len(b.Flows) == 1:
		return all[0].Name
	case b.Flows["main"] != nil:
		return "main"
	case len(all) > 1:
		names := make([]string, 0, len(b.Flows))
		for n := range b.Flows {
			names = append(names, n)
		}
		sort.Strings(names)
		e.errorf(all[0].Pos, "no main flow among %v: mark one with main: true", names)
	}
	return ""
}

// checkCalls checks every call: the sub-flow exists, args are its params
// with matching types, and required params are passed.
func checkCalls(f *Flow, b *Bundle, e *errs) {
	for _, name := range f.Order {
		c := f.States[name].Call
		if c == nil {
			continue
		}
		sub := b.Flows[c.Flow]
		if sub == nil {
			e.errorf(c.Pos, "call: unknown sub-flow %q", c.Flow)
			continue
		}
		checkArgs(c, sub, e)
		checkSaves(f, c, sub, e)
	}
}

// checkSaves checks a call's save: each name is a variable of the caller,
// saved at most once, each source a variable of the sub-flow whose type fits.
func checkSaves(f *Flow, c *Call, sub *Flow, e *errs) {
	for _, s := range c.Save {
		to, from := f.Var(s.Var), sub.Var(s.From)
		switch {
		case to == nil:
			e.errorf(s.Pos, "call %s: save: %s is not a variable of flow %s", sub.Name, s.Var, f.Name)
		case from == nil:
			e.errorf(s.FromPos, "call %s: save %s: %s is not a variable of flow %s", sub.Name, s.Var, s.From, sub.Name)
		case !assignable(to.Type, from.Type):
			e.errorf(s.FromPos, "call %s: save %s: cannot store %s %s in %s %s", sub.Name, s.Var, from.Type, s.From, to.Type, s.Var)
		}
	}
}

// assignable reports whether a value of variable type from may be stored in
// a variable of type to: the same type, an int into a float, or any (checked
// when the value is stored, like an expression of type any).
func assignable(to, from VarType) bool {
	return to == from || to == TypeAny || from == TypeAny || (to == TypeFloat && from == TypeInt)
}

func checkArgs(c *Call, sub *Flow, e *errs) {
	given := map[string]bool{}
	for _, a := range c.Args {
		given[a.Var] = true
		v := sub.Var(a.Var)
		if v == nil || !contains(sub.Params, a.Var) {
			e.errorf(a.Pos, "call %s: %q is not a param of flow %s (params: %v)", sub.Name, a.Var, sub.Name, sub.Params)
			continue
		}
		if t := a.Value.Prog.Node().Type(); t != nil && !compatible(v.Type, t.String()) {
			e.errorf(a.Value.Pos, "call %s: cannot pass %s as %s param %s", sub.Name, t, v.Type, a.Var)
		}
	}
	for _, p := range sub.Params {
		if v := sub.Var(p); v != nil && v.Default == nil && !given[p] {
			e.errorf(c.Pos, "call %s: missing param %q", sub.Name, p)
		}
	}
}
