package cli

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
)

// Meta's app callbacks (App Dashboard → Instagram → API setup with
// Instagram business login → "Deauthorize callback URL" and "Data deletion
// request URL"): Meta POSTs a form with signed_request when a person
// removes the app. With Instagram business login, the person who can
// remove the app is the business: user_id is the business account's
// app-scoped Instagram user id, which dmflow knows from its stored tokens
// (Token.AppUserID, or Token.Account). DM customers never authorize the
// app, so the callbacks never name one; erasing a customer is `dmflow
// admin forget`. See docs/operations.md, "Personal data".

// personalRoutes mounts Meta's deauthorize and data deletion callbacks and
// the deletion status page.
func (s *server) personalRoutes(mux *http.ServeMux) {
	mux.Handle("POST /instagram/deauthorize", s.metaCallback("deauthorize", s.deauthorize))
	mux.Handle("POST /instagram/data-deletion", s.metaCallback("data deletion", s.dataDeletion))
	mux.HandleFunc("GET /instagram/data-deletion/status", s.deletionStatus)
}

// appSecrets are the secrets Meta signs with (as for webhooks).
func (s *server) appSecrets() []string {
	if s.sandbox != nil {
		return []string{s.sandbox.Secret}
	}
	return []string{s.cfg.Instagram.ClientSecret, s.cfg.Instagram.MetaAppSecret}
}

// metaCallback verifies the signed_request and hands its payload to fn. A
// bad signature answers 403 and a malformed request 400; neither changes
// anything.
func (s *server) metaCallback(what string, fn func(http.ResponseWriter, *http.Request, *instagram.SignedRequest)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": "want a form with signed_request"})
			return
		}
		sr, err := instagram.ParseSignedRequest(r.PostForm.Get("signed_request"), s.appSecrets()...)
		switch {
		case errors.Is(err, instagram.ErrBadSignedRequest):
			s.log.Warn("meta "+what+" callback: bad signature", "remote", r.RemoteAddr)
			writeJSONStatus(w, http.StatusForbidden, map[string]string{"error": "bad signature"})
			return
		case err != nil:
			writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		fn(w, r, sr)
	})
}

// accountsOf returns the business accounts whose stored token belongs to
// the app-scoped user id.
func (s *server) accountsOf(ctx context.Context, userID string) ([]string, error) {
	toks, err := s.store.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range toks {
		if t.AppUserID == userID || t.Account == userID {
			out = append(out, t.Account)
		}
	}
	return out, nil
}

// dropToken removes the account's access token and flags it for
// re-authorization: its sends stop (replies are dead-lettered as
// "needs re-authorization") until `dmflow auth` runs again.
func (s *server) dropToken(ctx context.Context, account string) error {
	t, err := s.store.GetToken(ctx, account)
	if err != nil {
		return err
	}
	t.AccessToken, t.NeedsReauth, t.Scopes = "", true, nil
	if s.tokens != nil {
		return s.tokens.Put(ctx, *t)
	}
	return s.store.PutToken(ctx, *t)
}

func (s *server) deauthorize(w http.ResponseWriter, r *http.Request, sr *instagram.SignedRequest) {
	accounts, err := s.accountsOf(r.Context(), sr.UserID)
	for _, a := range accounts {
		if err == nil {
			err = s.dropToken(r.Context(), a)
		}
	}
	if err != nil {
		s.log.Error("meta deauthorize callback", "err", err)
		writeJSONStatus(w, http.StatusInternalServerError, map[string]string{"error": "could not drop the token; Meta retries"})
		return
	}
	if len(accounts) == 0 && s.cfg.Instagram.AccessToken != "" {
		s.log.Warn("meta deauthorize callback for an account served with INSTAGRAM_ACCESS_TOKEN: remove that token from the configuration")
	}
	s.log.Info("meta deauthorize callback: tokens dropped", "accounts", len(accounts))
	writeJSONStatus(w, http.StatusOK, map[string]any{"status": "deauthorized", "accounts": len(accounts)})
}

