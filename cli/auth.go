package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/internal/secure"
)

func authCmd() *Command {
	return &Command{
		Name:    "auth",
		Summary: "connect an Instagram account (OAuth) and store its token",
		Usage: `Usage: dmflow auth [--paste] [flags]

Runs Business Login for Instagram: prints the consent URL (with a random
CSRF state), receives the authorization code, exchanges it for a 60-day
token, asks GET /me for the account id, stores the token in the store
(--db or --store) and subscribes the account to webhooks. 'dmflow serve'
then uses and refreshes it; no INSTAGRAM_ACCESS_TOKEN is needed.

The code arrives in one of two ways:
  - the redirect URI is http://127.0.0.1:PORT/… or http://localhost:PORT/…:
    auth listens there and the browser comes back to it by itself;
  - otherwise (or with --paste): after approving, copy the address the
    browser was sent to (it holds ?code=…&state=…) and paste it here.

Needs INSTAGRAM_CLIENT_ID, INSTAGRAM_CLIENT_SECRET and INSTAGRAM_REDIRECT_URI.
With a bbolt file, stop the server first (the file is locked while it runs).`,
		Flags: func(fs *flag.FlagSet) {
			declareFlags(fs, "config", "db", "store", "client-id", "client-secret", "redirect-uri",
				"graph-url", "graph-version", "log-format", "log-level")
			fs.Bool("paste", false, "paste the redirect address instead of listening for it")
			fs.Bool("no-subscribe", false, "do not subscribe the account to webhooks")
			fs.Duration("timeout", 10*time.Minute, "how long to wait for the authorization")
		},
		Run: runAuth,
	}
}

func runAuth(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, log, ok := configure("auth", fs, stdio, (*serveConfig).validateAuth)
	if !ok {
		return exitUsage
	}
	timeout, _ := time.ParseDuration(fs.Lookup("timeout").Value.String())
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a := &authRun{cfg: cfg, log: log, io: stdio, oauth: newOAuth(cfg, log), state: randomHex(24),
		paste: fs.Lookup("paste").Value.String() == "true", subscribe: fs.Lookup("no-subscribe").Value.String() != "true"}
	if err := a.run(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow auth: %v\n", redactURL(err.Error(), cfg))
		return errExitCode(err)
	}
	return exitOK
}

// newOAuth configures Business Login. A DMFLOW_GRAPH_URL other than the
// default (a test double) serves the consent dialog and the code exchange
// too.
func newOAuth(cfg *serveConfig, log *slog.Logger) *instagram.OAuth {
	o := &instagram.OAuth{
		ClientID: cfg.Instagram.ClientID, ClientSecret: cfg.Instagram.ClientSecret,
		RedirectURI: cfg.Instagram.RedirectURI, GraphBaseURL: cfg.Instagram.GraphURL,
		Version: cfg.Instagram.APIVersion, Logger: log,
	}
	if strings.TrimRight(cfg.Instagram.GraphURL, "/") != instagram.DefaultGraphURL {
		o.AuthBaseURL, o.APIBaseURL = cfg.Instagram.GraphURL, cfg.Instagram.GraphURL
	}
	return o
}

// authRun is one `dmflow auth`.
type authRun struct {
	cfg       *serveConfig
	log       *slog.Logger
	io        IO
	oauth     *instagram.OAuth
	state     string
	paste     bool
	subscribe bool
}

