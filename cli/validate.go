package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
	"github.com/dmflow/dmflow/internal/english"
)

func validateCmd(o *Options) *Command {
	var strict, asJSON *bool
	var against, adminToken, channels *string
	return &Command{
		Name:    "validate",
		Summary: "check flow files: every error and warning as file:line:col",
		Usage: `Usage: dmflow validate [--strict] [--json] FILE|DIR...

Loads every bundle exactly as 'dmflow serve' would (a directory with flow
files directly in it is one bundle of those files, its sub-directories not
searched; a directory without flow files is searched recursively for such
bundles; files named together are one bundle) and prints every error
and warning to stderr as file:line:col: message. Exits 1 when a bundle has
errors (or warnings, with --strict); otherwise prints one ok line per bundle.
A message the platform never delivers — a timeout that says something 24 h
or more after the user's last message, alone or through a chain of
timeouts — is an error here (the flow still loads in serve, whose sender
refuses it): Instagram Login apps have no opt-in message to reach a user
outside the messaging window.

With --against DB_OR_URL it then checks the live sessions against the flows
(one bundle): which would be stranded (their state is gone without a
'migrate' entry, or their flow is gone: they restart at the start) and which
a 'migrate' entry moves. DB_OR_URL is a bbolt file (read-only; a file a
running server holds is refused: use its URL), a postgres:// URL, or a
running server's http(s):// URL (admin API, --admin-token or
DMFLOW_ADMIN_TOKEN). Exits 1 when any session would be stranded.

Every declared reply must render on each channel the bundle runs on (e.g.
a heart or a reaction is Instagram-only): one error per reply and
channel, at the reply's position. The channels are the main flow's
'channels: [instagram, messenger]' (default: instagram only), or the
--channels list, which overrides the declaration.`,
		Flags: func(fs *flag.FlagSet) {
			strict = fs.Bool("strict", false, "fail on warnings too")
			asJSON = fs.Bool("json", false, "print one JSON report per bundle on stdout instead of text")
			against = fs.String("against", "", "bbolt file, postgres:// URL or http(s):// server URL whose live sessions the flows must not strand")
			adminToken = fs.String("admin-token", "", "admin token for an http(s) --against (env DMFLOW_ADMIN_TOKEN)")
			channels = fs.String("channels", "", "comma-separated channels the flows must render on, instead of the bundle's channels: (instagram, messenger)")
		},
		Run: func(ctx context.Context, fs *flag.FlagSet, args []string, io IO) int {
			if code, ok := parseFlags(fs, args); !ok {
				return code
			}
			if fs.NArg() == 0 {
				fmt.Fprintln(io.Err, "dmflow validate: name at least one flow file or directory")
				return exitUsage
			}
			chans, err := parseChannels(*channels)
			if err != nil {
				fmt.Fprintln(io.Err, "dmflow validate:", err)
				return exitUsage
			}
			code := runValidate(fs.Args(), o.Flows, *strict, *asJSON, io, chans...)
			if code != exitOK || *against == "" {
				return code
			}
			return runAgainst(ctx, fs.Args(), o.Flows, *against, *adminToken, *asJSON, io)
		},
	}
}

// bundleReport is the outcome of validating one bundle (the --json form).
type bundleReport struct {
	Bundle      string       `json:"bundle"`
	OK          bool         `json:"ok"`
	Main        string       `json:"main,omitempty"`
	Flows       []flowReport `json:"flows,omitempty"`
	Diagnostics []diagnostic `json:"diagnostics"`
	Error       string       `json:"error,omitempty"` // a failure without position
}

type flowReport struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	File    string `json:"file"`
	States  int    `json:"states"`
}

type diagnostic struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"` // error | warning
	Message  string `json:"message"`
}

