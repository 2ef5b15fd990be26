package dmflow

import (
	"context"
	"time"
)

// Funnel counter kinds (Count.Kind, StatRow.Kind).
const (
	// CountEntered: a session entered the state (Name).
	CountEntered = "entered"
	// CountEdge: a session took the transition Name (the engine's edge
	// name, as engine.Edge.Name: "menu#on0", "greet#next", "@trigger1",
	// "@start", "greet#split:a").
	CountEdge = "edge"
	// CountHandoff: the state (Name) handed the conversation to a human.
	CountHandoff = "handoff"
	// CountAskFailed: an answer to the state's (Name) ask was invalid.
	CountAskFailed = "ask_failed"
	// CountDroppedOff: the session waited in the state (Name) and got no
	// further input within the drop-off window (engine.Options.DropOff).
	CountDroppedOff = "dropped_off"
)

// Count is one funnel counter increment of a turn: cheap, precomputed
// names only, committed with the turn (Commit.Counts) so production
// traffic builds per-state and per-transition funnels without a scan of
// history.
type Count struct {
	Kind string `json:"kind"`
	Flow string `json:"flow"`
	Name string `json:"name"` // state, or edge for CountEdge
}

// StatsQuery selects funnel counters.
type StatsQuery struct {
	Since time.Time // counters of hours that end after Since (zero: all)
	Flow  string    // "" = every flow
}

// StatRow is one summed funnel counter.
type StatRow struct {
	Kind string `json:"kind"`
	Flow string `json:"flow"`
	Name string `json:"name"`
	N    int64  `json:"n"`
}

// StatsBucket is the granularity funnel counters are kept at: a commit adds
// its counts to the hour of Commit.Now.
const StatsBucket = time.Hour

// Stats reads the funnel counters that commits add (Commit.Counts).
type Stats interface {
	// FunnelStats returns the counters of q summed over their hours, one
	// row per (kind, flow, name) with N > 0, sorted by flow, kind, name.
	FunnelStats(ctx context.Context, q StatsQuery) ([]StatRow, error)
}
