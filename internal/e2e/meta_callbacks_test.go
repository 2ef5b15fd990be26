package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/adapters/instagram/igtest"
	"github.com/dmflow/dmflow/internal/testutil"
)

// Meta's deauthorize and data deletion callbacks, with signed_requests
// built here as Meta builds them.

const publicURL = "https://bot.example.com"

// connectAccount stores a token for the double's account with `dmflow auth`
// (paste flow) and serves from it: no INSTAGRAM_ACCESS_TOKEN from now on.
func (w *world) connectAccount(args ...string) {
	w.t.Helper()
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	w.runAuth(publicURL+"/oauth/callback", func(authURL string, stdin io.Writer) {
		resp, err := noFollow.Get(authURL)
		if err != nil {
			w.t.Error(err)
			return
		}
		resp.Body.Close()
		fmt.Fprintln(stdin, resp.Header.Get("Location"))
	}, append([]string{"--no-subscribe"}, args...)...)
	var env []string
	for _, e := range w.env {
		if !strings.HasPrefix(e, "INSTAGRAM_ACCESS_TOKEN=") {
			env = append(env, e)
		}
	}
	w.env = env
}

// metaPost posts a signed_request form to path and returns the status and
// the body.
func (w *world) metaPost(path string, payload any, secret string) (int, string) {
	w.t.Helper()
	sr, err := instagram.SignRequest(payload, secret)
	if err != nil {
		w.t.Fatal(err)
	}
	resp, err := w.client.PostForm(w.current().url+path, url.Values{"signed_request": {sr}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func removedApp() map[string]any {
	return map[string]any{"algorithm": "HMAC-SHA256", "issued_at": time.Now().Unix(), "user_id": igtest.DefaultAppUserID}
}

// metaCallbacks runs the callbacks against the current server, which
// serves the connected account; tables lists where the store keeps text
// (nil: skip that check).
func (w *world) metaCallbacks(tables func(string) []string) {
	t := w.t
	t.Helper()
	w.converse()
	// Forged requests change nothing.
	for _, p := range []string{"/instagram/deauthorize", "/instagram/data-deletion"} {
		if code, body := w.metaPost(p, removedApp(), "not-the-app-secret"); code != http.StatusForbidden {
			t.Fatalf("forged %s: %d %s", p, code, body)
		}
	}
	if code, _ := w.metaPost("/instagram/data-deletion", map[string]any{"algorithm": "none", "user_id": "1"}, appSecret); code != http.StatusBadRequest {
		t.Fatalf("wrong algorithm: %d", code)
	}
	if x := w.adminCLI("export", account+"/p1"); !strings.Contains(x, forgetSecret) {
		t.Fatalf("a forged request changed the data:\n%s", x)
	}
	w.mustPost(w.text("p2", "m-p2-3", "still served"))
	w.waitReplies("p2", 3, 20*time.Second)

	// Deauthorize: the token goes, sending stops (replies are dead-lettered).
	if code, body := w.metaPost("/instagram/deauthorize", removedApp(), appSecret); code != http.StatusOK || !strings.Contains(body, `"accounts":1`) {
		t.Fatalf("deauthorize: %d %s", code, body)
	}
	sent := len(w.graph.Messages())
	w.mustPost(w.text("p2", "m-p2-4", "after deauthorize"))
	deadline := time.Now().Add(testutil.Scale(20 * time.Second))
	for {
		if _, body := w.admin(http.MethodGet, "/admin/deadletters", ""); strings.Contains(body, "re-authorization") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reply was dead-lettered after deauthorize")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(w.graph.Messages()); n != sent {
		t.Fatalf("%d messages sent after deauthorize", n-sent)
	}

	// Data deletion: the account's conversations go; the answer links a
	// status page.
	code, body := w.metaPost("/instagram/data-deletion", removedApp(), appSecret)
	var ans struct {
		URL  string `json:"url"`
		Code string `json:"confirmation_code"`
	}
	if err := json.Unmarshal([]byte(body), &ans); code != http.StatusOK || err != nil || ans.Code == "" ||
		ans.URL != publicURL+"/instagram/data-deletion/status?code="+url.QueryEscape(ans.Code) {
		t.Fatalf("data deletion: %d %s", code, body)
	}
	for _, u := range []string{"p1", "p2"} {
		if x := w.adminCLI("export", account+"/"+u); strings.Contains(x, forgetSecret) || strings.Contains(x, keepSecret) || !strings.Contains(x, `"session": null`) {
			t.Fatalf("after data deletion, %s still has:\n%s", u, x)
		}
	}
	if tables != nil {
		for _, s := range []string{forgetSecret, keepSecret} {
			if n := tables(s); len(n) > 0 {
				t.Fatalf("after data deletion the text is in tables %v", n)
			}
		}
	}
	status := strings.TrimPrefix(ans.URL, publicURL)
	resp, err := w.client.Get(w.current().url + status)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Data deletion: completed") {
		t.Fatalf("status page: %d %s", resp.StatusCode, page)
	}
	resp, err = w.client.Get(w.current().url + "/instagram/data-deletion/status?code=" + ans.Code[:len(ans.Code)-2] + "xx")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("tampered code: %d", resp.StatusCode)
	}
}

func TestMetaCallbacksBolt(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.connectAccount()
	w.start("--public-url", publicURL)
	w.metaCallbacks(nil)
}

func TestMetaCallbacksPostgres(t *testing.T) {
	w := newWorld(t, worldOpts{})
	c := clusterOn(w, 0, 30*time.Second, "--public-url", publicURL)
	w.connectAccount("--store", c.store)
	c.add()
	w.metaCallbacks(func(s string) []string { return pgTablesContaining(t, c.store, s) })
}
