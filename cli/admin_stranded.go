package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"

	"github.com/dmflow/dmflow"
)

// stranded loads the flows at PATH (the version about to be deployed) and
// lists the running server's sessions that would lose their place (their
// flow is gone, or their state is gone without a `migrate` entry: such a
// session restarts at the flow's start) and those a `migrate` entry moves.
// It fails (exit 1) when any is stranded, so a deploy script can stop.
func (c *adminClient) stranded(ctx context.Context, _ *flag.FlagSet, a []string) error {
	b, err := c.flows.Load(a[0])
	if err != nil {
		return fmt.Errorf("flows %s:\n%w", a[0], err)
	}
	r, err := checkStranded(ctx, b, a[0], c.eachSession)
	if err != nil {
		return err
	}
	r.print(c.out)
	return r.err()
}

// eachSession pages through every session of the server (a sessionSource).
func (c *adminClient) eachSession(ctx context.Context, fn func(*dmflow.Session)) error {
	after := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(sessionPage)}}
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
		if len(page) < sessionPage {
			return nil
		}
		after = page[len(page)-1].Key.String()
	}
}
