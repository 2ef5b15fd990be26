package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
	srv "github.com/dmflow/dmflow/server"
)

// sender builds the Send API client: pointed at the sandbox's Graph API
// double without credentials, else at the Graph API with the configured
// token source.
func (s *server) sender(ctx context.Context) (dmflow.Sender, error) {
	if s.cfg.Sandbox() {
		side, err := startSandbox(s.cfg, s.log)
		if err != nil {
			return nil, err
		}
		s.sandbox = side
		s.closers = append(s.closers, side.close)
		return instagram.NewClient(instagram.ClientConfig{
			BaseURL: side.graphURL(), Tokens: instagram.StaticToken(srv.SandboxToken), Logger: s.log,
			HTTPClient: graphHTTPClient(s.cfg), Pacer: s.pacer(),
			// The studio's clock: a reply a timer sends after the user's
			// 24 h window is dead-lettered, as in production.
			Clock: side.Clock.Now, InboxAppID: s.cfg.Instagram.InboxAppID,
		}), nil
	}
	tokens, err := s.tokenSource(ctx)
	if err != nil {
		return nil, err
	}
	return instagram.NewClient(instagram.ClientConfig{
		BaseURL: s.cfg.Instagram.GraphURL, Version: s.cfg.Instagram.APIVersion, Tokens: tokens, Logger: s.log,
		HTTPClient: graphHTTPClient(s.cfg), Pacer: s.pacer(), InboxAppID: s.cfg.Instagram.InboxAppID,
	}), nil
}

// mediaLookup is the sender when it can look up media (the Instagram
// client), else nil.
func mediaLookup(sender dmflow.Sender) bot.MediaLookup {
	m, _ := sender.(bot.MediaLookup)
	return m
}

// pacer is the store when it paces sends across replicas (PostgreSQL),
// else nil: the client paces this process's sends.
func (s *server) pacer() dmflow.Pacer {
	p, _ := s.store.(dmflow.Pacer)
	return p
}

// graphHTTPClient is the HTTP client of the Graph API calls: --send-timeout
// per request, and a keep-alive connection for every sender (Go's default
// transport keeps 2 idle connections per host, so under load most sends
// would dial a new TLS connection).
func graphHTTPClient(cfg *serveConfig) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.Senders + 8 // + profile lookups and setup calls
	tr.MaxIdleConns = max(tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
	return &http.Client{Timeout: cfg.SendTimeout, Transport: tr}
}

// tokenSource is the dashboard token when INSTAGRAM_ACCESS_TOKEN is set,
// else the tokens `dmflow auth` stored, refreshed before they expire.
func (s *server) tokenSource(ctx context.Context) (instagram.TokenSource, error) {
	own := instagram.StaticTokens(s.cfg.accountTable().AccessTokens()) // accounts.ID.access_token
	if s.cfg.Instagram.AccessToken != "" {
		return withAccountTokens(own, instagram.StaticToken(s.cfg.Instagram.AccessToken)), nil
	}
	toks, err := s.store.ListTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stored tokens: %w", err)
	}
	if len(toks) == 0 && len(own) > 0 {
		return own, nil
	}
	if len(toks) == 0 {
		return nil, configErrorf("no Instagram access token: run 'dmflow auth' (stores one in the store) or set INSTAGRAM_ACCESS_TOKEN")
	}
	tm := instagram.NewTokenManager(s.store, newOAuth(s.cfg, s.log), instagram.TokenManagerConfig{
		Logger: s.log,
		OnRefreshError: func(t dmflow.Token, err error) {
			s.log.Error("instagram token refresh failed; run 'dmflow auth' before it expires",
				"account", t.Account, "expires", t.ExpiresAt, "err", err)
			if s.bot != nil {
				s.bot.TokenRefreshFailed(t.Account)
			}
		},
	})
	s.tokens = tm // run refreshes them
	return withAccountTokens(own, tm), nil
}

// refreshTokens refreshes due tokens every hour and publishes each
// account's token expiry as a metric.
func (s *server) refreshTokens(ctx context.Context, tm *instagram.TokenManager) {
	t := time.NewTicker(instagram.DefaultRefreshInterval)
	defer t.Stop()
	for {
		if err := tm.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("instagram token refresh pass had failures", "err", err)
		}
		if toks, err := s.store.ListTokens(ctx); err == nil && s.bot != nil {
			for _, tok := range toks {
				s.bot.SetTokenExpiry(tok.Account, tok.ExpiresAt)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
