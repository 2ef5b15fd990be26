package instagram_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// clock is a settable time source shared by the double and the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memTokens is a minimal dmflow.Tokens.
type memTokens struct {
	mu sync.Mutex
	m  map[string]dmflow.Token
}

func (s *memTokens) PutToken(_ context.Context, t dmflow.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]dmflow.Token{}
	}
	s.m[t.Account] = t
	return nil
}

func (s *memTokens) GetToken(_ context.Context, account string) (*dmflow.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[account]
	if !ok {
		return nil, fmt.Errorf("token %s: %w", account, dmflow.ErrNotFound)
	}
	return &t, nil
}

func (s *memTokens) ListTokens(context.Context) ([]dmflow.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dmflow.Token
	for _, t := range s.m {
		out = append(out, t)
	}
	return out, nil
}

func newOAuth(srv *igtest.Server, clk *clock, redirect string) *instagram.OAuth {
	return &instagram.OAuth{
		ClientID: igtest.DefaultAppID, ClientSecret: igtest.DefaultAppSecret, RedirectURI: redirect,
		AuthBaseURL: srv.URL, APIBaseURL: srv.URL, GraphBaseURL: srv.URL, Clock: clk.Now,
	}
}

func TestAuthorizeURL(t *testing.T) {
	o := &instagram.OAuth{ClientID: "123", RedirectURI: "https://bot.example.com/oauth/callback"}
	u, err := url.Parse(o.AuthorizeURL("csrf-1"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "www.instagram.com" || u.Path != "/oauth/authorize" || q.Get("client_id") != "123" ||
		q.Get("response_type") != "code" || q.Get("state") != "csrf-1" ||
		q.Get("redirect_uri") != "https://bot.example.com/oauth/callback" ||
		q.Get("scope") != "instagram_business_basic,instagram_business_manage_messages,instagram_business_manage_comments" {
		t.Errorf("AuthorizeURL = %s", u)
	}
}

// TestOAuthEndToEnd drives the browser flow: login → consent → callback
// (state checked) → code → short → long-lived token → /me → stored.
func TestOAuthEndToEnd(t *testing.T) {
	clk := &clock{t: testNow}
	srv := igtest.NewServer(igtest.Config{Account: acct, Now: clk.Now})
	defer srv.Close()
	tokens := &memTokens{}
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	o := newOAuth(srv, clk, app.URL+"/oauth/callback")
	mgr := instagram.NewTokenManager(tokens, o, instagram.TokenManagerConfig{Clock: clk.Now})
	mux.Handle("/oauth/login", o.LoginHandler())
	mux.Handle("/oauth/callback", o.CallbackHandler(mgr.Put))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	resp, err := browser.Get(app.URL + "/oauth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("callback status %d", resp.StatusCode)
	}
	tok, err := tokens.GetToken(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Username != igtest.DefaultUsername || tok.AppUserID != igtest.DefaultAppUserID ||
		!tok.ExpiresAt.Equal(testNow.Add(5183944*time.Second)) || len(tok.Scopes) != 3 || !strings.HasPrefix(tok.AccessToken, "IGAA") {
		t.Errorf("stored token %+v (scopes %v)", tok, tok.Scopes)
	}
	// The stored token works for sending through the manager.
	c := instagram.NewClient(instagram.ClientConfig{BaseURL: srv.URL, Tokens: mgr, Clock: clk.Now})
	if _, err := c.Send(context.Background(), out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "connected"})); err != nil {
		t.Errorf("send with the new token: %v", err)
	}
}

func TestCallbackRejects(t *testing.T) {
	clk := &clock{t: testNow}
	srv := igtest.NewServer(igtest.Config{Account: acct, Now: clk.Now})
	defer srv.Close()
	o := newOAuth(srv, clk, "http://127.0.0.1/cb")
	stored := 0
	h := o.CallbackHandler(func(context.Context, dmflow.Token) error { stored++; return nil })
	code := srv.NewCode("http://127.0.0.1/cb", "instagram_business_basic")
	tests := []struct {
		name   string
		query  string
		cookie string
		status int
	}{
		{"no cookie", "code=" + code + "&state=s1", "", 403},
		{"wrong state", "code=" + code + "&state=s2", "s1", 403},
		{"denied", "error=access_denied&error_reason=user_denied&error_description=The+user+denied+your+request&state=s1", "s1", 400},
		{"bad code", "code=nope&state=s1", "s1", 502},
		{"ok with #_", "code=" + url.QueryEscape(code+"#_") + "&state=s1", "s1", 200},
		{"code reused", "code=" + code + "&state=s1", "s1", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/cb?"+tt.query, nil)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: instagram.StateCookie, Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
		})
	}
	if stored != 1 {
		t.Errorf("onToken called %d times, want 1", stored)
	}
}

func TestExchangeDataWrapped(t *testing.T) {
	clk := &clock{t: testNow}
	srv := igtest.NewServer(igtest.Config{Account: acct, Now: clk.Now, OAuthDataWrapped: true})
	defer srv.Close()
	o := newOAuth(srv, clk, "http://127.0.0.1/cb")
	short, err := o.Exchange(context.Background(), srv.NewCode("http://127.0.0.1/cb", "instagram_business_basic,instagram_business_manage_messages"))
	if err != nil {
		t.Fatal(err)
	}
	if short.AppUserID != igtest.DefaultAppUserID || len(short.Permissions) != 2 || short.AccessToken == "" {
		t.Errorf("short token %+v", short)
	}
	if _, err := o.LongLived(context.Background(), "not-a-token"); !errors.Is(err, instagram.ErrOAuth) || !errors.Is(err, instagram.ErrAuth) {
		t.Errorf("bad short token: %v", err)
	}
	me, err := o.Me(context.Background(), srv.IssueToken(acct))
	if err != nil || me.UserID != acct || me.Username != igtest.DefaultUsername || me.ID != igtest.DefaultAppUserID {
		t.Errorf("Me = %+v, %v", me, err)
	}
}

