package flowtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
)

// coverage counts the states entered and transitions taken per flow, from
// the engine's trace: "enter" entries name "flow/state", "edge" entries name
// "flow/event" where event is an engine.Edge name.
type coverage struct {
	flows map[string]*flowCov // by file + flow name: bundles sharing a file merge
}

type flowCov struct {
	name   string
	file   string
	states []string        // in file order
	edges  []engine.Edge   // all transitions
	seen   map[string]bool // "state:NAME" and "edge:NAME"
}

func newCoverage() *coverage { return &coverage{flows: map[string]*flowCov{}} }

// add registers the flows of an engine's bundle.
func (c *coverage) add(e *engine.Engine) {
	for name, f := range e.Bundle().Flows {
		key := f.Pos.File + "\x00" + name
		if c.flows[key] != nil {
			continue
		}
		c.flows[key] = &flowCov{name: name, file: f.Pos.File, states: stateNames(f.Order, f.States),
			edges: e.Edges(name), seen: map[string]bool{}}
	}
}

func stateNames[V any](order []string, states map[string]V) []string {
	out := make([]string, 0, len(states))
	seen := map[string]bool{}
	for _, n := range order {
		if _, ok := states[n]; ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(states)) {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// visit returns the turn hook that records what an engine's turns visited.
func (c *coverage) visit(e *engine.Engine) func(*dmflow.Turn) {
	keys := map[string]string{}
	for name, f := range e.Bundle().Flows {
		keys[name] = f.Pos.File + "\x00" + name
	}
	return func(t *dmflow.Turn) {
		for _, tr := range t.Trace {
			if tr.What != "enter" && tr.What != "edge" {
				continue
			}
			flow, item, ok := strings.Cut(tr.Detail, "/")
			if fc := c.flows[keys[flow]]; ok && fc != nil {
				kind := "state:"
				if tr.What == "edge" {
					kind = "edge:"
				}
				fc.seen[kind+item] = true
			}
		}
	}
}

// print writes one line per flow (sorted by name, then file); verbose adds
// the transitions never taken.
func (c *coverage) print(w io.Writer, verbose bool) {
	fcs := make([]*flowCov, 0, len(c.flows))
	for _, fc := range c.flows {
		fcs = append(fcs, fc)
	}
	sort.Slice(fcs, func(i, j int) bool {
		if fcs[i].name != fcs[j].name {
			return fcs[i].name < fcs[j].name
		}
		return fcs[i].file < fcs[j].file
	})
	names := map[string]int{}
	for _, fc := range fcs {
		names[fc.name]++
	}
	for _, fc := range fcs {
		label := fc.name
		if names[fc.name] > 1 {
			label += " (" + fc.file + ")"
		}
		fc.print(w, label, verbose)
	}
}

func (fc *flowCov) print(w io.Writer, label string, verbose bool) {
	var missed []string
	for _, s := range fc.states {
		if !fc.seen["state:"+s] {
			missed = append(missed, s)
		}
	}
	var untaken []engine.Edge
	for _, e := range fc.edges {
		if !fc.seen["edge:"+e.Name] {
			untaken = append(untaken, e)
		}
	}
	ns, ne := len(fc.states), len(fc.edges)
	line := fmt.Sprintf("coverage %s: states %d/%d (%s), transitions %d/%d", label, ns-len(missed), ns,
		percent(ns-len(missed), ns), ne-len(untaken), ne)
	if len(missed) > 0 {
		line += " — not visited: " + strings.Join(missed, ", ")
	}
	fmt.Fprintln(w, line)
	if verbose {
		for _, e := range untaken {
			fmt.Fprintf(w, "    not taken: %s → %s (%s) at %s\n", e.From, e.To, e.Label, e.Pos)
		}
	}
}

func percent(n, of int) string {
	if of == 0 {
		return "100%"
	}
	return fmt.Sprintf("%d%%", n*100/of)
}
