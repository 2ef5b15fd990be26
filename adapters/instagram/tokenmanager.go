package instagram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// Defaults of TokenManagerConfig.
const (
	DefaultRefreshInterval = time.Hour
	DefaultRefreshWithin   = 7 * 24 * time.Hour
	// MinTokenAge is the platform's rule: a token younger than this cannot
	// be refreshed.
	MinTokenAge = 24 * time.Hour
	// tokenCacheTTL bounds how stale a cached token may be (other replicas
	// may have refreshed it).
	tokenCacheTTL = time.Minute
)

// TokenManagerConfig configures a TokenManager.
type TokenManagerConfig struct {
	// Interval between refresh passes in Run (default DefaultRefreshInterval).
	Interval time.Duration
	// RefreshWithin: tokens expiring sooner than this are refreshed (default
	// DefaultRefreshWithin), once they are MinTokenAge old.
	RefreshWithin time.Duration
	Clock         func() time.Time // default time.Now
	Logger        *slog.Logger     // default: discard
	// OnRefreshError is called for every failed refresh (and for a token
	// rejected by Graph), days before the token expires when the refresh
	// keeps failing: page someone or export a metric here.
	OnRefreshError func(t dmflow.Token, err error)
}

// TokenManager serves per-account tokens from a dmflow.Tokens store and
// keeps them fresh. It implements TokenSource and Invalidator and is safe
// for concurrent use.
type TokenManager struct {
	store dmflow.Tokens
	oauth *OAuth
	cfg   TokenManagerConfig

	mu    sync.Mutex
	cache map[string]cachedToken
}

type cachedToken struct {
	t    dmflow.Token
	read time.Time
}

var (
	_ TokenSource = (*TokenManager)(nil)
	_ Invalidator = (*TokenManager)(nil)
)

// NewTokenManager returns a manager over store; oauth performs refreshes.
func NewTokenManager(store dmflow.Tokens, oauth *OAuth, cfg TokenManagerConfig) *TokenManager {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultRefreshInterval
	}
	if cfg.RefreshWithin <= 0 {
		cfg.RefreshWithin = DefaultRefreshWithin
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &TokenManager{store: store, oauth: oauth, cfg: cfg, cache: map[string]cachedToken{}}
}

// Token returns the account's access token. An account that needs
// re-authorization or whose token expired fails with an error wrapping
// ErrAuth and dmflow.ErrPermanent; an unknown account with dmflow.ErrNotFound.
func (m *TokenManager) Token(ctx context.Context, account string) (string, error) {
	t, err := m.get(ctx, account)
	if err != nil {
		return "", err
	}
	switch {
	case t.NeedsReauth:
		return "", fmt.Errorf("instagram: account %s needs re-authorization: %w: %w", account, ErrAuth, dmflow.ErrPermanent)
	case !t.ExpiresAt.IsZero() && !m.cfg.Clock().Before(t.ExpiresAt):
		return "", fmt.Errorf("instagram: token of %s expired at %s: %w: %w", account, t.ExpiresAt.Format(time.RFC3339), ErrAuth, dmflow.ErrPermanent)
	}
	return t.AccessToken, nil
}

func (m *TokenManager) get(ctx context.Context, account string) (dmflow.Token, error) {
	now := m.cfg.Clock()
	m.mu.Lock()
	c, ok := m.cache[account]
	m.mu.Unlock()
	if ok && now.Sub(c.read) < tokenCacheTTL {
		return c.t, nil
	}
	t, err := m.store.GetToken(ctx, account)
	if err != nil {
		return dmflow.Token{}, fmt.Errorf("instagram: token of %s: %w", account, err)
	}
	m.remember(*t)
	return *t, nil
}

func (m *TokenManager) remember(t dmflow.Token) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cache[t.Account] = cachedToken{t: t, read: m.cfg.Clock()}
}

// Put stores a token (e.g. from OAuth.Authorize) and serves it from now on.
func (m *TokenManager) Put(ctx context.Context, t dmflow.Token) error {
	if err := m.store.PutToken(ctx, t); err != nil {
		return fmt.Errorf("instagram: store token of %s: %w", t.Account, err)
	}
	m.remember(t)
	return nil
}

// Invalidate flags the account for re-authorization after Graph rejected
// its token (error 190), and reports it through OnRefreshError.
func (m *TokenManager) Invalidate(ctx context.Context, account string, cause error) {
	t, err := m.get(ctx, account)
	if err != nil || t.NeedsReauth {
		return
	}
	t.NeedsReauth = true
	if err := m.Put(ctx, t); err != nil {
		m.cfg.Logger.Error("instagram tokens: cannot flag account for re-authorization", "account", account, "err", err)
	}
	m.report(t, fmt.Errorf("token rejected by Graph: %w", cause))
}

// Due reports whether t should be refreshed now.
func (m *TokenManager) Due(t dmflow.Token) bool {
	now := m.cfg.Clock()
	issued := t.IssuedAt
	if t.RefreshedAt.After(issued) {
		issued = t.RefreshedAt
	}
	return !t.NeedsReauth && !t.ExpiresAt.IsZero() && now.Before(t.ExpiresAt) &&
		now.Sub(issued) >= MinTokenAge && t.ExpiresAt.Sub(now) < m.cfg.RefreshWithin
}

// RefreshDue refreshes every stored token that is due, and returns the
// failures joined (each is also logged and reported).
func (m *TokenManager) RefreshDue(ctx context.Context) error {
	tokens, err := m.store.ListTokens(ctx)
	if err != nil {
		return fmt.Errorf("instagram: list tokens: %w", err)
	}
	var errs []error
	for _, t := range tokens {
		if err := m.refreshIfDue(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *TokenManager) refreshIfDue(ctx context.Context, t dmflow.Token) error {
	if !m.Due(t) {
		return nil
	}
	fresh, err := m.oauth.Refresh(ctx, t.AccessToken)
	if err != nil {
		if errors.Is(err, ErrAuth) {
			t.NeedsReauth = true
			m.Put(ctx, t)
		}
		m.report(t, err)
		return fmt.Errorf("instagram: refresh token of %s: %w", t.Account, err)
	}
	now := m.cfg.Clock()
	t.AccessToken, t.RefreshedAt, t.ExpiresAt = fresh.AccessToken, now, now.Add(fresh.ExpiresIn)
	if err := m.Put(ctx, t); err != nil {
		m.report(t, err)
		return err
	}
	m.cfg.Logger.Info("instagram tokens: refreshed", "account", t.Account, "expires", t.ExpiresAt)
	return nil
}

func (m *TokenManager) report(t dmflow.Token, err error) {
	m.cfg.Logger.Error("instagram tokens: TOKEN CANNOT BE RENEWED; sends stop when it expires or is rejected",
		"account", t.Account, "username", t.Username, "expires", t.ExpiresAt,
		"expires_in", t.ExpiresAt.Sub(m.cfg.Clock()).Round(time.Minute), "err", err)
	if m.cfg.OnRefreshError != nil {
		m.cfg.OnRefreshError(t, err)
	}
}

// Run refreshes due tokens now and then every Interval until ctx ends.
func (m *TokenManager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		if err := m.RefreshDue(ctx); err != nil {
			m.cfg.Logger.Warn("instagram tokens: refresh pass had failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
