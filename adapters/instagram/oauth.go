package instagram

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
)

// Defaults of OAuth.
const (
	DefaultAuthURL = "https://www.instagram.com"
	DefaultAPIURL  = "https://api.instagram.com"
)

// DefaultScopes are the permissions dmflow asks for: profile, messages,
// and comments (for private replies).
var DefaultScopes = []string{
	"instagram_business_basic", "instagram_business_manage_messages", "instagram_business_manage_comments",
}

// ErrOAuth marks a failed OAuth step (denied consent, bad state, a code the
// platform rejects, an answer without a token).
var ErrOAuth = errors.New("instagram: oauth failed")

// OAuth is Business Login for Instagram: the consent URL, the code
// exchange, long-lived tokens and their refresh, and /me. Zero fields take
// the defaults; ClientID, ClientSecret (the Instagram app's id and secret)
// and RedirectURI are required.
type OAuth struct {
	ClientID, ClientSecret, RedirectURI string
	Scopes                              []string // default DefaultScopes
	AuthBaseURL                         string   // default DefaultAuthURL (consent dialog)
	APIBaseURL                          string   // default DefaultAPIURL (code exchange)
	GraphBaseURL                        string   // default DefaultGraphURL
	Version                             string   // default DefaultVersion (for /me)
	HTTPClient                          *http.Client
	Logger                              *slog.Logger
	Clock                               func() time.Time
}

// ShortLivedToken is the one-hour token the code exchange returns.
type ShortLivedToken struct {
	AccessToken string
	AppUserID   string // app-scoped id, not the IG_ID webhooks carry
	Permissions []string
}

// LongLivedToken is a 60-day token.
type LongLivedToken struct {
	AccessToken string
	ExpiresIn   time.Duration
}

// Account is what /me tells about the token's professional account.
type Account struct {
	ID          string // app-scoped id
	UserID      string // IG_ID: entry.id in webhooks, the Send API path id
	Username    string
	Name        string
	AccountType string
}

func (o *OAuth) or(v, def string) string {
	if v == "" {
		return def
	}
	return strings.TrimRight(v, "/")
}

func (o *OAuth) caller() caller {
	hc, log := o.HTTPClient, o.Logger
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return caller{hc: hc, log: log}
}

func (o *OAuth) now() time.Time {
	if o.Clock == nil {
		return time.Now()
	}
	return o.Clock()
}

// AuthorizeURL returns the consent-dialog URL; state is the CSRF token the
// callback must get back.
func (o *OAuth) AuthorizeURL(state string) string {
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	v := url.Values{
		"client_id": {o.ClientID}, "redirect_uri": {o.RedirectURI}, "response_type": {"code"},
		"scope": {strings.Join(scopes, ",")}, "state": {state},
	}
	return o.or(o.AuthBaseURL, DefaultAuthURL) + "/oauth/authorize?" + v.Encode()
}

// Exchange trades an authorization code (valid one hour, single use; a
// trailing "#_" is stripped) for a short-lived token. It accepts the flat
// answer production sends and the documented data[] form.
func (o *OAuth) Exchange(ctx context.Context, code string) (ShortLivedToken, error) {
	form := url.Values{
		"client_id": {o.ClientID}, "client_secret": {o.ClientSecret}, "grant_type": {"authorization_code"},
		"redirect_uri": {o.RedirectURI}, "code": {strings.TrimSuffix(code, "#_")},
	}
	c := call{method: http.MethodPost, url: o.or(o.APIBaseURL, DefaultAPIURL) + "/oauth/access_token",
		body: []byte(form.Encode()), ctype: "application/x-www-form-urlencoded", idempotent: true}
	g := o.caller()
	res, err := g.do(ctx, c)
	if err != nil {
		return ShortLivedToken{}, fmt.Errorf("instagram: oauth code exchange: %w: %w", ErrOAuth, err)
	}
	t, err := decodeShortToken(res.body)
	if err != nil {
		return ShortLivedToken{}, fmt.Errorf("instagram: oauth code exchange: %w: %w", ErrOAuth, err)
	}
	return t, nil
}

type shortTokenWire struct {
	AccessToken string          `json:"access_token"`
	UserID      flexString      `json:"user_id"`
	Permissions json.RawMessage `json:"permissions"`
}

