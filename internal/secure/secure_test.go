package secure_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dmflow/dmflow/internal/secure"
)

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"token", "token", true},
		{"token", "tokem", false},
		{"token", "token-longer", false},
		{"token", "", false},
		{"Bearer abc", "Bearer abc", true},
	} {
		if got := secure.Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := secure.EqualBytes([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("EqualBytes(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestRedactor(t *testing.T) {
	var r secure.Redactor
	r.Add("KEY", "k3y")
	r.Add("KEY_LONG", "k3y-and-more")
	r.Add("BASE", "https://user:pw@api.internal:8443/v1")
	r.Add("EMPTY", "")
	for in, want := range map[string]string{
		"dial tcp: lookup k3y.invalid: no such host":          "dial tcp: lookup ${KEY}.invalid: no such host",
		"bad k3y-and-more here":                               "bad ${KEY_LONG} here",
		"dial tcp: lookup api.internal: no such host":         "dial tcp: lookup ${BASE}: no such host",
		"dial tcp api.internal:8443: connect refused":         "dial tcp ${BASE}: connect refused",
		"Get https://user:pw@api.internal:8443/v1/x: refused": "Get ${BASE}/x: refused",
		"nothing secret": "nothing secret",
		"":               "",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	var zero secure.Redactor
	if zero.Redact("k3y") != "k3y" {
		t.Error("the zero Redactor changed text")
	}
}

// TestClientRedirects: two servers on 127.0.0.1 (different ports are
// different hosts). A redirect within the first is followed without
// Referer, a 307 re-sending the body there; a redirect to the second is
// not followed: the caller gets the 3xx, and the second server sees nothing.
func TestClientRedirects(t *testing.T) {
	var mu sync.Mutex
	var otherHits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherHits++
		mu.Unlock()
	}))
	defer other.Close()
	var gotReferer, gotBody, gotSecret string
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		case "/away302":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		case "/final":
			b, _ := io.ReadAll(r.Body)
			gotReferer, gotBody, gotSecret = r.Header.Get("Referer"), string(b), r.Header.Get("X-Api-Key")
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer first.Close()
	c := secure.Client(nil)
	post := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, first.URL+path+"?key=s3cret", strings.NewReader("body"))
		req.Header.Set("X-Api-Key", "s3cret")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/same"); resp.StatusCode != http.StatusNoContent || gotBody != "body" || gotReferer != "" || gotSecret != "s3cret" {
		t.Fatalf("same-host 307: status %d body %q referer %q key %q", resp.StatusCode, gotBody, gotReferer, gotSecret)
	}
	for _, path := range []string{"/away", "/away302"} {
		if resp := post(path); resp.StatusCode/100 != 3 {
			t.Fatalf("POST %s: status %d, want the 3xx itself", path, resp.StatusCode)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if otherHits != 0 {
		t.Fatalf("the other host got %d requests", otherHits)
	}
	if http.DefaultClient.CheckRedirect != nil {
		t.Fatal("Client(nil) changed http.DefaultClient")
	}
}

func TestURLTextError(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"https://h.example:8080/a-b_c.d~e/%2F?q=1&r=[x]#f!$'()*+,;=@", -1},
		{"", -1},
		{"https://h/a b", 11},
		{"https://h/caf\u00e9", 13},
		{"https://h/100%", 13},
		{"https://h/%2", 10},
		{"https://h/%zz", 10},
		{"https://h/a|b", 11},
		{"https://h/\x7f", 10},
		{"https://h/\t", 10},
		{"https://h/{x}", 10},
		{"https://h/a\\b", 11},
	} {
		if got := secure.URLTextError(c.in); got != c.want {
			t.Errorf("URLTextError(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
