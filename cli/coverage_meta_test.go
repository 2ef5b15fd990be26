package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
	"github.com/dmflow/dmflow/store/bolt"
)

// Meta's deauthorize and data deletion callbacks of an in-process serve
// that sends with the tokens `dmflow auth` stored (no
// INSTAGRAM_ACCESS_TOKEN).

const (
	metaPublicURL = "https://bot.example.com"
	// A second connected account, removed by its own app user.
	otherAccount = "17841400000000077"
	otherAppUser = "27841400000000077"
)

// connectedBolt is a closed bbolt file with a stored token for the
// double's account and for otherAccount, and one session of each.
func connectedBolt(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "connected.db")
	db, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	for _, tok := range []dmflow.Token{
		{Account: igtest.DefaultAccount, AppUserID: igtest.DefaultAppUserID, AccessToken: testAccessToken},
		{Account: otherAccount, AppUserID: otherAppUser, AccessToken: "IGAAothertoken"},
	} {
		tok.IssuedAt, tok.ExpiresAt = now.Add(-time.Hour), now.Add(50*24*time.Hour)
		if err := db.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		s := dmflow.Session{Key: dmflow.SessionKey{Account: tok.Account, User: "u-old"}, Flow: "greet", FlowVersion: 1,
			State: "hello", Created: now.Add(-time.Hour), Updated: now.Add(-time.Hour)}
		if err := db.Commit(ctx, dmflow.Commit{Key: s.Key, Session: &s, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// metaForm posts form to path and returns the status and body.
func metaForm(t *testing.T, base, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := testHTTP.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signed is a signed_request form removing the app for userID.
func signed(t *testing.T, userID any, secret string) url.Values {
	t.Helper()
	sr, err := instagram.SignRequest(map[string]any{"algorithm": "HMAC-SHA256", "issued_at": time.Now().Unix(), "user_id": userID}, secret)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"signed_request": {sr}}
}

func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := testHTTP.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetaCallbacksStoredTokens: forged or malformed callbacks change
// nothing; deauthorize drops one account's token (its replies are then
// dead-lettered); data deletion erases an account's conversations and
// answers a status link under --public-url that reports completion.
func TestMetaCallbacksStoredTokens(t *testing.T) {
	graph := igtest.NewServer(igtest.Config{AccessTokens: map[string]string{
		testAccessToken: igtest.DefaultAccount, "IGAAothertoken": otherAccount}})
	t.Cleanup(graph.Close)
	env := envMap{"INSTAGRAM_CLIENT_SECRET": testAppSecret, "INSTAGRAM_WEBHOOK_VERIFY_TOKEN": testVerifyToken,
		"DMFLOW_ADMIN_TOKEN": testAdminToken, "DMFLOW_GRAPH_URL": graph.URL}
	srv := startServe(t, env, "--db", connectedBolt(t), "--flows", writeFile(t, "greet.yaml", greetFlow), "--public-url", metaPublicURL+"/")
	admin := envMap{"DMFLOW_URL": srv.URL, "DMFLOW_ADMIN_TOKEN": testAdminToken}
	exported := func(key string) string {
		t.Helper()
		code, out, errs := runCmd(t, admin, "admin", "export", key)
		if code != exitOK {
			t.Fatalf("admin export %s: exit %d: %s", key, code, errs)
		}
		return out
	}

	for _, tc := range []struct {
		name, path string
		form       url.Values
		code       int
		want       string
	}{
		{"forged deauthorize", "/instagram/deauthorize", signed(t, igtest.DefaultAppUserID, "not-the-secret"), http.StatusForbidden, "bad signature"},
		{"forged data deletion", "/instagram/data-deletion", signed(t, igtest.DefaultAppUserID, "not-the-secret"), http.StatusForbidden, "bad signature"},
		{"no signed_request", "/instagram/data-deletion", url.Values{"other": {"x"}}, http.StatusBadRequest, "want signature.payload"},
		{"not signed at all", "/instagram/deauthorize", url.Values{"signed_request": {"abc.def"}}, http.StatusBadRequest, "not a base64url HMAC-SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := metaForm(t, srv.URL, tc.path, tc.form); code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d and %q", code, body, tc.code, tc.want)
			}
		})
	}
	// A body that is no form at all.
	resp, err := testHTTP.Post(srv.URL+"/instagram/deauthorize", "application/x-www-form-urlencoded", strings.NewReader("signed_request=%zz"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "want a form with signed_request") {
		t.Fatalf("malformed form: %s %s", resp.Status, b)
	}
	if x := exported(igtest.DefaultAccount + "/u-old"); !strings.Contains(x, `"state": "hello"`) {
		t.Fatalf("refused callbacks changed the data:\n%s", x)
	}

	// Deauthorize otherAccount (user_id as a JSON number, as Meta may send it).
	if code, body := metaForm(t, srv.URL, "/instagram/deauthorize", signed(t, json.Number(otherAppUser), testAppSecret)); code != http.StatusOK ||
		!strings.Contains(body, `"accounts":1`) || !strings.Contains(body, `"status":"deauthorized"`) {
		t.Fatalf("deauthorize: %d %s", code, body)
	}
	wh := igtest.Webhook{Secret: testAppSecret}
	for _, m := range []struct{ account, mid string }{{otherAccount, "m-other"}, {igtest.DefaultAccount, "m-default"}} {
		if code, err := wh.Post(context.Background(), testHTTP, srv.URL+"/webhook/instagram", wh.Text(m.account, "u-new", m.mid, "hi")); err != nil || code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, err)
		}
	}
	var dead string
	waitFor(t, testutil.Wait, "the deauthorized account's reply to be dead-lettered", func() bool {
		_, dead, _ = runCmd(t, admin, "admin", "--account", otherAccount, "deadletters")
		return strings.Contains(dead, "re-authoriz")
	})
	if !strings.Contains(dead, otherAccount+"/u-new") || !strings.Contains(dead, "SEQ") {
		t.Fatalf("dead letters:\n%s", dead)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scale(testutil.Wait))
	defer cancel()
	msgs, err := graph.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.RecipientID != "u-new" || m.Text() != "Hi there!" {
			t.Fatalf("sent %q to %s", m.Text(), m.RecipientID)
		}
	}

	// Data deletion for the double's account.
	code, body := metaForm(t, srv.URL, "/instagram/data-deletion", signed(t, igtest.DefaultAppUserID, testAppSecret))
	var ans struct {
		URL  string `json:"url"`
		Code string `json:"confirmation_code"`
	}
	if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil || ans.Code == "" ||
		ans.URL != metaPublicURL+"/instagram/data-deletion/status?code="+url.QueryEscape(ans.Code) {
		t.Fatalf("data deletion: %d %s", code, body)
	}
	for _, u := range []string{"u-old", "u-new"} {
		if x := exported(igtest.DefaultAccount + "/" + u); !strings.Contains(x, `"session": null`) {
			t.Fatalf("after data deletion %s still has:\n%s", u, x)
		}
	}
	if x := exported(otherAccount + "/u-old"); !strings.Contains(x, `"state": "hello"`) {
		t.Fatalf("data deletion of one account erased another's:\n%s", x)
	}
	status := srv.URL + strings.TrimPrefix(ans.URL, metaPublicURL)
	if code, page := getPage(t, status); code != http.StatusOK || !strings.Contains(page, "Data deletion: completed") ||
		!strings.Contains(page, "has been deleted") {
		t.Fatalf("status page: %d %s", code, page)
	}
	// One character changed (to one it is not: a code may end in any
	// character), for the sealed code's authentication to catch.
	other := map[bool]string{true: "B", false: "A"}[ans.Code[len(ans.Code)-2] == 'A']
	tampered := ans.Code[:len(ans.Code)-2] + other + ans.Code[len(ans.Code)-1:]
	for _, bad := range []string{tampered, "!!", "", strings.Repeat("A", 5000)} {
		if code, _ := getPage(t, srv.URL+"/instagram/data-deletion/status?code="+url.QueryEscape(bad)); code != http.StatusNotFound {
			t.Fatalf("code %.20q: %d, want 404", bad, code)
		}
	}
}

