package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/internal/english"
)

// setupTimeout bounds one `dmflow instagram setup`.
const setupTimeout = 2 * time.Minute

func instagramCmd() *Command {
	return &Command{
		Name:    "instagram",
		Summary: "set up the Instagram account: ice breakers, persistent menu, webhook subscription",
		Usage: `Usage: dmflow instagram setup [flags]

Sets the account's ice breakers and persistent menu from the configuration
(instagram.ice_breakers and instagram.persistent_menu in the config file, or
the file named by --messenger-profile), subscribes the account to webhooks
(POST subscribed_apps with the default fields), then prints what the Graph
API answers to GET messenger_profile and GET subscribed_apps, to verify.

The account is --account-id, else the account of INSTAGRAM_ACCESS_TOKEN
(GET /me), else every account 'dmflow auth' stored a token for (read from
--db or --store; a bbolt file is locked while the server runs: stop it, set
INSTAGRAM_ACCESS_TOKEN, or use 'dmflow serve --instagram-setup-on-start').
Without ice breakers or a menu configured, only the subscription is made.`,
		Flags: func(fs *flag.FlagSet) {
			declareFlags(fs, "config", "db", "store", "access-token", "account-id", "graph-url", "graph-version",
				"messenger-profile", "log-format", "log-level")
		},
		Run: runInstagram,
	}
}