func runValidate(args []string, fo *flows.Options, strict, asJSON bool, stdio IO, channels ...string) int {
	bs, err := flowtest.FindBundles(args)
	if err != nil {
		return exitFor(stdio.Err, "validate", err)
	}
	code := exitOK
	for _, b := range bs {
		r := validateBundle(b, fo, strict, channels...)
		if !r.OK {
			code = exitFail
		}
		if asJSON {
			enc := json.NewEncoder(stdio.Out)
			enc.SetEscapeHTML(false)
			enc.Encode(r)
			continue
		}
		printReport(stdio, r)
	}
	return code
}

func validateBundle(b flowtest.Bundle, fo *flows.Options, strict bool, channels ...string) bundleReport {
	r := bundleReport{Bundle: b.Name, Diagnostics: []diagnostic{}}
	bundle, err := fo.Load(b.Paths...)
	var list flows.ErrorList
	switch {
	case errors.As(err, &list):
		r.Diagnostics = diagnostics(list)
		return r
	case err != nil:
		r.Error = err.Error()
		return r
	}
	r.Diagnostics = diagnostics(bundle.Warnings)
	if _, err := engine.New(bundle, nil); err != nil {
		r.Error = err.Error()
		return r
	}
	// A message that is never delivered (outside the messaging window) is
	// rejected even without --strict: the flow loads, but validate fails.
	r.OK = !slices.ContainsFunc(bundle.Warnings, func(e *flows.Error) bool { return e.Undeliverable }) &&
		(!strict || len(bundle.Warnings) == 0)
	chans, cd := bundleChannels(bundle, channels)
	cd = append(cd, channelDiagnostics(bundle, chans)...)
	if len(cd) > 0 {
		r.Diagnostics = append(r.Diagnostics, cd...)
		r.OK = false
	}
	r.Main = bundle.Main
	for _, name := range flowOrder(bundle) {
		f := bundle.Flows[name]
		r.Flows = append(r.Flows, flowReport{Name: f.Name, Version: f.Version, File: f.Pos.File, States: len(f.States)})
	}
	return r
}

// flowOrder lists the bundle's flows: the main flow first, then by name.
func flowOrder(b *flows.Bundle) []string {
	names := []string{b.Main}
	for _, n := range slices.Sorted(maps.Keys(b.Flows)) {
		if n != b.Main {
			names = append(names, n)
		}
	}
	return names
}

func diagnostics(list flows.ErrorList) []diagnostic {
	out := make([]diagnostic, len(list))
	for i, e := range list {
		sev := "error"
		if e.Warning && !e.Undeliverable {
			sev = "warning"
		}
		out[i] = diagnostic{File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Severity: sev, Message: e.Msg}
	}
	return out
}

func printReport(stdio IO, r bundleReport) {
	for _, d := range r.Diagnostics {
		sev := ""
		if d.Severity == "warning" {
			sev = "warning: "
		}
		fmt.Fprintf(stdio.Err, "%s:%d:%d: %s%s\n", d.File, d.Line, d.Col, sev, d.Message)
	}
	if r.Error != "" {
		fmt.Fprintf(stdio.Err, "%s: %s\n", r.Bundle, r.Error)
	}
	if r.OK {
		fmt.Fprintf(stdio.Out, "ok   %s: %s\n", r.Bundle, summary(r))
	} else if r.Error == "" && len(r.Diagnostics) > 0 && allWarnings(r.Diagnostics) {
		fmt.Fprintf(stdio.Err, "%s: warnings fail with --strict\n", r.Bundle)
	}
}

func summary(r bundleReport) string {
	names := make([]string, len(r.Flows))
	states := 0
	for i, f := range r.Flows {
		names[i] = f.Name
		states += f.States
	}
	names[0] += " (main)"
	s := fmt.Sprintf("%s; %s", english.Plural(len(r.Flows), "flow")+" "+strings.Join(names, ", "), english.Plural(states, "state"))
	if n := len(r.Diagnostics); n > 0 {
		s += "; " + english.Plural(n, "warning")
	}
	return s
}

func allWarnings(ds []diagnostic) bool {
	for _, d := range ds {
		if d.Severity != "warning" {
			return false
		}
	}
	return true
}
