package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// This file is the stranded-session check shared by `dmflow admin
// stranded` (sessions from the admin API) and `dmflow validate --against`
// (sessions from the admin API, a bbolt file or PostgreSQL).

// sessionPage is how many sessions one store or admin request lists.
const sessionPage = 1000

// sessionSource calls fn for every stored session, in key order.
type sessionSource func(ctx context.Context, fn func(*dmflow.Session)) error

// storeSessions pages through the sessions of st.
func storeSessions(st dmflow.Sessions) sessionSource {
	return func(ctx context.Context, fn func(*dmflow.Session)) error {
		var after dmflow.SessionKey
		for {
			page, err := st.ListSessions(ctx, dmflow.SessionFilter{After: after, Limit: sessionPage})
			if err != nil {
				return fmt.Errorf("list sessions: %w", err)
			}
			for _, s := range page {
				fn(s)
			}
			if len(page) < sessionPage {
				return nil
			}
			after = page[len(page)-1].Key
		}
	}
}

// sessionOutcome is what a new flow version does to one live session.
type sessionOutcome struct {
	Session string `json:"session"`
	Flow    string `json:"flow"`
	Version int    `json:"version"`
	State   string `json:"state"`
	Why     string `json:"why"`
}

// strandedReport is the outcome of checking live sessions against the
// flows about to be deployed.
type strandedReport struct {
	Flows    string           `json:"flows"`
	Checked  int              `json:"checked"`
	Stranded []sessionOutcome `json:"stranded"` // restart at the flow's start (or its flow is gone)
	Migrated []sessionOutcome `json:"migrated"` // move by a `migrate` entry
}

// checkStranded classifies every session of each against bundle b.
func checkStranded(ctx context.Context, b *flows.Bundle, name string, each sessionSource) (*strandedReport, error) {
	return checkStrandedBy(ctx, func(string) *flows.Bundle { return b }, name, each)
}

// checkStrandedBy is checkStranded with the bundle of each session's
// account (a bundle per account); a session whose account has none is
// stranded.
func checkStrandedBy(ctx context.Context, bundleFor func(account string) *flows.Bundle, name string, each sessionSource) (*strandedReport, error) {
	r := &strandedReport{Flows: name, Stranded: []sessionOutcome{}, Migrated: []sessionOutcome{}}
	err := each(ctx, func(s *dmflow.Session) {
		r.Checked++
		stranded, migrated := "", ""
		if b := bundleFor(s.Key.Account); b != nil {
			stranded, migrated = sessionFate(b, s)
		} else {
			stranded = "no bundle for account " + s.Key.Account + " and no default bundle"
		}
		o := sessionOutcome{Session: s.Key.String(), Flow: s.Flow, Version: s.FlowVersion, State: s.State}
		switch {
		case stranded != "":
			o.Why = stranded
			r.Stranded = append(r.Stranded, o)
		case migrated != "":
			o.Why = migrated
			r.Migrated = append(r.Migrated, o)
		}
	})
	return r, err
}

// print writes one line per stranded, then per migrated session, and the
// summary.
func (r *strandedReport) print(w io.Writer) {
	if len(r.Stranded)+len(r.Migrated) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tFLOW\tVERSION\tSTATE\tOUTCOME")
		for _, o := range r.Stranded {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\tstranded: %s\n", o.Session, o.Flow, o.Version, o.State, o.Why)
		}
		for _, o := range r.Migrated {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\tmigrated: %s\n", o.Session, o.Flow, o.Version, o.State, o.Why)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "%d sessions checked, %d stranded, %d migrated by %s\n", r.Checked, len(r.Stranded), len(r.Migrated), r.Flows)
}

// err is non-nil when a session would be stranded.
func (r *strandedReport) err() error {
	if n := len(r.Stranded); n > 0 {
		return fmt.Errorf("%d sessions would lose their place; add migrate entries or keep the states", n)
	}
	return nil
}

// sessionFate says why s cannot continue where it is under bundle b
// (stranded), or how a `migrate` entry moves it (migrated); both are ""
// when it continues as it is.
func sessionFate(b *flows.Bundle, s *dmflow.Session) (stranded, migrated string) {
	if s.Ended || s.State == "" {
		return "", ""
	}
	stranded, migrated = placeFate(b, s.Flow, s.State)
	for _, fr := range s.Stack {
		if stranded != "" {
			break
		}
		gone, moved := placeFate(b, fr.Flow, fr.State)
		if gone != "" {
			stranded = "caller " + gone
		} else if moved != "" && migrated == "" {
			migrated = "caller " + moved
		}
	}
	return stranded, migrated
}

func placeFate(b *flows.Bundle, flow, state string) (stranded, migrated string) {
	f := b.Flows[flow]
	if f == nil {
		return fmt.Sprintf("flow %q is gone", flow), ""
	}
	if _, ok := f.States[state]; ok {
		return "", ""
	}
	if to, ok := f.Migrate[state]; ok {
		return "", fmt.Sprintf("state %q of flow %q moves to %q", state, flow, to)
	}
	return fmt.Sprintf("state %q is gone and flow %q has no migrate entry for it (restarts at %q)", state, flow, f.Start), ""
}
