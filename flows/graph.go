package flows

// edge is one possible transition of a flow, for checks and graphs.
type edge struct {
	from string // "" for triggers and the start
	kind string // start, next, goto, on_fail, timeout, ...
	to   *Target
	auto bool // taken without waiting for an event
}

// edges lists every transition of f in file order.
func (f *Flow) edges() []edge {
	out := []edge{{kind: "start", to: &Target{State: f.Start, Pos: f.StartPos}}}
	for _, t := range f.Triggers {
		out = append(out, edge{kind: "trigger goto", to: t.Goto})
	}
	for _, name := range f.Order {
		out = append(out, f.States[name].edges()...)
	}
	return nonNil(out)
}

func nonNil(es []edge) []edge {
	var res []edge
	for _, e := range es {
		if e.to != nil {
			res = append(res, e)
		}
	}
	return res
}

func (s *State) edges() []edge {
	waits := s.Ask != nil || len(s.On) > 0
	terminal := s.Action != nil || s.Call != nil || s.Handoff != nil || s.End || s.Return || s.Split != nil
	out := []edge{{s.Name, "next", s.Next, !waits && !terminal}}
	if s.Split != nil {
		for _, v := range s.Split.Variants {
			out = append(out, edge{s.Name, "split goto", v.Goto, true})
		}
	}
	for _, t := range s.On {
		out = append(out, edge{s.Name, "goto", t.Goto, false})
	}
	if s.Ask != nil {
		out = append(out, edge{s.Name, "on_fail", s.Ask.OnFail, false})
	}
	if s.Timeout != nil {
		out = append(out, edge{s.Name, "timeout goto", s.Timeout.Goto, false})
	}
	if a := s.Action; a != nil {
		out = append(out, edge{s.Name, "action next", a.Next, false}, edge{s.Name, "on_error", a.OnError, false}, edge{s.Name, "on_timeout", a.OnTimeout, false})
	}
	if s.Call != nil {
		out = append(out, edge{s.Name, "call return", s.Call.Return, false})
	}
	if s.Handoff != nil {
		out = append(out, edge{s.Name, "handoff next", s.Handoff.Next, false})
	}
	return nonNil(out)
}
