package sandbox_test

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dmflow/dmflow/adapters/instagram"
	"github.com/dmflow/dmflow/sandbox"
)

// TestGuard: the studio refuses what another web page or a rebound DNS
// name can send, and accepts what the studio's own page and curl send.
func TestGuard(t *testing.T) {
	const token = "0123456789abcdef-public"
	send := `{"user":"ana","kind":"text","text":"hi"}`
	type hdr = map[string]string
	json := hdr{"Content-Type": "application/json"}
	with := func(a, b hdr) hdr {
		out := maps.Clone(a)
		maps.Copy(out, b)
		return out
	}
	// What Chromium sends for the studio's own fetch("api/send", {method: "POST", headers: JSON}).
	studioPost := with(json, hdr{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"})
	for _, tc := range []struct {
		name, method, path, host, body string
		headers                        hdr
		token                          string // Config.Token
		want                           int
	}{
		{"studio fetch post", "POST", "/api/send", "127.0.0.1:8080", send, studioPost, "", 200},
		{"studio fetch get", "GET", "/api/config", "127.0.0.1:8080", "", hdr{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, "", 200},
		{"studio event stream", "GET", "/api/messages?user=ana", "localhost:8080", "", hdr{"Sec-Fetch-Site": "same-origin"}, "", 200},
		{"page typed into the address bar", "GET", "/", "127.0.0.1:8080", "", hdr{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}, "", 200},
		{"page linked from another site", "GET", "/", "127.0.0.1:8080", "", hdr{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, "", 200},
		{"curl post without origin", "POST", "/api/send", "127.0.0.1:8080", send, json, "", 200},
		{"curl get", "GET", "/api/config", "127.0.0.1:8080", "", nil, "", 200},
		{"ipv6 loopback host", "GET", "/api/config", "[::1]:8080", "", nil, "", 200},
		{"other loopback address", "GET", "/api/config", "127.1.2.3", "", nil, "", 200},
		{"configured host", "GET", "/api/config", "studio.test:8080", "", nil, "", 200},
		{"json with charset", "POST", "/api/send", "127.0.0.1:8080", send, hdr{"Content-Type": "application/json; charset=utf-8"}, "", 200},

		{"foreign origin", "POST", "/api/send", "127.0.0.1:8080", send, with(json, hdr{"Origin": "https://evil.example"}), "", 403},
		{"origin of another local port", "POST", "/api/send", "127.0.0.1:8080", send, with(json, hdr{"Origin": "http://127.0.0.1:3000"}), "", 403},
		{"null origin", "POST", "/api/send", "127.0.0.1:8080", send, with(json, hdr{"Origin": "null"}), "", 403},
		{"cross-site fetch", "POST", "/api/send", "127.0.0.1:8080", send, with(json, hdr{"Sec-Fetch-Site": "cross-site"}), "", 403},
		{"same-site fetch (another localhost port)", "POST", "/api/send", "127.0.0.1:8080", send, with(json, hdr{"Sec-Fetch-Site": "same-site"}), "", 403},
		{"cross-site read of a session", "GET", "/api/messages?user=ana", "127.0.0.1:8080", "", hdr{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}, "", 403},
		{"text/plain form post", "POST", "/api/send", "127.0.0.1:8080", send, hdr{"Content-Type": "text/plain"}, "", 415},
		{"no content type", "POST", "/api/send", "127.0.0.1:8080", send, nil, "", 415},
		{"form urlencoded", "POST", "/api/reload", "127.0.0.1:8080", "{}", hdr{"Content-Type": "application/x-www-form-urlencoded"}, "", 415},
		{"foreign host (DNS rebinding) get", "GET", "/api/messages?user=ana", "evil.example:8080", "", nil, "", 403},
		{"foreign host post", "POST", "/api/send", "evil.example", send, json, "", 403},
		{"foreign host page", "GET", "/", "rebind.evil.example:8080", "", hdr{"Sec-Fetch-Mode": "navigate"}, "", 403},
		{"loopback-looking name", "GET", "/api/config", "127.0.0.1.evil.example", "", nil, "", 403},

		{"public: no token", "GET", "/api/config", "203.0.113.5:8080", "", nil, token, 403},
		{"public: wrong token", "GET", "/api/config", "203.0.113.5:8080", "", hdr{"Authorization": "Bearer nope"}, token, 403},
		{"public: bearer", "POST", "/api/send", "203.0.113.5:8080", send, with(json, hdr{"Authorization": "Bearer " + token}), token, 200},
		{"public: cookie", "GET", "/api/config", "203.0.113.5:8080", "", hdr{"Cookie": "dmflow_sandbox_token=" + token}, token, 200},
		{"public: query on the page", "GET", "/?token=" + token, "203.0.113.5:8080", "", hdr{"Sec-Fetch-Mode": "navigate"}, token, 303},
		{"public: token but foreign origin", "POST", "/api/send", "203.0.113.5:8080", send, with(json, hdr{"Authorization": "Bearer " + token, "Origin": "https://evil.example"}), token, 403},
		{"public: token but text/plain", "POST", "/api/send", "203.0.113.5:8080", send, hdr{"Authorization": "Bearer " + token, "Content-Type": "text/plain"}, token, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk := &sink{}
			wh := instagram.NewWebhook(instagram.WebhookConfig{AppSecrets: []string{secret}}, sk.put)
			sb, err := sandbox.New(sandbox.Config{Account: account, Secret: secret, Webhook: wh, Graph: graphStub(200),
				Hosts: []string{"studio.test:8080"}, Token: tc.token})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Host = tc.host
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			sb.Handler().ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want >= 400 && len(sk.all()) > 0 {
				t.Fatal("a refused request delivered input")
			}
			if tc.want == 303 {
				if c := w.Result().Cookies(); len(c) != 1 || c[0].Value != tc.token || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
					t.Fatalf("cookies %v: want the HttpOnly SameSite=Strict token cookie", c)
				}
				if loc := w.Header().Get("Location"); loc != "./" {
					t.Fatalf("Location %q, want ./ (the page without the token)", loc)
				}
			}
		})
	}
}
