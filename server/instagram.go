package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/bot"
)

// InstagramConfig configures the Instagram Send API client NewInstagram
// builds, and where its access tokens come from: an account's own token
// (AccountTokens) first, then AccessToken for every other account, else
// the tokens `dmflow auth` stored, refreshed before they expire.
type InstagramConfig struct {
	// GraphURL and APIVersion select the Graph API ("": its defaults); a
	// test points GraphURL at an igtest double.
	GraphURL, APIVersion string
	// AccessToken, when set, is used for every account without a token of
	// its own (a token from the app dashboard; never refreshed).
	AccessToken string
	// AccountTokens are accounts' own tokens (never refreshed).
	AccountTokens map[string]string
	// OAuth refreshes the stored tokens (used only without AccessToken).
	OAuth *instagram.OAuth
	// OnRefreshError is called when a stored token fails to refresh.
	OnRefreshError func(t dmflow.Token, err error)
	// HTTPClient makes the Graph API calls (nil: GraphHTTPClient(0, 0)).
	HTTPClient *http.Client
	// Logger (nil: slog.Default()) and Clock (nil: the wall clock; the
	// sandbox's clock in sandbox mode, see Sandbox.Instagram).
	Logger *slog.Logger
	Clock  func() time.Time
	// InboxAppID is the app a handoff to the Instagram inbox passes the
	// thread to ("": instagram.InstagramInboxApp).
	InboxAppID string
}

// ErrNoToken is returned by NewInstagram when no access token is
// configured and the store holds none.
var ErrNoToken = errors.New("server: no Instagram access token (none configured, none stored)")

// Instagram is the Send API client (the bot's Sender and Profiles) and,
// when tokens come from the store, their manager.
type Instagram struct {
	Client *instagram.Client
	// Tokens serves and refreshes the stored tokens; nil when every token
	// is configured. Run RefreshTokens while serving.
	Tokens *instagram.TokenManager
	store  dmflow.Store
	log    *slog.Logger
}

// NewInstagram builds the Send API client over st (which keeps the stored
// tokens, and paces sends across replicas when it is a dmflow.Pacer).
func NewInstagram(ctx context.Context, st dmflow.Store, cfg InstagramConfig) (*Instagram, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = GraphHTTPClient(0, 0)
	}
	ig := &Instagram{store: st, log: cfg.Logger}
	tokens, err := ig.tokenSource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pacer, _ := st.(dmflow.Pacer) // nil: the client paces this process's sends
	ig.Client = instagram.NewClient(instagram.ClientConfig{
		BaseURL: cfg.GraphURL, Version: cfg.APIVersion, Tokens: tokens, Logger: cfg.Logger,
		HTTPClient: cfg.HTTPClient, Pacer: pacer, Clock: cfg.Clock, InboxAppID: cfg.InboxAppID,
	})
	return ig, nil
}

func (ig *Instagram) tokenSource(ctx context.Context, cfg InstagramConfig) (instagram.TokenSource, error) {
	own := instagram.StaticTokens(cfg.AccountTokens)
	if cfg.AccessToken != "" {
		return AccountTokens(own, instagram.StaticToken(cfg.AccessToken)), nil
	}
	toks, err := ig.store.ListTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stored tokens: %w", err)
	}
	if len(toks) == 0 && len(own) > 0 {
		return own, nil
	}
	if len(toks) == 0 {
		return nil, ErrNoToken
	}
	ig.Tokens = instagram.NewTokenManager(ig.store, cfg.OAuth, instagram.TokenManagerConfig{
		Logger: cfg.Logger, OnRefreshError: cfg.OnRefreshError,
	})
	return AccountTokens(own, ig.Tokens), nil
}

// RefreshTokens refreshes due stored tokens every
// instagram.DefaultRefreshInterval until ctx is done and publishes each
// account's token expiry as a metric of b (nil: none). Without Tokens it
// returns at once.
func (ig *Instagram) RefreshTokens(ctx context.Context, b *bot.Bot) {
	if ig.Tokens == nil {
		return
	}
	t := time.NewTicker(instagram.DefaultRefreshInterval)
	defer t.Stop()
	for {
		if err := ig.Tokens.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			ig.log.Warn("instagram token refresh pass had failures", "err", err)
		}
		if toks, err := ig.store.ListTokens(ctx); err == nil && b != nil {
			for _, tok := range toks {
				b.SetTokenExpiry(tok.Account, tok.ExpiresAt)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// GraphHTTPClient is an HTTP client for Graph API calls: timeout per
// request (0: 30 s), and keep-alive connections for senders concurrent
// sends (Go's default transport keeps 2 idle connections per host, so
// under load most sends would dial a new TLS connection).
func GraphHTTPClient(senders int, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = senders + 8 // + profile lookups and setup calls
	tr.MaxIdleConns = max(tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
	return &http.Client{Timeout: timeout, Transport: tr}
}

// AccountTokens puts the accounts' own tokens before rest (nil: only
// those). A token Graph rejects is passed on to rest's Invalidate unless
// it is an account's own.
func AccountTokens(own instagram.StaticTokens, rest instagram.TokenSource) instagram.TokenSource {
	if len(own) == 0 {
		return rest
	}
	return accountTokens{own: own, rest: rest}
}

type accountTokens struct {
	own  instagram.StaticTokens
	rest instagram.TokenSource
}

func (a accountTokens) Token(ctx context.Context, account string) (string, error) {
	if t, ok := a.own[account]; ok {
		return t, nil
	}
	if a.rest == nil {
		return a.own.Token(ctx, account)
	}
	return a.rest.Token(ctx, account)
}

// Invalidate passes a rejected token on to the stored tokens' manager.
func (a accountTokens) Invalidate(ctx context.Context, account string, err error) {
	if _, own := a.own[account]; own {
		return
	}
	if inv, ok := a.rest.(instagram.Invalidator); ok {
		inv.Invalidate(ctx, account, err)
	}
}