func decodeShortToken(body []byte) (ShortLivedToken, error) {
	var env struct {
		shortTokenWire
		Data []shortTokenWire `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ShortLivedToken{}, fmt.Errorf("decode answer: %w", err)
	}
	w := env.shortTokenWire
	if w.AccessToken == "" && len(env.Data) > 0 {
		w = env.Data[0]
	}
	if w.AccessToken == "" {
		return ShortLivedToken{}, errors.New("answer has no access_token")
	}
	return ShortLivedToken{AccessToken: w.AccessToken, AppUserID: string(w.UserID), Permissions: permissions(w.Permissions)}, nil
}

// permissions accepts ["a","b"] and "a,b".
func permissions(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return strings.Split(s, ",")
	}
	return nil
}

// LongLived trades a short-lived token for a 60-day one (ig_exchange_token).
func (o *OAuth) LongLived(ctx context.Context, short string) (LongLivedToken, error) {
	v := url.Values{"grant_type": {"ig_exchange_token"}, "client_secret": {o.ClientSecret}, "access_token": {short}}
	return o.longToken(ctx, "/access_token?"+v.Encode(), "long-lived exchange")
}

// Refresh renews a long-lived token (ig_refresh_token). The platform
// refuses tokens younger than 24 hours or already expired.
func (o *OAuth) Refresh(ctx context.Context, long string) (LongLivedToken, error) {
	v := url.Values{"grant_type": {"ig_refresh_token"}, "access_token": {long}}
	return o.longToken(ctx, "/refresh_access_token?"+v.Encode(), "refresh")
}

func (o *OAuth) longToken(ctx context.Context, pathQuery, what string) (LongLivedToken, error) {
	var out struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   flexInt `json:"expires_in"`
	}
	g := o.caller()
	c := call{url: o.or(o.GraphBaseURL, DefaultGraphURL) + pathQuery}
	if _, err := g.getJSON(ctx, c, &out); err != nil {
		return LongLivedToken{}, fmt.Errorf("instagram: oauth %s: %w: %w", what, ErrOAuth, err)
	}
	if out.AccessToken == "" {
		return LongLivedToken{}, fmt.Errorf("instagram: oauth %s: %w: answer has no access_token", what, ErrOAuth)
	}
	return LongLivedToken{AccessToken: out.AccessToken, ExpiresIn: time.Duration(out.ExpiresIn) * time.Second}, nil
}

// Me returns the token's account; Account.UserID is the IG_ID webhooks
// carry as entry.id.
func (o *OAuth) Me(ctx context.Context, token string) (Account, error) {
	type wire struct {
		ID          flexString `json:"id"`
		UserID      flexString `json:"user_id"`
		Username    string     `json:"username"`
		Name        string     `json:"name"`
		AccountType string     `json:"account_type"`
	}
	var out struct {
		wire
		Data []wire `json:"data"`
	}
	u := o.or(o.GraphBaseURL, DefaultGraphURL) + "/" + o.or(o.Version, DefaultVersion) + "/me?fields=user_id,username,name,account_type"
	g := o.caller()
	if _, err := g.getJSON(ctx, call{url: u, token: token}, &out); err != nil {
		return Account{}, fmt.Errorf("instagram: /me: %w", err)
	}
	w := out.wire
	if w.UserID == "" && len(out.Data) > 0 {
		w = out.Data[0]
	}
	if w.UserID == "" {
		return Account{}, fmt.Errorf("instagram: /me: %w: answer has no user_id", ErrOAuth)
	}
	return Account{ID: string(w.ID), UserID: string(w.UserID), Username: w.Username, Name: w.Name, AccountType: w.AccountType}, nil
}

// Authorize runs the whole exchange for a callback code: short-lived token,
// long-lived token, then /me, and returns the token to store.
func (o *OAuth) Authorize(ctx context.Context, code string) (dmflow.Token, error) {
	short, err := o.Exchange(ctx, code)
	if err != nil {
		return dmflow.Token{}, err
	}
	long, err := o.LongLived(ctx, short.AccessToken)
	if err != nil {
		return dmflow.Token{}, err
	}
	me, err := o.Me(ctx, long.AccessToken)
	if err != nil {
		return dmflow.Token{}, err
	}
	now := o.now()
	return dmflow.Token{
		Account: me.UserID, AppUserID: short.AppUserID, Username: me.Username,
		AccessToken: long.AccessToken, Scopes: short.Permissions,
		IssuedAt: now, ExpiresAt: now.Add(long.ExpiresIn),
	}, nil
}

// StateCookie is the cookie holding the OAuth CSRF state between
// LoginHandler and CallbackHandler.
const StateCookie = "dmflow_ig_oauth_state"

// LoginHandler starts the flow: it sets a random state in an HttpOnly
// cookie and redirects to the consent dialog.
func (o *OAuth) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 32)
		rand.Read(b)
		state := hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name: StateCookie, Value: state, Path: "/", MaxAge: 600, HttpOnly: true,
			Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteLaxMode,
		})
		http.Redirect(w, r, o.AuthorizeURL(state), http.StatusFound)
	})
}

// CallbackHandler finishes the flow at RedirectURI: it checks the state
// against the cookie (403 on mismatch), reports a denied consent (400),
// runs Authorize and hands the token to onToken (store it, subscribe the
// account). It answers 200 when onToken returned nil, 502 otherwise.
func (o *OAuth) CallbackHandler(onToken func(ctx context.Context, t dmflow.Token) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := o.caller().log
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			log.Warn("instagram oauth: consent refused", "error", e, "reason", q.Get("error_reason"))
			http.Error(w, "Instagram authorization was refused: "+q.Get("error_description"), http.StatusBadRequest)
			return
		}
		if !stateMatches(r, q.Get("state")) {
			log.Warn("instagram oauth: state mismatch", "remote", r.RemoteAddr)
			http.Error(w, "invalid OAuth state", http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: StateCookie, Path: "/", MaxAge: -1})
		t, err := o.Authorize(r.Context(), q.Get("code"))
		if err == nil {
			err = onToken(r.Context(), t)
		}
		if err != nil {
			log.Error("instagram oauth: authorization failed", "err", err)
			http.Error(w, "Instagram authorization failed; see the server log", http.StatusBadGateway)
			return
		}
		log.Info("instagram oauth: account connected", "account", t.Account, "username", t.Username)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Instagram account @%s (%s) is connected.\n", t.Username, t.Account)
	})
}

func stateMatches(r *http.Request, state string) bool {
	c, err := r.Cookie(StateCookie)
	if err != nil || c.Value == "" || state == "" {
		return false
	}
	return secure.Equal(c.Value, strings.TrimSuffix(state, "#_"))
}
