package storetest

import (
	"reflect"
	"time"

	"github.com/dmflow/dmflow"
)

var statsTests = []test{
	{"Counts", testStatsCounts},
	{"ConflictCountsNothing", testStatsConflict},
}

func counts(kvs ...string) []dmflow.Count {
	var out []dmflow.Count
	for i := 0; i+2 < len(kvs)+1; i += 3 {
		out = append(out, dmflow.Count{Kind: kvs[i], Flow: kvs[i+1], Name: kvs[i+2]})
	}
	return out
}

// testStatsCounts: commits add their counts to the hour of Now; queries sum
// the hours ending after Since, filter by flow, sort by flow, kind, name.
func testStatsCounts(h *H) {
	rows, err := h.S.FunnelStats(h.Ctx, dmflow.StatsQuery{})
	h.check(err, "FunnelStats")
	if len(rows) != 0 {
		h.Fatalf("empty store: %+v", rows)
	}
	commit := func(user string, now time.Time, cs []dmflow.Count) {
		h.commit(dmflow.Commit{Key: dmflow.SessionKey{Account: "acct", User: user}, Now: now, Counts: cs})
	}
	commit("u1", T0, counts("entered", "f", "greet", "edge", "f", "@start", "entered", "f", "menu"))
	commit("u2", T0.Add(10*time.Minute), counts("entered", "f", "greet", "ask_failed", "f", "greet"))
	commit("u1", T0.Add(2*time.Hour), counts("entered", "f", "menu", "entered", "g", "x"))
	all := []dmflow.StatRow{
		{Kind: "ask_failed", Flow: "f", Name: "greet", N: 1},
		{Kind: "edge", Flow: "f", Name: "@start", N: 1},
		{Kind: "entered", Flow: "f", Name: "greet", N: 2},
		{Kind: "entered", Flow: "f", Name: "menu", N: 2},
		{Kind: "entered", Flow: "g", Name: "x", N: 1},
	}
	for _, tc := range []struct {
		q    dmflow.StatsQuery
		want []dmflow.StatRow
	}{
		{dmflow.StatsQuery{}, all},
		{dmflow.StatsQuery{Since: T0.Add(-time.Hour)}, all},
		{dmflow.StatsQuery{Since: T0.Add(30 * time.Minute)}, all}, // the hour of T0 ends after Since
		{dmflow.StatsQuery{Since: T0.Add(time.Hour + 30*time.Minute)}, []dmflow.StatRow{
			{Kind: "entered", Flow: "f", Name: "menu", N: 1}, {Kind: "entered", Flow: "g", Name: "x", N: 1}}},
		{dmflow.StatsQuery{Flow: "g"}, []dmflow.StatRow{{Kind: "entered", Flow: "g", Name: "x", N: 1}}},
		{dmflow.StatsQuery{Since: T0.Add(5 * time.Hour)}, []dmflow.StatRow{}},
	} {
		got, err := h.S.FunnelStats(h.Ctx, tc.q)
		h.check(err, "FunnelStats")
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			h.Fatalf("FunnelStats(%+v) =\n%+v\nwant\n%+v", tc.q, got, tc.want)
		}
	}
}

// testStatsConflict: a commit that fails adds no counts.
func testStatsConflict(h *H) {
	k := dmflow.SessionKey{Account: "acct", User: "u1"}
	h.commit(dmflow.Commit{Key: k, Now: T0, Session: &dmflow.Session{Key: k, State: "a"}, Counts: counts("entered", "f", "a")})
	err := h.S.Commit(h.Ctx, dmflow.Commit{Key: k, Now: T0, Session: &dmflow.Session{Key: k, State: "b"}, Counts: counts("entered", "f", "b")})
	h.wantErr(err, dmflow.ErrConflict, "stale version")
	got, err := h.S.FunnelStats(h.Ctx, dmflow.StatsQuery{})
	h.check(err, "FunnelStats")
	if want := []dmflow.StatRow{{Kind: "entered", Flow: "f", Name: "a", N: 1}}; !reflect.DeepEqual(got, want) {
		h.Fatalf("after a conflict: %+v, want %+v", got, want)
	}
}
