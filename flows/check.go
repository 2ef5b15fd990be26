package flows

// check runs the static checks of one flow (see doc.go).
func check(f *Flow, e *errs) {
	c := &checker{f: f, e: e}
	c.targets()
}

type checker struct {
	f *Flow
	e *errs
}

// targets reports transitions to states that do not exist.
func (c *checker) targets() {
	for _, t := range c.f.edges() {
		if t.to != nil && c.f.States[t.to.State] == nil {
			c.e.errorf(t.to.Pos, "%s: unknown state %q", t.kind, t.to.State)
		}
	}
}