func TestOAuthAnswerWithoutToken(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"token_type":"bearer","expires_in":5183944}`))
	}))
	defer bad.Close()
	o := &instagram.OAuth{GraphBaseURL: bad.URL, APIBaseURL: bad.URL}
	if _, err := o.Refresh(context.Background(), "x"); !errors.Is(err, instagram.ErrOAuth) || !strings.Contains(err.Error(), "no access_token") {
		t.Errorf("Refresh: %v", err)
	}
	if _, err := o.Exchange(context.Background(), "x"); !errors.Is(err, instagram.ErrOAuth) {
		t.Errorf("Exchange: %v", err)
	}
}

func TestTokenManagerRefresh(t *testing.T) {
	clk := &clock{t: testNow}
	srv := igtest.NewServer(igtest.Config{Account: acct, Now: clk.Now})
	defer srv.Close()
	ctx := context.Background()
	var reported []error
	tokens := &memTokens{}
	mgr := instagram.NewTokenManager(tokens, newOAuth(srv, clk, ""), instagram.TokenManagerConfig{
		Clock: clk.Now, OnRefreshError: func(_ dmflow.Token, err error) { reported = append(reported, err) },
	})
	first := srv.IssueToken(acct)
	mgr.Put(ctx, dmflow.Token{Account: acct, AccessToken: first, IssuedAt: clk.Now(), ExpiresAt: clk.Now().Add(60 * 24 * time.Hour)})

	// Young token: nothing to do.
	clk.Advance(time.Hour)
	if err := mgr.RefreshDue(ctx); err != nil || srv.Calls() != 0 {
		t.Fatalf("young token: err %v, calls %d", err, srv.Calls())
	}
	// Old enough but far from expiry: still nothing.
	clk.Advance(30 * 24 * time.Hour)
	if err := mgr.RefreshDue(ctx); err != nil || srv.Calls() != 0 {
		t.Fatalf("30 days left: err %v, calls %d", err, srv.Calls())
	}
	// A transient failure 6 days before expiry is reported, token kept.
	clk.Advance(24 * 24 * time.Hour)
	srv.Inject(igtest.Fault{Path: "/refresh_access_token", Code: 2})
	if err := mgr.RefreshDue(ctx); err == nil || len(reported) != 1 {
		t.Fatalf("transient failure: err %v, reported %d", err, len(reported))
	}
	if got, _ := mgr.Token(ctx, acct); got != first {
		t.Fatal("token changed after a failed refresh")
	}
	// Next pass succeeds.
	if err := mgr.RefreshDue(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := mgr.Token(ctx, acct)
	stored, _ := tokens.GetToken(ctx, acct)
	if err != nil || got == first || stored.AccessToken != got || !stored.RefreshedAt.Equal(clk.Now()) ||
		!stored.ExpiresAt.Equal(clk.Now().Add(5183944*time.Second)) {
		t.Errorf("after refresh: token %q err %v stored %+v", got, err, stored)
	}
}

func TestTokenManagerRejectedToken(t *testing.T) {
	clk := &clock{t: testNow}
	srv := igtest.NewServer(igtest.Config{Account: acct, Now: clk.Now})
	defer srv.Close()
	ctx := context.Background()
	reported := 0
	mgr := instagram.NewTokenManager(&memTokens{}, newOAuth(srv, clk, ""), instagram.TokenManagerConfig{
		Clock: clk.Now, OnRefreshError: func(dmflow.Token, error) { reported++ },
	})
	mgr.Put(ctx, dmflow.Token{Account: acct, AccessToken: srv.IssueToken(acct), IssuedAt: clk.Now(), ExpiresAt: clk.Now().Add(60 * 24 * time.Hour)})
	c := instagram.NewClient(instagram.ClientConfig{BaseURL: srv.URL, Tokens: mgr, Clock: clk.Now})
	srv.Inject(igtest.Fault{Path: "/messages", Code: 190, Subcode: 460})
	if _, err := c.Send(ctx, out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "hi"})); !errors.Is(err, instagram.ErrAuth) {
		t.Fatalf("send: %v", err)
	}
	_, err := c.Send(ctx, out(dmflow.Reply{Kind: dmflow.ReplyText, Text: "again"}))
	if !errors.Is(err, instagram.ErrAuth) || !errors.Is(err, dmflow.ErrPermanent) || srv.Calls() != 1 || reported != 1 {
		t.Errorf("after 190: err %v, calls %d, reported %d", err, srv.Calls(), reported)
	}
	if _, err := mgr.Token(ctx, "unknown"); !errors.Is(err, dmflow.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestTokenManagerRunStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	mgr := instagram.NewTokenManager(&memTokens{}, &instagram.OAuth{}, instagram.TokenManagerConfig{})
	done := make(chan error)
	go func() { done <- mgr.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(testutil.Scale(testutil.Wait)):
		t.Fatal("Run did not stop")
	}
}
