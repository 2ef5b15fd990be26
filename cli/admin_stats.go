package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/dmflow/dmflow/engine"
)

// stats prints a flow's funnel from GET /admin/stats.
func (c *adminClient) stats(ctx context.Context, fs *flag.FlagSet, _ []string) error {
	q := url.Values{}
	if v := fs.Lookup("since").Value.String(); v != "" {
		q.Set("since", v)
	}
	if v := fs.Lookup("flow").Value.String(); v != "" {
		q.Set("flow", v)
	}
	b, err := c.do(ctx, http.MethodGet, "/admin/stats?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if c.json {
		_, err = c.out.Write(b)
		return err
	}
	var r engine.FunnelReport
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	if fs.Lookup("graph").Value.String() == "true" {
		_, err = io.WriteString(c.out, r.Graph)
		return err
	}
	return funnelTable(c.out, &r)
}

// funnelTable renders a funnel: states, then the transitions taken.
func funnelTable(w io.Writer, r *engine.FunnelReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "flow %s\n\nSTATE\tENTERED\tLEFT\tDROPPED OFF\tHANDED OFF\tFAILED ASKS\n", r.Flow)
	for _, s := range r.States {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", s.State, s.Entered, s.Left, s.DroppedOff, s.HandedOff, s.AskFailed)
	}
	fmt.Fprintf(tw, "\nFROM\tTO\tTAKEN\tTRANSITION\n")
	for _, e := range r.Edges {
		if e.N > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.From, e.To, e.N, e.Label)
		}
	}
	return tw.Flush()
}