func (s *server) dataDeletion(w http.ResponseWriter, r *http.Request, sr *instagram.SignedRequest) {
	ctx := r.Context()
	accounts, err := s.accountsOf(ctx, sr.UserID)
	for _, a := range accounts {
		if err == nil {
			err = s.dropToken(ctx, a)
		}
		if err == nil {
			_, err = s.bot.ForgetAccount(ctx, a)
		}
	}
	if err != nil {
		s.log.Error("meta data deletion callback", "err", err)
		writeJSONStatus(w, http.StatusInternalServerError, map[string]string{"error": "deletion failed; Meta retries"})
		return
	}
	code, err := s.sealCode(deletionCode{UserID: sr.UserID, Accounts: accounts, At: time.Now().Unix()})
	if err != nil {
		writeJSONStatus(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("meta data deletion callback: data erased", "accounts", len(accounts))
	writeJSONStatus(w, http.StatusOK, map[string]string{
		"url":               s.publicBase() + "/instagram/data-deletion/status?code=" + url.QueryEscape(code),
		"confirmation_code": code,
	})
}

// publicBase is the configured public URL, else the redirect URI's
// origin (configuration, never a request's Host header), else "".
func (s *server) publicBase() string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	if u, err := url.Parse(s.cfg.Instagram.RedirectURI); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	s.log.Warn("data deletion status link is relative: set --public-url")
	return ""
}

// deletionCode is what a confirmation code carries, sealed (AES-GCM with a
// key derived from the app secret), so the status page needs no state and
// the code reveals nothing.
type deletionCode struct {
	UserID   string   `json:"u"`
	Accounts []string `json:"a,omitempty"`
	At       int64    `json:"t"`
}

func (s *server) codeAEAD() (cipher.AEAD, error) {
	var secret string
	for _, v := range s.appSecrets() {
		if v != "" {
			secret = v
			break
		}
	}
	if secret == "" {
		return nil, errors.New("no app secret")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("dmflow data deletion confirmation code"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *server) sealCode(c deletionCode) (string, error) {
	aead, err := s.codeAEAD()
	if err != nil {
		return "", err
	}
	plain, _ := json.Marshal(c)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil)), nil
}

func (s *server) openCode(code string) (*deletionCode, bool) {
	aead, err := s.codeAEAD()
	if err != nil || len(code) > 4096 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(code) // one spelling per code
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, false
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return nil, false
	}
	var c deletionCode
	return &c, json.Unmarshal(plain, &c) == nil
}

// deletionStatus tells whether the data of a deletion request is gone:
// the accounts' tokens are dropped and none of their conversations that
// began before the request is stored.
func (s *server) deletionStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := s.openCode(r.URL.Query().Get("code"))
	if !ok {
		http.Error(w, "unknown confirmation code", http.StatusNotFound)
		return
	}
	at := time.Unix(c.At, 0).UTC()
	done, err := s.deletionDone(r.Context(), c, at)
	if err != nil {
		http.Error(w, "status unavailable, try again later", http.StatusServiceUnavailable)
		return
	}
	status, detail := "completed", "The data this app stored about the Instagram account that removed it (its access token and its customers' conversations) has been deleted."
	if len(c.Accounts) == 0 {
		detail = "This app stored no data about the account that removed it."
	}
	if !done {
		status, detail = "in progress", "The deletion has not finished yet; this page shows when it has."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "<!doctype html><title>Data deletion status</title><h1>Data deletion: %s</h1><p>%s</p><p>Request received %s (UTC).</p>\n",
		html.EscapeString(status), html.EscapeString(detail), at.Format("2006-01-02 15:04"))
}

func (s *server) deletionDone(ctx context.Context, c *deletionCode, at time.Time) (bool, error) {
	for _, a := range c.Accounts {
		t, err := s.store.GetToken(ctx, a)
		if err == nil && t.AccessToken != "" && t.IssuedAt.Before(at) {
			return false, nil
		}
		if err != nil && !errors.Is(err, dmflow.ErrNotFound) {
			return false, err
		}
		ss, err := s.store.ListSessions(ctx, dmflow.SessionFilter{Account: a, Limit: 10000})
		if err != nil {
			return false, err
		}
		for _, x := range ss {
			if x.Created.Before(at) {
				return false, nil
			}
		}
	}
	return true, nil
}

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
