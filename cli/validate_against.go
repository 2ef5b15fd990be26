package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
)

// againstTimeout bounds reading the live sessions for validate --against.
const againstTimeout = 5 * time.Minute

// runAgainst checks the live sessions of source (a bbolt file, a
// postgres:// URL or a running server's http(s):// URL) against the one
// valid bundle of args and reports the stranded and migrated ones. It
// exits 1 when a session would be stranded or the sessions cannot be read.
func runAgainst(ctx context.Context, args []string, fo *flows.Options, source, token string, asJSON bool, stdio IO) int {
	if bundleFor, name, ok, code := accountBundles(args, stdio); ok || code != exitOK {
		if !ok {
			return code
		}
		return reportAgainst(ctx, bundleFor, name, source, token, asJSON, stdio)
	}
	bs, err := flowtest.FindBundles(args)
	if err != nil {
		return exitFor(stdio.Err, "validate", err)
	}
	if len(bs) != 1 {
		fmt.Fprintf(stdio.Err, "dmflow validate: --against checks one bundle (the flows serve will load), got %d\n", len(bs))
		return exitUsage
	}
	b, err := fo.Load(bs[0].Paths...)
	if err != nil {
		return exitFor(stdio.Err, "validate", err)
	}
	return reportAgainst(ctx, func(string) *flows.Bundle { return b }, bs[0].Name, source, token, asJSON, stdio)
}

// reportAgainst checks source's sessions against the bundles and prints
// the report.
func reportAgainst(ctx context.Context, bundleFor func(string) *flows.Bundle, name, source, token string, asJSON bool, stdio IO) int {
	ctx, cancel := context.WithTimeout(ctx, againstTimeout)
	defer cancel()
	r, err := checkAgainstBy(ctx, bundleFor, name, source, token, stdio)
	if err != nil {
		fmt.Fprintf(stdio.Err, "dmflow validate --against: %v\n", err)
		return errExitCode(err)
	}
	if asJSON {
		enc := json.NewEncoder(stdio.Out)
		enc.SetEscapeHTML(false)
		enc.Encode(r)
	} else {
		r.print(stdio.Out)
	}
	if err := r.err(); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow validate --against: %v\n", err)
		return exitFail
	}
	return exitOK
}

// checkAgainstBy opens source, checks its sessions against the bundle of
// each session's account and closes it again.
func checkAgainstBy(ctx context.Context, b func(account string) *flows.Bundle, name, source, token string, stdio IO) (*strandedReport, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		c, err := againstAdmin(source, token, stdio)
		if err != nil {
			return nil, err
		}
		return checkStrandedBy(ctx, b, name, c.eachSession)
	}
	cfg := &serveConfig{DB: source}
	if isPostgresURL(source) {
		cfg = &serveConfig{StoreURL: source}
	}
	st, _, err := openStoreReadOnly(ctx, cfg)
	if errors.Is(err, errBoltLocked) {
		return nil, fmt.Errorf("%w\n  ask the server instead: dmflow validate --against http://127.0.0.1:8080 --admin-token … %s", err, name)
	}
	if err != nil {
		return nil, errors.New(redactURL(err.Error(), cfg))
	}
	defer st.Close()
	return checkStrandedBy(ctx, b, name, storeSessions(st))
}

// againstAdmin is the admin API client for a running server.
func againstAdmin(base, token string, stdio IO) (*adminClient, error) {
	if token == "" {
		token, _ = stdio.Env("DMFLOW_ADMIN_TOKEN")
	}
	if err := checkHTTPURL("--against", base); err != nil {
		return nil, err
	}
	if token == "" {
		return nil, configErrorf("reading sessions from %s needs the admin token: --admin-token or DMFLOW_ADMIN_TOKEN", base)
	}
	return &adminClient{base: strings.TrimRight(base, "/"), token: token, out: stdio.Out,
		hc: &http.Client{Timeout: time.Minute}}, nil
}
