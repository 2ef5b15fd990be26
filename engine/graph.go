package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dmflow/dmflow"
)

// Graph renders a flow's state machine ("" = the main flow) as a Mermaid
// state diagram (format "mermaid" or "") or Graphviz ("dot"): every state,
// and every transition the engine can take (on, next, timeout, triggers,
// ask on_fail, action outcomes, call return, handoff release). The output
// is deterministic: states in file order, transitions in declaration order.
func (e *Engine) Graph(flow, format string) (string, error) {
	m := e.machines[e.flowName(flow)]
	if m == nil {
		return "", fmt.Errorf("engine: graph: unknown flow %q", flow)
	}
	switch format {
	case "", "mermaid":
		return m.mermaid(nil), nil
	case "dot":
		return m.dot(), nil
	}
	return "", fmt.Errorf("engine: graph: unknown format %q (want mermaid or dot)", format)
}

// kindNote is the marker shown next to a state that does something special.
func (si *stateInfo) kindNote() string {
	switch x := si.st; {
	case x.End:
		return "end"
	case x.Return:
		return "return"
	case x.Handoff != nil:
		return "handoff"
	case x.Action != nil:
		return "action"
	case x.Call != nil:
		return "call " + x.Call.Flow
	case x.Split != nil:
		return "split " + x.Split.Experiment
	case x.Ask != nil:
		return "ask " + x.Ask.Var
	}
	return ""
}

func (m *machine) mermaid(fu *Funnel) string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s\n", mermaidID(m.flow.Start))
	for _, name := range stateOrder(m.flow) {
		si := m.states[name]
		note := si.kindNote()
		if fs := fu.state(name); fs != nil {
			note = strings.TrimPrefix(note+", "+fs.summary(), ", ")
		}
		if note != "" {
			fmt.Fprintf(&b, "    %s : %s (%s)\n", mermaidID(name), name, mermaidLabel(note))
		}
		if si.st.End || (si.st.Return) {
			fmt.Fprintf(&b, "    %s --> [*]\n", mermaidID(name))
		}
	}
	for _, ed := range m.edges {
		if ed.Name == m.startEv {
			continue
		}
		from := mermaidID(ed.From)
		if ed.From == "*" { // a trigger: from any state
			from = "any_" + strings.TrimPrefix(ed.Name, "@")
			fmt.Fprintf(&b, "    state \"any state\" as %s\n", from)
		}
		label := ed.Label
		if fu != nil {
			label += " ×" + strconv.FormatInt(fu.edge(ed.Name), 10)
		}
		fmt.Fprintf(&b, "    %s --> %s : %s\n", from, mermaidID(ed.To), mermaidLabel(label))
	}
	return b.String()
}

// mermaidID makes a state name safe as a Mermaid state id (dashes are not).
func mermaidID(s string) string { return strings.ReplaceAll(s, "-", "_") }

func mermaidLabel(s string) string {
	r := strings.NewReplacer("\n", " ", ":", "#58;", ";", "#59;", "\"", "#quot;", "{", "#123;", "}", "#125;")
	return r.Replace(s)
}

func (m *machine) dot() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n    rankdir=LR;\n    __start [shape=point];\n", strconv.Quote(m.flow.Name))
	for _, name := range stateOrder(m.flow) {
		si := m.states[name]
		shape := "box"
		if si.st.End || si.st.Return {
			shape = "doublecircle"
		}
		label := name
		if note := si.kindNote(); note != "" {
			label += "\n(" + note + ")"
		}
		fmt.Fprintf(&b, "    %s [shape=%s, label=%s];\n", strconv.Quote(name), shape, strconv.Quote(label))
	}
	fmt.Fprintf(&b, "    __start -> %s;\n", strconv.Quote(m.flow.Start))
	for _, ed := range m.edges {
		switch {
		case ed.Name == m.startEv:
		case ed.From == "*":
			fmt.Fprintf(&b, "    %s [shape=plaintext, label=\"any state\"];\n    %s -> %s [label=%s, style=dashed];\n",
				strconv.Quote("*"+ed.Name), strconv.Quote("*"+ed.Name), strconv.Quote(ed.To), strconv.Quote(ed.Label))
		default:
			fmt.Fprintf(&b, "    %s -> %s [label=%s];\n", strconv.Quote(ed.From), strconv.Quote(ed.To), strconv.Quote(ed.Label))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// Visit is a state entered ("enter") or a transition taken ("edge") during
// a step, read back from its trace.
type Visit struct {
	What  string // "enter" or "edge"
	Flow  string
	Name  string // state name, or the Edge.Name of the transition
	Index int    // index of the entry in the trace
}

// Visits lists the states entered and transitions taken in a step's trace,
// in order. Trace entries with What "enter" carry "flow/state" in Detail,
// entries with What "edge" carry "flow/<Edge.Name>" (or "flow/move → state"
// and "flow/migrate → state" for jumps without a declared transition).
func Visits(trace []dmflow.TraceEntry) []Visit {
	var out []Visit
	for i, t := range trace {
		if t.What != "enter" && t.What != "edge" {
			continue
		}
		flow, name, ok := strings.Cut(t.Detail, "/")
		if ok {
			out = append(out, Visit{What: t.What, Flow: flow, Name: name, Index: i})
		}
	}
	return out
}