func (a *authRun) run(ctx context.Context) error {
	st, desc, err := openStore(ctx, a.cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	code, err := a.code(ctx)
	if err != nil {
		return err
	}
	tok, err := a.oauth.Authorize(ctx, code)
	if err != nil {
		return err
	}
	if err := st.PutToken(ctx, tok); err != nil {
		return fmt.Errorf("store the token: %w", err)
	}
	fmt.Fprintf(a.io.Out, "connected @%s (account %s); token stored in %s, expires %s\n",
		tok.Username, tok.Account, desc, tok.ExpiresAt.Format(time.DateOnly))
	if a.subscribe {
		return a.subscribeWebhooks(ctx, tok)
	}
	return nil
}

func (a *authRun) subscribeWebhooks(ctx context.Context, tok dmflow.Token) error {
	c := instagram.NewClient(instagram.ClientConfig{
		BaseURL: a.cfg.Instagram.GraphURL, Version: a.cfg.Instagram.APIVersion,
		Tokens: instagram.StaticTokens{tok.Account: tok.AccessToken}, Logger: a.log,
	})
	if err := c.Subscribe(ctx, tok.Account, nil); err != nil {
		return fmt.Errorf("token stored, but subscribing the account to webhooks failed (rerun, or use --no-subscribe and the App Dashboard): %w", err)
	}
	fmt.Fprintf(a.io.Out, "subscribed account %s to webhooks (%s)\n", tok.Account, strings.Join(instagram.DefaultFields, ", "))
	return nil
}

// code obtains the authorization code: from a local callback listener
// when the redirect URI is on this machine, else pasted by the user.
func (a *authRun) code(ctx context.Context) (string, error) {
	redirect, _ := url.Parse(a.cfg.Instagram.RedirectURI)
	authURL := a.oauth.AuthorizeURL(a.state)
	if !a.paste && loopbackHost(redirect.Hostname()) {
		return a.listen(ctx, redirect, authURL)
	}
	fmt.Fprintf(a.io.Out, "1. Open this address and approve:\n\n   %s\n\n", authURL)
	fmt.Fprintf(a.io.Out, "2. Paste the address your browser was sent to (%s?code=…):\n> ", a.cfg.Instagram.RedirectURI)
	line, err := readLine(ctx, a.io.In)
	if err != nil {
		return "", fmt.Errorf("read the pasted address: %w", err)
	}
	return a.parseCallback(line)
}

// parseCallback takes the code from a pasted redirect address (checking
// its state, or reporting the refused consent it carries) or a bare code.
func (a *authRun) parseCallback(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "code=") && !strings.Contains(s, "error=") {
		if s == "" {
			return "", errors.New("nothing pasted")
		}
		return strings.TrimSuffix(s, "#_"), nil // a bare code: no state to check
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("pasted address: %w", err)
	}
	return a.checkQuery(u.Query())
}

// checkQuery validates a callback query: consent not refused, state equal
// to ours (constant time), a code present.
func (a *authRun) checkQuery(q url.Values) (string, error) {
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w: consent refused: %s (%s)", instagram.ErrOAuth, e, q.Get("error_description"))
	}
	state := strings.TrimSuffix(q.Get("state"), "#_")
	if !secure.Equal(state, a.state) {
		return "", fmt.Errorf("%w: the state does not match this run (an old or forged link?)", instagram.ErrOAuth)
	}
	code := strings.TrimSuffix(q.Get("code"), "#_")
	if code == "" {
		return "", fmt.Errorf("%w: no code in the callback", instagram.ErrOAuth)
	}
	return code, nil
}

// listen serves the redirect URI's path on its loopback host:port until
// the browser comes back with a valid code.
func (a *authRun) listen(ctx context.Context, redirect *url.URL, authURL string) (string, error) {
	ln, err := net.Listen("tcp", redirect.Host)
	if err != nil {
		return "", fmt.Errorf("listen on the redirect URI's %s: %w (or use --paste)", redirect.Host, err)
	}
	codes := make(chan string, 1)
	path := redirect.Path
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		code, err := a.checkQuery(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "dmflow: authorization received; you can close this tab.")
		select {
		case codes <- code:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		// Shutdown, not Close: the handler that delivered the code is still
		// writing its answer to the browser.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(a.io.Out, "Open this address and approve; the browser comes back to %s:\n\n   %s\n\n", a.cfg.Instagram.RedirectURI, authURL)
	select {
	case code := <-codes:
		return code, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no authorization received: %w", ctx.Err())
	}
}

// readLine reads one line from r, giving up when ctx ends.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	lines := make(chan string, 1)
	errs := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			errs <- err
			return
		}
		lines <- line
	}()
	select {
	case l := <-lines:
		return l, nil
	case err := <-errs:
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
