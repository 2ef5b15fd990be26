package bot_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
)

const funnelBotFlow = `
flow: shop
start: menu
states:
  menu:
    say: [{text: "menu"}]
    on:
      - {keywords: [buy], goto: buy}
      - say: [{text: "pick buy"}]
  buy: {say: [{text: "bought"}], end: true}
`

// TestAdminStats drives real traffic through the pipeline and reads the
// funnel back from the admin API and the metrics: counters committed with
// each turn, not computed from history.
func TestAdminStats(t *testing.T) {
	fl, err := flows.LoadFS(fstest.MapFS{"shop.yaml": {Data: []byte(funnelBotFlow)}}, "shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(fl, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newSender()
	cfg := testConfig(s)
	cfg.Engine = eng
	b := start(t, cfg)
	ingest(t, b, msg("ann", "a1", "hi"), msg("ann", "a2", "buy"), msg("bob", "b1", "hi"), msg("bob", "b2", "what"))
	eventually(t, "all replies", func() bool { return s.count() == 4 })
	eventually(t, "inbox drained", func() bool { n, err := cfg.Store.InboxDepth(ctx); return err == nil && n == 0 })

	c := adminClient{t, httptest.NewServer(b.AdminHandler("tok"))}
	defer c.srv.Close()
	var got engine.FunnelReport
	if err := json.Unmarshal([]byte(c.call("GET", "/admin/stats?since=7d", "", http.StatusOK)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]engine.FunnelState{
		"menu": {State: "menu", Entered: 2, Left: 1},
		"buy":  {State: "buy", Entered: 1},
	}
	for _, st := range got.States {
		if st != want[st.State] {
			t.Errorf("state %s: %+v, want %+v", st.State, st, want[st.State])
		}
	}
	for _, e := range got.Edges {
		if e.Name == "menu#on0" && e.N != 1 {
			t.Errorf("edge menu#on0 taken %d times, want 1", e.N)
		}
	}
	if got.Graph == "" {
		t.Error("no graph")
	}
	c.call("GET", "/admin/stats?since=soon", "", http.StatusBadRequest)
	c.call("GET", "/admin/stats?flow=nope", "", http.StatusNotFound)
	if n := metric(t, b.Metrics(), "dmflow_funnel_total", "kind", "entered", "flow", "shop", "name", "menu"); n != 2 {
		t.Errorf("dmflow_funnel_total{entered menu} = %v, want 2", n)
	}
}