// TestMetaCallbacksStaticToken: with INSTAGRAM_ACCESS_TOKEN and no public
// URL, a removal names no stored account: nothing is erased, the status
// link is relative and its page says no data was stored. The redirect
// URI's origin is the public base when it is set.
func TestMetaCallbacksStaticToken(t *testing.T) {
	for _, tc := range []struct {
		name, redirect, base string
	}{
		{"no public URL", "", ""},
		{"redirect URI origin", "https://auth.example.com/oauth/cb", "https://auth.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := instagramEnv(newGraph(t))
			if tc.redirect != "" {
				env["INSTAGRAM_REDIRECT_URI"] = tc.redirect
			}
			srv := startServe(t, env, "--db", filepath.Join(t.TempDir(), "d.db"), "--flows", writeFile(t, "greet.yaml", greetFlow))
			if code, body := metaForm(t, srv.URL, "/instagram/deauthorize", signed(t, "12345", testAppSecret)); code != http.StatusOK || !strings.Contains(body, `"accounts":0`) {
				t.Fatalf("deauthorize: %d %s", code, body)
			}
			if !strings.Contains(srv.Err.String(), "remove that token from the configuration") {
				t.Fatalf("no warning about the configured token in the log:\n%s", srv.Err)
			}
			code, body := metaForm(t, srv.URL, "/instagram/data-deletion", signed(t, "12345", testAppSecret))
			var ans struct{ URL string }
			if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil ||
				!strings.HasPrefix(ans.URL, tc.base+"/instagram/data-deletion/status?code=") {
				t.Fatalf("data deletion: %d %s", code, body)
			}
			if code, page := getPage(t, srv.URL+strings.TrimPrefix(ans.URL, tc.base)); code != http.StatusOK ||
				!strings.Contains(page, "Data deletion: completed") || !strings.Contains(page, "stored no data") {
				t.Fatalf("status page: %d %s", code, page)
			}
		})
	}
}
