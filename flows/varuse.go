package flows

// varUse warns about variables that are never used, and about variables read
// in a state that no path from the start can have set before (they still
// hold their zero value there). Each flow has its own variables, so a flow
// is checked alone: a call sets only what its save maps back.
func (c *checker) varUse() {
	used := map[string]bool{}
	c.f.walk(func(_ *State, _ bool, e *Expr) {
		for _, r := range e.Refs {
			used[r] = true
		}
	})
	if c.f.Locales != nil {
		used[c.f.Locales.Var] = true // the engine reads it to pick texts
	}
	for _, name := range c.f.Order {
		for v := range c.f.States[name].writes(true) {
			used[v] = true
		}
	}
	for _, v := range c.f.Vars {
		if !used[v.Name] && !contains(c.f.Params, v.Name) {
			c.e.warnf(v.Pos, "variable %s is never used", v.Name)
		}
	}
	c.readsBeforeSet()
}

// writes is State.writes (a call writes what its save maps back).
func (c *checker) writes(s *State, all bool) map[string]bool { return s.writes(all) }

// readsBeforeSet runs a may-be-set data flow analysis over the state graph.
func (c *checker) readsBeforeSet() {
	in := c.setOnEntry()
	warned := map[string]bool{}
	c.f.walk(func(s *State, enter bool, e *Expr) {
		if s == nil {
			return
		}
		set := union(in[s.Name], c.writes(s, !enter))
		for _, r := range e.Refs {
			v := c.f.Var(r)
			if v == nil || set[r] || warned[s.Name+"\x00"+r] {
				continue
			}
			warned[s.Name+"\x00"+r] = true
			c.e.warnf(e.Pos, "variable %s is used in state %s before any state can set it (it holds its zero value)", r, s.Name)
		}
	})
}

// setOnEntry computes, for every state, the variables that may have been set
// when it is entered.
func (c *checker) setOnEntry() map[string]map[string]bool {
	initial := map[string]bool{}
	for _, v := range c.f.Vars {
		if v.Default != nil || contains(c.f.Params, v.Name) {
			initial[v.Name] = true
		}
	}
	for _, t := range c.f.Triggers {
		for _, a := range t.Set {
			initial[a.Var] = true
		}
	}
	in := map[string]map[string]bool{c.f.Start: initial}
	for changed := true; changed; {
		changed = false
		all := union(initial)
		for _, name := range c.f.Order {
			all = union(all, in[name], c.writes(c.f.States[name], true))
		}
		for _, name := range c.f.Order {
			s := c.f.States[name]
			out := union(initial, in[name], c.writes(s, true))
			for _, e := range s.edges() {
				changed = merge(in, e.to.State, out) || changed
			}
		}
		for _, t := range c.f.Triggers {
			if t.Goto != nil {
				changed = merge(in, t.Goto.State, all) || changed
			}
		}
		for _, to := range c.f.Migrate {
			changed = merge(in, to, all) || changed
		}
	}
	return in
}

func merge(in map[string]map[string]bool, state string, add map[string]bool) bool {
	cur := in[state]
	if cur == nil {
		cur = map[string]bool{}
		in[state] = cur
	}
	changed := false
	for k := range add {
		if !cur[k] {
			cur[k], changed = true, true
		}
	}
	return changed
}

func union(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	return out
}

// writes lists the variables the state may assign (all phases when all is
// set, else only the enter phase).
func (s *State) writes(all bool) map[string]bool {
	w := map[string]bool{}
	for _, a := range s.Set {
		w[a.Var] = true
	}
	if !all {
		return w
	}
	if s.Ask != nil {
		w[s.Ask.Var] = true
	}
	for _, t := range s.On {
		for _, a := range t.Set {
			w[a.Var] = true
		}
	}
	if s.Action != nil {
		for _, a := range s.Action.Save {
			w[a.Var] = true
		}
	}
	if s.Call != nil {
		for _, sv := range s.Call.Save {
			w[sv.Var] = true
		}
	}
	return w
}

// walk calls fn for every expression of the flow with its state (nil for
// triggers) and whether it runs in the enter phase of the state.
func (f *Flow) walk(fn func(s *State, enter bool, e *Expr)) {
	for _, t := range f.Triggers {
		walkTransition(t, func(e *Expr) { fn(nil, false, e) })
	}
	for _, name := range f.Order {
		s := f.States[name]
		enter := func(e *Expr) { fn(s, true, e) }
		later := func(e *Expr) { fn(s, false, e) }
		walkAssigns(s.Set, enter)
		walkReplies(s.Say, enter)
		if s.Handoff != nil {
			walkTemplate(s.Handoff.Reason, enter)
			walkTemplate(s.Handoff.Metadata, enter)
		}
		if s.Call != nil {
			walkAssigns(s.Call.Args, enter)
		}
		walkAction(s.Action, enter, later)
		if s.Ask != nil {
			walkExpr(s.Ask.Validate, later)
			walkReplies(s.Ask.Retry, later)
		}
		for _, t := range s.On {
			walkTransition(t, later)
		}
		if s.Timeout != nil {
			walkReplies(s.Timeout.Say, later)
		}
	}
}

func walkAction(a *ActionSpec, enter, later func(*Expr)) {
	if a == nil {
		return
	}
	walkTemplate(a.URL, enter)
	for _, k := range sortedKeys(a.Headers) {
		walkTemplate(a.Headers[k], enter)
	}
	walkExpr(a.Body, enter)
	walkAssigns(a.Args, enter)
	walkAssigns(a.Save, later)
}

func walkTransition(t *Transition, fn func(*Expr)) {
	walkExpr(t.When, fn)
	walkAssigns(t.Set, fn)
	walkReplies(t.Say, fn)
}

func walkAssigns(as []*Assign, fn func(*Expr)) {
	for _, a := range as {
		walkExpr(a.Value, fn)
	}
}

func walkReplies(rs []*ReplySpec, fn func(*Expr)) {
	for _, r := range rs {
		walkExpr(r.When, fn)
		for _, t := range r.templates() {
			walkTemplate(t, fn)
		}
	}
}

// templates lists every template of the reply.
func (r *ReplySpec) templates() []*Template {
	ts := []*Template{r.Text, r.Share, r.React, r.PublicReply}
	for _, q := range r.QuickReplies {
		ts = append(ts, q.Title)
	}
	for _, m := range r.Media {
		ts = append(ts, m.URL)
	}
	if r.Buttons != nil {
		ts = append(ts, r.Buttons.Text)
		ts = appendButtons(ts, r.Buttons.Buttons)
	}
	for _, c := range r.Cards {
		ts = append(ts, c.Title, c.Subtitle, c.Image, c.URL)
		ts = appendButtons(ts, c.Buttons)
	}
	return ts
}

func appendButtons(ts []*Template, bs []*ButtonSpec) []*Template {
	for _, b := range bs {
		ts = append(ts, b.Title, b.URL)
	}
	return ts
}

func walkTemplate(t *Template, fn func(*Expr)) {
	if t == nil {
		return
	}
	for _, l := range t.Localized {
		walkTemplate(l.Template, fn)
	}
	for _, p := range t.Parts {
		walkExpr(p.Expr, fn)
	}
}

func walkExpr(e *Expr, fn func(*Expr)) {
	if e != nil {
		fn(e)
	}
}
