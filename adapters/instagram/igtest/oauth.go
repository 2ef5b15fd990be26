package igtest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// oauthError renders the api.instagram.com error shape.
func oauthError(w http.ResponseWriter, msg string) {
	writeJSON(w, 400, map[string]any{"error_type": "OAuthException", "code": 400, "error_message": msg})
}

// authorize is the consent dialog: it approves at once and redirects to
// redirect_uri with a one-hour, single-use code (with Instagram's "#_").
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != s.cfg.AppID:
		oauthError(w, "Invalid platform app")
		return
	case q.Get("response_type") != "code":
		oauthError(w, "Invalid response_type")
		return
	case q.Get("redirect_uri") == "":
		oauthError(w, "Invalid redirect_uri")
		return
	}
	code := s.NewCode(q.Get("redirect_uri"), q.Get("scope"))
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		oauthError(w, "Invalid redirect_uri")
		return
	}
	v := back.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String()+"#_", http.StatusFound)
}

// NewCode issues an authorization code for redirectURI, as if the user had
// approved the consent dialog.
func (s *Server) NewCode(redirectURI, scopes string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	code := "AQB" + randHex(s.rng, 24)
	s.codes[code] = &authCode{redirect: redirectURI, scopes: scopes, expires: s.now().Add(time.Hour)}
	return code
}

// exchangeCode is POST api.instagram.com/oauth/access_token.
func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "Invalid request body")
		return
	}
	f := r.PostForm
	if f.Get("client_id") != s.cfg.AppID || f.Get("client_secret") != s.cfg.AppSecret {
		oauthError(w, "Invalid Client ID or secret")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, "Invalid grant_type")
		return
	}
	s.mu.Lock()
	c, ok := s.codes[f.Get("code")]
	delete(s.codes, f.Get("code"))
	valid := ok && c.redirect == f.Get("redirect_uri") && !s.now().After(c.expires)
	var tok string
	if valid {
		tok = s.mintLocked(s.cfg.Account, false, "")
	}
	s.mu.Unlock()
	if !valid {
		oauthError(w, "Matching code was not found or was already used")
		return
	}
	perms := strings.Split(c.scopes, ",")
	if s.cfg.OAuthDataWrapped {
		// The documented shape: permissions as one comma-joined string.
		writeRaw(w, `{"data":[{"access_token":"`+tok+`","user_id":"`+DefaultAppUserID+`","permissions":"`+strings.Join(perms, ",")+`"}]}`)
		return
	}
	permsJSON := `["` + strings.Join(perms, `","`) + `"]`
	// user_id as a bare number above 2^53, as production sends it.
	writeRaw(w, `{"access_token":"`+tok+`","user_id":`+DefaultAppUserID+`,"permissions":`+permsJSON+`}`)
}

func writeRaw(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(body))
}

// exchangeLong is GET graph.instagram.com/access_token?grant_type=ig_exchange_token.
func (s *Server) exchangeLong(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "ig_exchange_token" {
		writeError(w, 400, apiErr{Code: 100, Message: "Unsupported grant_type"})
		return
	}
	if q.Get("client_secret") != s.cfg.AppSecret {
		writeError(w, 400, apiErr{Code: 101, Message: "Error validating client secret."})
		return
	}
	s.swapToken(w, q.Get("access_token"), func(t *token) *apiErr {
		if t.long {
			return &apiErr{Code: 452, Message: "Session key invalid. This token is already long-lived."}
		}
		return nil
	})
}

// refresh is GET graph.instagram.com/refresh_access_token: the token must
// be long-lived, at least 24 hours old and unexpired.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "ig_refresh_token" {
		writeError(w, 400, apiErr{Code: 100, Message: "Unsupported grant_type"})
		return
	}
	s.swapToken(w, q.Get("access_token"), func(t *token) *apiErr {
		if !t.long || s.now().Sub(t.issued) < 24*time.Hour {
			return &apiErr{Code: 190, Message: "Error validating access token: the token must be at least 24 hours old to be refreshed."}
		}
		return nil
	})
}

// swapToken checks the presented token with check and answers with a new
// long-lived token for the same account.
func (s *Server) swapToken(w http.ResponseWriter, tok string, check func(*token) *apiErr) {
	s.mu.Lock()
	t, ok := s.tokens[tok]
	var e *apiErr
	switch {
	case !ok:
		e = &apiErr{Code: 190, Message: "Invalid OAuth access token - Cannot parse access token"}
	case s.now().After(t.expires):
		e = &apiErr{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired."}
	default:
		e = check(t)
	}
	var fresh string
	if e == nil {
		fresh = s.mintLocked(t.account, true, "")
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": fresh, "token_type": "bearer", "expires_in": 5183944})
}

// me is GET /me?fields=user_id,username,...
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	acct, e := s.authAccount(r)
	if e != nil {
		writeError(w, 400, *e)
		return
	}
	all := map[string]any{
		"id": DefaultAppUserID, "user_id": acct, "username": s.cfg.Username,
		"name": "Acme Inc.", "account_type": "Business",
	}
	writeJSON(w, 200, pick(all, r.URL.Query().Get("fields"), "id"))
}

// pick keeps the requested fields of all (and always the key field).
func pick(all map[string]any, fields, always string) map[string]any {
	out := map[string]any{always: all[always]}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := all[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	return out
}
