package cli

import (
	"context"
	"errors"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
	srv "github.com/dmflow/dmflow/server"
)

// sender builds the Send API client (server.NewInstagram): pointed at the
// sandbox's Graph API double without credentials, else at the Graph API
// with the configured tokens or the stored ones.
func (s *server) sender(ctx context.Context) (dmflow.Sender, error) {
	cfg := srv.InstagramConfig{HTTPClient: srv.GraphHTTPClient(s.cfg.Senders, s.cfg.SendTimeout), Logger: s.log,
		InboxAppID: s.cfg.Instagram.InboxAppID}
	if s.cfg.Sandbox() {
		side, err := startSandbox(s.cfg, s.log)
		if err != nil {
			return nil, err
		}
		s.sandbox = side
		s.closers = append(s.closers, side.close)
		ig, err := srv.NewInstagram(ctx, s.store, side.Instagram(side.graphURL(), cfg))
		if err != nil {
			return nil, err
		}
		return ig.Client, nil
	}
	cfg.GraphURL, cfg.APIVersion = s.cfg.Instagram.GraphURL, s.cfg.Instagram.APIVersion
	cfg.AccessToken = s.cfg.Instagram.AccessToken
	cfg.AccountTokens = s.cfg.accountTable().AccessTokens() // accounts.ID.access_token
	cfg.OAuth = newOAuth(s.cfg, s.log)
	cfg.OnRefreshError = func(t dmflow.Token, err error) {
		s.log.Error("instagram token refresh failed; run 'dmflow auth' before it expires",
			"account", t.Account, "expires", t.ExpiresAt, "err", err)
		if s.bot != nil {
			s.bot.TokenRefreshFailed(t.Account)
		}
	}
	ig, err := srv.NewInstagram(ctx, s.store, cfg)
	if errors.Is(err, srv.ErrNoToken) {
		return nil, configErrorf("no Instagram access token: run 'dmflow auth' (stores one in the store) or set INSTAGRAM_ACCESS_TOKEN")
	}
	if err != nil {
		return nil, err
	}
	s.ig, s.tokens = ig, ig.Tokens // run refreshes the stored tokens
	return ig.Client, nil
}

// mediaLookup is the sender when it can look up media (the Instagram
// client), else nil.
func mediaLookup(sender dmflow.Sender) bot.MediaLookup {
	m, _ := sender.(bot.MediaLookup)
	return m
}
