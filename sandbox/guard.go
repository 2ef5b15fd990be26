package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// tokenCookie holds Config.Token in the browser after /?token=… once.
const tokenCookie = "dmflow_sandbox_token"

// guard is the studio's protection against other web pages and DNS
// rebinding (docs/studio.md, "Who can reach the studio"). Every request:
//
//   - Host must be loopback (localhost, 127.0.0.0/8, [::1], any port) or
//     one of Config.Hosts, so a rebound DNS name cannot read the studio; with
//     Config.Token any Host is accepted, the token then carries the check;
//   - with Config.Token, the token must come as "Authorization: Bearer", as
//     the cookie a "?token=" page visit sets, or as that "?token=" itself;
//   - Origin, when present, must be the request's own origin, and
//     Sec-Fetch-Site must not be cross-site or same-site (another port of
//     localhost is same-site), except for a top-level navigation to the
//     page (GET of a non-API path), which reads nothing;
//   - anything but GET and HEAD must be Content-Type: application/json, which
//     a form or a no-cors fetch from another page cannot send.
//
// Refusals are 403 (415 for the content type) with a JSON error.
func (s *Sandbox) guard(h http.Handler) http.Handler {
	var want [sha256.Size]byte
	if s.cfg.Token != "" {
		want = sha256.Sum256([]byte(s.cfg.Token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, err := s.admit(r, want)
		if err != nil {
			s.cfg.Logger.Warn("sandbox: request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
			writeError(w, status, err)
			return
		}
		if s.cfg.Token != "" && r.URL.Query().Has("token") && r.Method == http.MethodGet && !isAPI(r) {
			s.keepToken(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// keepToken answers a page visit with ?token=: it stores the token in an
// HttpOnly, SameSite=Strict cookie and redirects to the same page without
// it, so the token does not stay in the address bar, the history or a
// Referer. The redirect is relative: the handler may be mounted under a
// prefix it cannot see.
func (s *Sandbox) keepToken(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.cfg.Token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	q := r.URL.Query()
	q.Del("token")
	loc := "./"
	if i := strings.LastIndex(r.URL.Path, "/"); i >= 0 && i < len(r.URL.Path)-1 {
		loc = "./" + url.PathEscape(r.URL.Path[i+1:])
	}
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// admit applies the guard's rules to r.
func (s *Sandbox) admit(r *http.Request, want [sha256.Size]byte) (int, error) {
	if s.cfg.Token == "" && !s.allowedHost(r.Host) {
		return http.StatusForbidden, errors.New("sandbox: Host " + quoteHost(r.Host) + " is not a loopback address (DNS rebinding?); open the studio at http://127.0.0.1:<port>/sandbox/")
	}
	if s.cfg.Token != "" && !tokenOK(r, want) {
		return http.StatusForbidden, errors.New("sandbox: this studio needs its public token: open /sandbox/?token=TOKEN, or send Authorization: Bearer TOKEN")
	}
	navigation := (r.Method == http.MethodGet || r.Method == http.MethodHead) && !isAPI(r) &&
		r.Header.Get("Sec-Fetch-Mode") == "navigate"
	if o := r.Header.Get("Origin"); o != "" && !navigation && !sameOrigin(o, r.Host) {
		return http.StatusForbidden, errors.New("sandbox: cross-origin request refused (Origin " + o + ")")
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		if !navigation {
			return http.StatusForbidden, errors.New("sandbox: request from another site refused (Sec-Fetch-Site " + r.Header.Get("Sec-Fetch-Site") + ")")
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return http.StatusUnsupportedMediaType, errors.New("sandbox: want Content-Type: application/json")
		}
	}
	return 0, nil
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// allowedHost reports whether the Host header names a loopback address or
// one of Config.Hosts (host:port or host, compared case-insensitively).
func (s *Sandbox) allowedHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range s.cfg.Hosts {
		if strings.EqualFold(h, hostport) || strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether the Origin header names the request's host
// (http or https, same host and port).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" && u.Path != "/" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// tokenOK compares the presented token's hash with want in constant time.
func tokenOK(r *http.Request, want [sha256.Size]byte) bool {
	var got string
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		got = strings.TrimPrefix(a, "Bearer ")
	} else if c, err := r.Cookie(tokenCookie); err == nil {
		got = c.Value
	} else {
		got = r.URL.Query().Get("token")
	}
	h := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(h[:], want[:]) == 1
}

func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, h) + `"`
}
