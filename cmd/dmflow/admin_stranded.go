package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// strandedPage is how many sessions one admin request lists.
const strandedPage = 1000

// stranded loads the flows at PATH (the version about to be deployed) and
// lists the running server's sessions that would lose their place: their
// flow is gone, or their state is gone without a `migrate` entry (such a
// session restarts at the flow's start). It fails (exit 1) when any is
// found, so a deploy script can stop.
func (c *adminClient) stranded(ctx context.Context, _ *flag.FlagSet, a []string) error {
	b, err := flows.Load(a[0])
	if err != nil {
		return fmt.Errorf("flows %s:\n%w", a[0], err)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tFLOW\tVERSION\tSTATE\tWHY")
	total, bad := 0, 0
	err = c.eachSession(ctx, func(s *dmflow.Session) {
		total++
		if why := strandedReason(b, s); why != "" {
			bad++
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Key, s.Flow, s.FlowVersion, s.State, why)
		}
	})
	tw.Flush()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "%d sessions checked, %d stranded by %s\n", total, bad, a[0])
	if bad > 0 {
		return fmt.Errorf("%d sessions would lose their place; add migrate entries or keep the states", bad)
	}
	return nil
}

// eachSession pages through every session of the server.
func (c *adminClient) eachSession(ctx context.Context, fn func(*dmflow.Session)) error {
	after := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(strandedPage)}}
		if after != "" {
			q.Set("after", after)
		}
		body, err := c.do(ctx, http.MethodGet, "/admin/sessions?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		var page []*dmflow.Session
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("decode sessions: %w", err)
		}
		for _, s := range page {
			fn(s)
		}
		if len(page) < strandedPage {
			return nil
		}
		after = page[len(page)-1].Key.String()
	}
}

// strandedReason says why s cannot continue where it is under bundle b,
// or "" when it can.
func strandedReason(b *flows.Bundle, s *dmflow.Session) string {
	if s.Ended || s.State == "" {
		return ""
	}
	if why := placeGone(b, s.Flow, s.State); why != "" {
		return why
	}
	for _, fr := range s.Stack {
		if why := placeGone(b, fr.Flow, fr.State); why != "" {
			return "caller " + why
		}
	}
	return ""
}

func placeGone(b *flows.Bundle, flow, state string) string {
	f := b.Flows[flow]
	if f == nil {
		return fmt.Sprintf("flow %q is gone", flow)
	}
	if _, ok := f.States[state]; ok {
		return ""
	}
	if _, ok := f.Migrate[state]; ok {
		return ""
	}
	return fmt.Sprintf("state %q is gone and flow %q has no migrate entry for it (restarts at %q)", state, flow, f.Start)
}
