// Package secure holds the few rules every part of dmflow applies to
// secrets and outgoing HTTP, so that each is implemented once:
//
//   - [Equal] compares tokens, signatures and other secrets in time that
//     depends on neither value nor length;
//   - [Redactor] removes resolved secret values from text that leaves the
//     process (errors, logs, results);
//   - [Client] makes an HTTP client that follows redirects only to the same
//     origin, without Referer.
package secure

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Equal reports whether a and b are equal, in constant time. Both sides
// are hashed with SHA-256 first, so neither the time nor an early return
// on a length mismatch tells an attacker how long the secret is or how
// much of a guess was right.
func Equal(a, b string) bool {
	return EqualBytes([]byte(a), []byte(b))
}

// EqualBytes is Equal for byte slices (e.g. decoded signatures).
func EqualBytes(a, b []byte) bool {
	ha, hb := sha256.Sum256(a), sha256.Sum256(b)
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// A Redactor replaces secret values in text by their names. The zero value
// redacts nothing. Add and Redact must not run concurrently.
type Redactor struct {
	pairs []pair // longest value first
}

type pair struct{ value, ref string }

// Add registers the value of the secret name: Redact replaces it by
// "${name}". When the value is a URL, its host (with and without port) and
// user info are registered too, since transport errors name them on their
// own ("dial tcp: lookup api.internal: no such host"). Empty values are
// ignored.
func (r *Redactor) Add(name, value string) {
	ref := "${" + name + "}"
	r.add(value, ref)
	if u, err := url.Parse(value); err == nil && u.Host != "" && strings.Contains(value, "://") {
		r.add(u.Host, ref)
		r.add(u.Hostname(), ref)
		if u.User != nil {
			r.add(u.User.String(), ref)
		}
	}
}

func (r *Redactor) add(v, ref string) {
	if v == "" || slices.ContainsFunc(r.pairs, func(p pair) bool { return p.value == v }) {
		return
	}
	r.pairs = append(r.pairs, pair{v, ref})
	// Longest first, so that a value containing another is replaced whole.
	slices.SortStableFunc(r.pairs, func(a, b pair) int { return len(b.value) - len(a.value) })
}

// Redact returns s with every registered value replaced.
func (r *Redactor) Redact(s string) string {
	if len(r.pairs) == 0 || s == "" {
		return s
	}
	args := make([]string, 0, 2*len(r.pairs))
	for _, p := range r.pairs {
		args = append(args, p.value, p.ref)
	}
	return strings.NewReplacer(args...).Replace(s)
}

// Client returns a copy of c (nil: http.DefaultClient) that follows
// redirects only within the origin (scheme, host and port) of the first
// request, at most 10 of them, and never sends a Referer. A redirect to
// another origin is not followed: the client returns the 3xx response
// itself, so callers see its status. Since a 307 or 308 re-sends the body
// and every header the request carried, this keeps both with the host the
// request was meant for.
func Client(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cp := *c
	cp.CheckRedirect = CheckRedirect
	return &cp
}

// CheckRedirect is the http.Client.CheckRedirect of Client.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	req.Header.Del("Referer")
	if len(via) == 0 {
		return nil
	}
	if len(via) >= 10 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if origin(req.URL) != origin(via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}

// origin is scheme://host:port with the default port made explicit and the
// host lowercased.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// ValidHeaderName reports whether s is an HTTP field name (an RFC 9110
// token).
func ValidHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return s != ""
}

// ValidHeaderValue reports whether s may be sent as an HTTP field value:
// no control characters but tab (so no CR or LF that would end the field).
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// URLTextError returns the offset of the first byte of s that may not
// stand as it is in URL text (RFC 3986: anything but the unreserved and
// reserved characters, or a "%" that does not start a %XX escape), or -1.
// Such a byte (a space, a control character, non-ASCII, one of "<>\^`{|})
// would be re-encoded by net/url, which then drops the raw path as written
// and with it the encoding of the values inserted into it.
func URLTextError(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return i
		}
	}
	return -1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
