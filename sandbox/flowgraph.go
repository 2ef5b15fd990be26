package sandbox

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

// FlowGraph is a flow's diagram for the flow pane: the Mermaid text of
// `dmflow graph` plus what the page needs to highlight states and
// transitions in the rendered SVG.
type FlowGraph struct {
	Flow    string      `json:"flow"`
	Flows   []string    `json:"flows"` // every flow of the bundle, main first
	Mermaid string      `json:"mermaid"`
	States  []GraphNode `json:"states"`
	Edges   []GraphEdge `json:"edges"`
	// Funnel holds the counts of the studio's traffic (api/graph?stats=1):
	// Mermaid is then the graph annotated with them.
	Funnel *engine.Funnel `json:"funnel,omitempty"`
}

// withFunnel annotates g with the funnel counters the pipeline committed
// (the same counters `dmflow admin stats` reads from a production server).
func (s *Sandbox) withFunnel(ctx context.Context, e *engine.Engine, g *FlowGraph) error {
	st, ok := s.cfg.Sessions.(dmflow.Stats)
	if !ok {
		return errors.New("sandbox: the store keeps no funnel counters")
	}
	rows, err := st.FunnelStats(ctx, dmflow.StatsQuery{Flow: g.Flow})
	if err != nil {
		return err
	}
	f, err := e.Funnel(g.Flow, rows)
	if err != nil {
		return err
	}
	text, err := e.FunnelGraph(f)
	if err != nil {
		return err
	}
	g.Funnel, g.Mermaid = f, text
	return nil
}

// GraphNode is a state: ID is its Mermaid id.
type GraphNode struct {
	Name     string `json:"name"`
	ID       string `json:"id"`
	Describe string `json:"describe,omitempty"`
	Pos      string `json:"pos"`
}

// GraphEdge is a transition: Name is the engine's Edge.Name (what "edge"
// visits carry) and SVG the data-id Mermaid gives its arrow ("edge<n>").
type GraphEdge struct {
	Name  string `json:"name"`
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
	Pos   string `json:"pos"`
	SVG   string `json:"svg,omitempty"`
}

var errNoEngine = errors.New("sandbox: the bot's engine cannot draw graphs")

// flowGraph builds the FlowGraph of flow ("" = the main flow).
func flowGraph(e *engine.Engine, flow string) (*FlowGraph, error) {
	f := e.Flow(flow)
	if f == nil {
		return nil, errors.New("sandbox: unknown flow " + strconv.Quote(flow))
	}
	text, err := e.Graph(f.Name, "mermaid")
	if err != nil {
		return nil, err
	}
	g := &FlowGraph{Flow: f.Name, Flows: flowNames(e.Bundle()), Mermaid: text}
	for _, name := range f.Order {
		st := f.States[name]
		g.States = append(g.States, GraphNode{Name: name, ID: mermaidID(name), Describe: st.Describe, Pos: st.Pos.String()})
	}
	g.Edges = svgEdges(text, e.Edges(f.Name))
	return g, nil
}

// flowNames lists the bundle's flows, the main flow first.
func flowNames(b *flows.Bundle) []string {
	names := make([]string, 0, len(b.Flows))
	for name := range b.Flows {
		if name != b.Main {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return append([]string{b.Main}, names...)
}

// svgEdges pairs each engine edge with the Mermaid arrow drawn for it.
// Mermaid numbers arrows in the order of the diagram's "-->" lines, and
// the generator writes the edges in Edges order, so matching the edges'
// endpoints line by line, in order, finds each one's arrow.
func svgEdges(mermaid string, edges []engine.Edge) []GraphEdge {
	type arrow struct{ from, to string }
	var arrows []arrow
	for _, line := range strings.Split(mermaid, "\n") {
		from, rest, ok := strings.Cut(strings.TrimSpace(line), " --> ")
		if ok {
			to, _, _ := strings.Cut(rest, " : ")
			arrows = append(arrows, arrow{from, strings.TrimSpace(to)})
		}
	}
	out := make([]GraphEdge, 0, len(edges))
	next := 0
	for _, ed := range edges {
		ge := GraphEdge{Name: ed.Name, From: ed.From, To: ed.To, Label: ed.Label, Pos: ed.Pos}
		want := arrow{edgeSource(ed), mermaidID(ed.To)}
		for i := next; i < len(arrows); i++ {
			if arrows[i] == want {
				ge.SVG, next = "edge"+strconv.Itoa(i), i+1
				break
			}
		}
		out = append(out, ge)
	}
	return out
}

// edgeSource is the Mermaid id the generator draws an edge from: the start
// pseudo-state, a trigger's "any state" box, or the source state.
func edgeSource(ed engine.Edge) string {
	switch {
	case ed.Name == "@start":
		return "[*]"
	case ed.From == "*":
		return "any_" + strings.TrimPrefix(ed.Name, "@")
	}
	return mermaidID(ed.From)
}

// mermaidID is the generator's Mermaid id of a state (dashes are not
// allowed in ids).
func mermaidID(s string) string { return strings.ReplaceAll(s, "-", "_") }