func runInstagram(ctx context.Context, fs *flag.FlagSet, args []string, stdio IO) int {
	if code, ok := parseSetup("instagram", fs, args, stdio); !ok {
		return code
	}
	cfg, log, ok := configure("instagram setup", fs, stdio, (*serveConfig).validateCommon)
	if !ok {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	if err := runSetup(ctx, cfg, log, stdio.Out); err != nil {
		fmt.Fprintf(stdio.Err, "dmflow instagram setup: %v\n", redactURL(err.Error(), cfg))
		return errExitCode(err)
	}
	return exitOK
}

// runSetup finds the accounts and their tokens and sets each one up.
func runSetup(ctx context.Context, cfg *serveConfig, log *slog.Logger, out io.Writer) error {
	var stored []dmflow.Token
	if cfg.Instagram.AccessToken == "" {
		toks, err := readStoredTokens(ctx, cfg)
		if err != nil {
			return err
		}
		stored = toks
	}
	accounts, err := setupAccounts(ctx, cfg, log, stored)
	onlyConfigTokens := cfg.Instagram.AccessToken == "" && len(stored) == 0 && len(cfg.accountTable().AccessTokens()) > 0
	if err != nil && !onlyConfigTokens { // accounts.ID.access_token alone is enough
		return err
	}
	var tokens instagram.TokenSource = instagram.StaticToken(cfg.Instagram.AccessToken)
	if cfg.Instagram.AccessToken == "" {
		m := instagram.StaticTokens{}
		for _, t := range stored {
			m[t.Account] = t.AccessToken
		}
		tokens = m
	}
	tokens, accounts = withConfigAccounts(cfg, tokens, accounts)
	c := instagram.NewClient(instagram.ClientConfig{BaseURL: cfg.Instagram.GraphURL, Version: cfg.Instagram.APIVersion, Tokens: tokens, Logger: log})
	for _, acct := range accounts {
		res, err := instagramSetup(ctx, c, acct, cfg.messengerFor(acct))
		if err != nil {
			return err
		}
		res.print(out)
	}
	return nil
}

// readStoredTokens reads the tokens `dmflow auth` stored, without
// creating or changing the store.
func readStoredTokens(ctx context.Context, cfg *serveConfig) ([]dmflow.Token, error) {
	st, _, err := openStoreReadOnly(ctx, cfg)
	if errors.Is(err, errBoltLocked) {
		return nil, fmt.Errorf("%w: stop it, set INSTAGRAM_ACCESS_TOKEN, or use 'dmflow serve --instagram-setup-on-start'", err)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stored tokens: %w", err)
	}
	return toks, nil
}

// setupAccounts picks the accounts to set up: --account-id, else the
// static token's account (GET /me), else every account with a stored token.
func setupAccounts(ctx context.Context, cfg *serveConfig, log *slog.Logger, stored []dmflow.Token) ([]string, error) {
	ig := cfg.Instagram
	switch {
	case ig.AccountID != "":
		return []string{ig.AccountID}, nil
	case ig.AccessToken != "":
		me, err := newOAuth(cfg, log).Me(ctx, ig.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("find the access token's account (or set INSTAGRAM_ACCOUNT_ID): %w", err)
		}
		return []string{me.UserID}, nil
	}
	var out []string
	for _, t := range stored {
		out = append(out, t.Account)
	}
	if len(out) == 0 {
		return nil, configErrorf("no Instagram access token: set INSTAGRAM_ACCESS_TOKEN or run 'dmflow auth'")
	}
	return out, nil
}

// setupResult is what instagramSetup did and what Graph answered after.
type setupResult struct {
	Account        string
	IceBreakers    int // locales set (0: left unchanged)
	PersistentMenu int
	Fields         []string
	Profile        json.RawMessage // GET messenger_profile
	Apps           []instagram.SubscribedApp
	WelcomeFlows   []welcomeSet
}

// welcomeSet is a welcome message flow setup created or updated.
type welcomeSet struct {
	Name, ID string
	Created  bool
}

// instagramSetup sets p's ice breakers and persistent menu (the ones p
// has), subscribes account to the default webhook fields and reads both
// back.
func instagramSetup(ctx context.Context, c *instagram.Client, account string, p *messengerProfile) (*setupResult, error) {
	r := &setupResult{Account: account, IceBreakers: len(p.IceBreakers), PersistentMenu: len(p.PersistentMenu), Fields: instagram.DefaultFields}
	if len(p.IceBreakers) > 0 {
		if err := c.SetIceBreakers(ctx, account, p.IceBreakers); err != nil {
			return nil, err
		}
	}
	if len(p.PersistentMenu) > 0 {
		if err := c.SetPersistentMenu(ctx, account, p.PersistentMenu); err != nil {
			return nil, err
		}
	}
	for _, f := range p.WelcomeFlows {
		id, err := c.SetWelcomeFlow(ctx, account, f)
		if err != nil {
			return nil, err
		}
		r.WelcomeFlows = append(r.WelcomeFlows, welcomeSet{Name: f.Name, ID: id, Created: f.ID == ""})
	}
	if err := c.Subscribe(ctx, account, nil); err != nil {
		return nil, err
	}
	var err error
	if r.Profile, err = c.MessengerProfile(ctx, account, nil); err != nil {
		return nil, err
	}
	if r.Apps, err = c.SubscribedApps(ctx, account); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *setupResult) print(w io.Writer) {
	fmt.Fprintf(w, "account %s: %s, %s, subscribed to webhooks (%s)\n", r.Account,
		setCount(r.IceBreakers, "ice breakers"), setCount(r.PersistentMenu, "persistent menu"), strings.Join(r.Fields, ", "))
	fmt.Fprintf(w, "GET messenger_profile: %s\n", strings.TrimSpace(string(r.Profile)))
	apps, _ := json.Marshal(r.Apps)
	fmt.Fprintf(w, "GET subscribed_apps: %s\n", apps)
	for _, f := range r.WelcomeFlows {
		if f.Created {
			fmt.Fprintf(w, "welcome message flow %q created: id %s (add `id: %s` to it, or the next setup creates another)\n", f.Name, f.ID, f.ID)
			continue
		}
		fmt.Fprintf(w, "welcome message flow %q updated (id %s)\n", f.Name, f.ID)
	}
}

func setCount(locales int, what string) string {
	if locales == 0 {
		return what + " not configured (left as they are)"
	}
	return fmt.Sprintf("%s set (%s)", what, english.Plural(locales, "locale"))
}

// instagramSetupOnStart runs the setup from serve (--instagram-setup-on-start)
// with the bot's Graph client: the sandbox double's account, or the
// configured accounts. Failures are logged; the bot serves anyway.
func (s *server) instagramSetupOnStart(ctx context.Context, sender dmflow.Sender) {
	c, ok := sender.(*instagram.Client)
	if !s.cfg.Instagram.SetupOnStart || !ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	accounts, err := s.setupAccountsOnStart(ctx)
	for _, acct := range accounts {
		var r *setupResult
		if r, err = instagramSetup(ctx, c, acct, s.cfg.messengerFor(acct)); err != nil {
			break
		}
		apps, _ := json.Marshal(r.Apps)
		s.log.Info("instagram setup done", "account", acct, "ice_breaker_locales", r.IceBreakers,
			"menu_locales", r.PersistentMenu, "messenger_profile", string(r.Profile), "subscribed_apps", string(apps))
	}
	if err != nil {
		s.log.Error("instagram setup on start failed; serving anyway (run 'dmflow instagram setup' to retry)", "err", err)
	}
}

func (s *server) setupAccountsOnStart(ctx context.Context) ([]string, error) {
	if s.sandbox != nil {
		return []string{s.sandbox.Account}, nil
	}
	var stored []dmflow.Token
	if s.cfg.Instagram.AccessToken == "" {
		toks, err := s.store.ListTokens(ctx)
		if err != nil {
			return nil, fmt.Errorf("read stored tokens: %w", err)
		}
		stored = toks
	}
	return setupAccounts(ctx, s.cfg, s.log, stored)
}

// parseSetup parses the arguments of `dmflow <cmd> setup`: the one
// subcommand, with the flags before or after it. It returns the exit code
// and false when they are not that.
func parseSetup(cmd string, fs *flag.FlagSet, args []string, stdio IO) (int, bool) {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:] // flags may follow the subcommand
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code, false
	}
	rest := fs.Args()
	if sub == "" && len(rest) > 0 {
		sub, rest = rest[0], rest[1:]
	}
	if sub != "setup" || len(rest) > 0 {
		fmt.Fprintf(stdio.Err, "dmflow %s: want the subcommand setup and no other argument (see dmflow %s --help)\n", cmd, cmd)
		return exitUsage, false
	}
	return 0, true
}
