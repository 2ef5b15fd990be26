package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	srv "github.com/dmflow/dmflow/server"
)

// accountTable is the deployment's settings (the defaults) with each
// account's overrides from the config file's accounts: section; an
// accounts.default entry overrides the defaults themselves.
func (c *serveConfig) accountTable() *accounts.Table {
	release := c.HandoffRelease
	t := &accounts.Table{
		Default:  accounts.Settings{NotifyURL: c.NotifyURL, NotifySecret: c.NotifySecret, HandoffRelease: &release},
		Accounts: map[string]accounts.Settings{},
	}
	for id, s := range c.Accounts {
		if id == accounts.Default {
			t.Default = (&accounts.Table{Default: t.Default, Accounts: map[string]accounts.Settings{id: s}}).For(id)
			continue
		}
		t.Accounts[id] = s
	}
	return t
}

// loadAccountProfiles reads the messenger_profile file of every account
// that names one.
func (c *serveConfig) loadAccountProfiles() error {
	for id, s := range c.Accounts {
		if s.MessengerProfile == "" {
			continue
		}
		p := &messengerProfile{}
		if err := p.loadFile(s.MessengerProfile); err != nil {
			return err
		}
		if c.AccountProfiles == nil {
			c.AccountProfiles = map[string]*messengerProfile{}
		}
		c.AccountProfiles[id] = p
	}
	return nil
}

// messengerFor is the ice breakers and menu `dmflow instagram setup`
// applies to account: its own, else accounts.default's, else the
// deployment's.
func (c *serveConfig) messengerFor(account string) *messengerProfile {
	if p := c.AccountProfiles[account]; p != nil {
		return p
	}
	if p := c.AccountProfiles[accounts.Default]; p != nil {
		return p
	}
	return &c.Instagram.Messenger
}

// loadEngine loads the flows serve runs: one bundle for every account
// (an *engine.Engine, as before), or, when the flows directory holds one
// sub-directory per account or the config file has an accounts: section,
// an *accounts.Set with an engine per account.
func (s *server) loadEngine(ctx context.Context) (bot.Engine, error) {
	_, multi, err := accounts.ReadLayoutFS(s.flows.fsys, s.flows.path)
	if err != nil {
		return nil, &configError{err.Error()}
	}
	if !multi && len(s.cfg.Accounts) == 0 {
		e, err := s.flows.load(engineOptions(s.cfg), s.opts.Flows, s.log)
		if err != nil {
			return nil, &configError{err.Error()}
		}
		return e, nil
	}
	s.table = s.cfg.accountTable()
	src := &accounts.Paths{Bundles: map[string]string{}, Build: s.buildAccount}
	if multi {
		src.Dir, src.FS = s.flows.path, s.flows.fsys
	} else {
		src.Bundles[accounts.Default] = s.flows.path
	}
	if d := s.cfg.Accounts[accounts.Default]; d.Flows != "" {
		src.Bundles[accounts.Default] = d.Flows
	}
	for id, st := range s.table.Accounts {
		if st.Flows != "" {
			src.Bundles[id] = st.Flows
		} else {
			src.Inherit = append(src.Inherit, id)
		}
	}
	s.bundles = src
	set, err := accounts.New(ctx, src)
	if err != nil {
		return nil, &configError{err.Error()}
	}
	s.accounts = set
	for _, id := range set.Accounts() {
		s.log.Info("flow bundle loaded", "account", id, "flows", src.Path(id))
	}
	return set, nil
}

// buildAccount builds account's engine from the bundle at path with the
// account's settings (handoff release, notices).
func (s *server) buildAccount(ctx context.Context, account, path string) (accounts.Engine, error) {
	src := flowSource{path: path, desc: path}
	if s.flows.fsys != nil && (path == s.flows.path || strings.HasPrefix(path, s.flows.path+"/")) {
		src.fsys = s.flows.fsys
	}
	e, err := src.load(engineOptionsFor(s.cfg, s.table.For(account)), s.opts.Flows, s.log.With("account", account))
	if err != nil {
		return nil, err
	}
	return e, nil
}

// reloadAccounts is bot.Config.ReloadAccounts of a multi-account serve.
func (s *server) reloadAccounts(ctx context.Context, ids ...string) ([]string, error) {
	r := s.accounts.Reload(ctx, ids...)
	for _, id := range r.Added {
		s.log.Info("account added", "account", id, "flows", s.bundles.Path(id))
	}
	for _, id := range r.Removed {
		s.log.Warn("account removed: its bundle is gone, its users get the default bundle (if any)", "account", id)
	}
	for _, f := range r.Failed {
		s.log.Error("account reload rejected, its old bundle keeps running", "account", f.Account, "err", f.Err)
	}
	if err := r.Err(); err != nil {
		return r.Reloaded, fmt.Errorf("reload: %w", err)
	}
	return r.Reloaded, nil
}

// withAccountTokens puts the accounts' own access tokens
// (accounts.ID.access_token) before rest (server.AccountTokens).
func withAccountTokens(own instagram.StaticTokens, rest instagram.TokenSource) instagram.TokenSource {
	return srv.AccountTokens(own, rest)
}

// withConfigAccounts adds the accounts with an access_token of their own
// in the config file (accounts.ID.access_token) to what `dmflow instagram
// setup` sets up, with those tokens first (unless --account-id names one).
func withConfigAccounts(cfg *serveConfig, tokens instagram.TokenSource, ids []string) (instagram.TokenSource, []string) {
	own := cfg.accountTable().AccessTokens()
	if len(own) == 0 {
		return tokens, ids
	}
	if cfg.Instagram.AccountID == "" {
		for _, id := range slices.Sorted(maps.Keys(own)) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return withAccountTokens(own, tokens), ids
}
