package main

import (
	"context"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
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
			BaseURL: side.graphURL(), Tokens: instagram.StaticToken(sandboxToken), Logger: s.log,
		}), nil
	}
	tokens, err := s.tokenSource(ctx)
	if err != nil {
		return nil, err
	}
	return instagram.NewClient(instagram.ClientConfig{
		BaseURL: s.cfg.Instagram.GraphURL, Version: s.cfg.Instagram.APIVersion, Tokens: tokens, Logger: s.log,
	}), nil
}

// tokenSource is the dashboard token when INSTAGRAM_ACCESS_TOKEN is set.
func (s *server) tokenSource(ctx context.Context) (instagram.TokenSource, error) {
	if s.cfg.Instagram.AccessToken != "" {
		return instagram.StaticToken(s.cfg.Instagram.AccessToken), nil
	}
	return nil, configErrorf("no Instagram access token: set INSTAGRAM_ACCESS_TOKEN (a long-lived token from the App Dashboard)")
}
