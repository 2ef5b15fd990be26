package flows

import "sort"

// bundle assembles flows into a Bundle and runs the checks across flows:
// unique names, the main flow, call targets and their params, and reads
// before set in flows that call sub-flows.
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
	for _, f := range all {
		checkCalls(f, b, &e)
	}
	checkRecursion(all, b, &e)
	for _, f := range all {
		if b.Flows[f.Name] == f {
			f.Warnings = append(f.Warnings, checkReadsAcrossCalls(f, b, &e)...)
			f.Warnings.Sort()
		}
	}
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
	}
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
