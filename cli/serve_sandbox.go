package cli

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	srv "github.com/dmflow/dmflow/server"
)

// sandboxSide is sandbox mode (server.Sandbox: the Graph API double, the
// studio, the per-process webhook secrets) with the double's own 127.0.0.1
// listener.
type sandboxSide struct {
	*srv.Sandbox
	ln    net.Listener
	graph *http.Server
}

// startSandbox creates the double and binds its listener; serveGraph
// serves it once the server is assembled.
func startSandbox(cfg *serveConfig, log *slog.Logger) (*sandboxSide, error) {
	side := &sandboxSide{Sandbox: srv.NewSandbox(srv.SandboxConfig{Account: cfg.SandboxAccount, Logger: log,
		Hosts: []string{cfg.Addr}, Token: cfg.SandboxToken})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen for the Graph API double: %w", err)
	}
	side.ln = ln
	return side, nil
}

// graphURL is the base URL of the double.
func (side *sandboxSide) graphURL() string { return "http://" + side.ln.Addr().String() }

// serveGraph serves the double (wrapped so the studio sees every reply).
func (side *sandboxSide) serveGraph() {
	side.graph = &http.Server{Handler: side.GraphHandler(), ReadHeaderTimeout: 10 * time.Second}
	go side.graph.Serve(side.ln)
}

// close stops the double.
func (side *sandboxSide) close() {
	if side.graph != nil {
		side.graph.Close()
		return
	}
	side.ln.Close()
}

// profiles is the bot's profile lookup: the Graph API client (with its
// cache) when it is one, and in sandbox mode that client asking the double,
// which first learns a profile for the user named after its sandbox id (the
// double, like Instagram, only describes users it knows).
func (s *server) profiles(sender dmflow.Sender) bot.Profiles {
	p, _ := sender.(bot.Profiles) // in sandbox mode server.New wraps it (Sandbox.Profiles)
	return p
}

// clock is the bot's clock: the studio's advanceable clock in sandbox mode,
// else the wall clock (nil: the bot's default).
func (s *server) clock() func() time.Time {
	if s.sandbox == nil {
		return nil
	}
	return s.sandbox.Clock.Now
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
