package cli

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/engine"
	"github.com/dmflow/dmflow/examples"
	"github.com/dmflow/dmflow/flows"
	"github.com/dmflow/dmflow/flowtest"
)

// defaultFlowsDir is where serve looks for flows when --flows is not given.
const defaultFlowsDir = "flows"

// flowSource is where serve loads its flows from, again on every reload.
type flowSource struct {
	fsys fs.FS  // nil: the host file system
	path string // file or directory (inside fsys when set)
	desc string // for logs
}

// resolveFlows picks the flows: --flows, else ./flows when it exists, else
// the embedded lead-capture example.
func resolveFlows(cfg *serveConfig) (flowSource, error) {
	if cfg.Flows != "" {
		if _, err := os.Stat(cfg.Flows); err != nil {
			return flowSource{}, configErrorf("flows: %v", err)
		}
		return flowSource{path: cfg.Flows, desc: cfg.Flows}, nil
	}
	// A ./flows directory without flow files (such as the flows Go package of
	// a dmflow checkout) is not taken as the default.
	_, multi, _ := accounts.ReadLayout(defaultFlowsDir)
	if ok, _ := flowtest.HasFlowFiles(defaultFlowsDir); ok || multi {
		return flowSource{path: defaultFlowsDir, desc: "./" + defaultFlowsDir}, nil
	}
	return flowSource{fsys: examples.FS(), path: examples.LeadCaptureDir, desc: "embedded example " + examples.LeadCaptureDir}, nil
}

// load loads and compiles the flows. Flow errors come back as the loader's
// positioned list ("file:line:col: message" per line).
func (src flowSource) load(opts *engine.Options, fo *flows.Options, log *slog.Logger) (*engine.Engine, error) {
	var b *flows.Bundle
	var err error
	if src.fsys != nil {
		b, err = fo.LoadFS(src.fsys, src.path)
	} else {
		b, err = fo.Load(src.path)
	}
	if err != nil {
		return nil, fmt.Errorf("flows %s:\n%w", src.desc, err)
	}
	for _, w := range b.Warnings {
		log.Warn("flow warning", "warning", w.Error())
	}
	e, err := engine.New(b, opts)
	if err != nil {
		return nil, fmt.Errorf("flows %s: %w", src.desc, err)
	}
	return e, nil
}

// engineOptions maps the configuration to engine options.
func engineOptions(cfg *serveConfig) *engine.Options {
	release := cfg.HandoffRelease
	return engineOptionsFor(cfg, accounts.Settings{NotifyURL: cfg.NotifyURL, HandoffRelease: &release})
}

// engineOptionsFor maps the configuration and one account's settings to
// engine options.
func engineOptionsFor(cfg *serveConfig, acct accounts.Settings) *engine.Options {
	release := cfg.HandoffRelease
	if acct.HandoffRelease != nil {
		release = *acct.HandoffRelease
	}
	if release == 0 {
		release = -1 // 0 in the configuration means never; the engine spells it negative
	}
	// The per-step trace costs about half of an untraced step; only the
	// sandbox studio shows live traces (admin replay asks for them per call).
	// Notices are only built when outgoing webhooks will carry them.
	// Drop-off timers feed the funnels of production traffic; the studio's
	// timer list stays the flow's own.
	dropOff := cfg.DropOff
	if cfg.Sandbox() {
		dropOff = 0
	}
	return &engine.Options{HandoffRelease: release, NoTrace: !cfg.Sandbox(), NoNotices: acct.NotifyURL == "", DropOff: dropOff}
}
