package engine

import (
	"fmt"
	"strconv"

	"github.com/dmflow/dmflow"
)

// Funnel is one flow's funnel from production counters (dmflow.Stats): per
// state how many sessions entered it, left it by a transition, dropped off
// there, were handed off there and failed its ask; per transition how often
// it was taken. `dmflow admin stats`, the admin API and the studio all
// build it here.
type Funnel struct {
	Flow   string        `json:"flow"`
	States []FunnelState `json:"states"`
	Edges  []FunnelEdge  `json:"edges"`
}

// FunnelState is one state's counters.
type FunnelState struct {
	State      string `json:"state"`
	Entered    int64  `json:"entered"`
	Left       int64  `json:"left"` // transitions taken out of the state (triggers excluded)
	DroppedOff int64  `json:"dropped_off"`
	HandedOff  int64  `json:"handed_off"`
	AskFailed  int64  `json:"ask_failed"`
}

// FunnelEdge is one transition with how often it was taken.
type FunnelEdge struct {
	Edge
	N int64 `json:"n"`
}

// Funnel builds the funnel of flow ("" = main) from counter rows (rows of
// other flows and of states or edges the flow no longer has are ignored).
func (e *Engine) Funnel(flow string, rows []dmflow.StatRow) (*Funnel, error) {
	m := e.machines[e.flowName(flow)]
	if m == nil {
		return nil, fmt.Errorf("engine: funnel: unknown flow %q", flow)
	}
	f := &Funnel{Flow: m.flow.Name}
	idx := map[string]int{}
	for i, name := range stateOrder(m.flow) {
		idx[name] = i
		f.States = append(f.States, FunnelState{State: name})
	}
	edges := map[string]int64{}
	for _, r := range rows {
		if r.Flow != m.flow.Name {
			continue
		}
		if r.Kind == dmflow.CountEdge {
			edges[r.Name] += r.N
			continue
		}
		i, ok := idx[r.Name]
		if !ok {
			continue
		}
		st := &f.States[i]
		switch r.Kind {
		case dmflow.CountEntered:
			st.Entered += r.N
		case dmflow.CountDroppedOff:
			st.DroppedOff += r.N
		case dmflow.CountHandoff:
			st.HandedOff += r.N
		case dmflow.CountAskFailed:
			st.AskFailed += r.N
		}
	}
	for _, ed := range m.edges {
		n := edges[ed.Name]
		f.Edges = append(f.Edges, FunnelEdge{Edge: ed, N: n})
		if i, ok := idx[ed.From]; ok {
			f.States[i].Left += n
		}
	}
	return f, nil
}

// FunnelGraph renders the flow's Mermaid diagram with the counters: each state
// noted with its counts, each transition label followed by ×N.
func (e *Engine) FunnelGraph(f *Funnel) (string, error) {
	m := e.machines[e.flowName(f.Flow)]
	if m == nil {
		return "", fmt.Errorf("engine: funnel graph: unknown flow %q", f.Flow)
	}
	return m.mermaid(f), nil
}

func (f *Funnel) state(name string) *FunnelState {
	if f == nil {
		return nil
	}
	for i := range f.States {
		if f.States[i].State == name {
			return &f.States[i]
		}
	}
	return nil
}

func (f *Funnel) edge(name string) int64 {
	for _, e := range f.Edges {
		if e.Name == name {
			return e.N
		}
	}
	return 0
}

// summary is the state's counters as a short note.
func (s *FunnelState) summary() string {
	out := "entered " + strconv.FormatInt(s.Entered, 10)
	for _, x := range []struct {
		what string
		n    int64
	}{{"dropped off", s.DroppedOff}, {"handed off", s.HandedOff}, {"failed asks", s.AskFailed}} {
		if x.n > 0 {
			out += ", " + x.what + " " + strconv.FormatInt(x.n, 10)
		}
	}
	return out
}

// FunnelReport is a funnel with its annotated Mermaid graph, as the admin
// API serves it.
type FunnelReport struct {
	*Funnel
	Graph string `json:"graph"`
}

// FlowName resolves a flow name ("" = the main flow), or fails for a flow
// the bundle does not have.
func (e *Engine) FlowName(flow string) (string, error) {
	f := e.Flow(flow)
	if f == nil {
		return "", fmt.Errorf("engine: unknown flow %q", flow)
	}
	return f.Name, nil
}

// FunnelReport builds the funnel of flow from counter rows with its graph.
// It returns a *FunnelReport as any, so that the bot serves it without
// depending on the engine package.
func (e *Engine) FunnelReport(flow string, rows []dmflow.StatRow) (any, error) {
	f, err := e.Funnel(flow, rows)
	if err != nil {
		return nil, err
	}
	g, err := e.FunnelGraph(f)
	if err != nil {
		return nil, err
	}
	return &FunnelReport{Funnel: f, Graph: g}, nil
}
