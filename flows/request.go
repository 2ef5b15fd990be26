package flows

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/dmflow/dmflow/internal/secure"
)

// Escape is how a value an expression inserts into an HTTP action's
// request is encoded, decided at load time from where the insertion is.
type Escape uint8

// Escapes.
const (
	EscNone   Escape = iota // not in a request (reply text, …): as it is
	EscPath                 // in the URL path: one percent-encoded path segment
	EscQuery                // in the URL query or fragment: percent-encoded
	EscHeader               // in a header value: control characters become spaces
)

// Apply encodes s for e. In the URL every byte but the unreserved ones
// (A-Z a-z 0-9 - . _ ~) is percent-encoded, so an inserted value can
// never add a path segment, a query parameter or a fragment, nor form a
// ${NAME} reference; in the path a value that is "." or ".." is encoded
// whole (%2E), so it can't climb up either. In a header value CR, LF and
// the other control characters (but tab) become spaces: a value can't add
// a header.
func (e Escape) Apply(s string) string {
	switch e {
	case EscPath:
		if s == "." || s == ".." {
			return strings.Repeat("%2E", len(s))
		}
		return percentEncode(s)
	case EscQuery:
		return percentEncode(s)
	case EscHeader:
		return strings.Map(func(r rune) rune {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	return s
}

func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// secretRef is a ${NAME} reference in a request's literal text.
var secretRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// requestTemplate compiles an HTTP action's URL or header value: a
// template whose literal text may hold ${NAME} secret references, which
// become parts of their own (Secret set). Only the flow's literal text can
// reference a secret; what an expression inserts is data.
func (d *decoder) requestTemplate(n *yaml.Node, what string) *Template {
	t := d.template(n, what, scopeBase)
	if t == nil {
		return nil
	}
	parts := make([]TemplatePart, 0, len(t.Parts))
	for _, p := range t.Parts {
		if p.Expr != nil {
			parts = append(parts, p)
			continue
		}
		lit := p.Lit
		for lit != "" {
			loc := secretRef.FindStringSubmatchIndex(lit)
			if loc == nil {
				parts = append(parts, TemplatePart{Lit: lit})
				break
			}
			if loc[0] > 0 {
				parts = append(parts, TemplatePart{Lit: lit[:loc[0]]})
			}
			parts = append(parts, TemplatePart{Lit: lit[loc[0]:loc[1]], Secret: lit[loc[2]:loc[3]]})
			lit = lit[loc[1]:]
		}
	}
	t.Parts = parts
	for _, p := range parts {
		if i := strings.Index(p.Lit, "${"); p.Secret == "" && p.Expr == nil && i >= 0 {
			bad := p.Lit[i:]
			if j := strings.IndexByte(bad, '}'); j >= 0 {
				bad = bad[:j+1]
			}
			d.errorf(t.Pos, "%s: %q is not a secret reference: write ${NAME} with a name of letters, digits and _", what, bad)
			return nil
		}
	}
	return t
}

// requestURL compiles an HTTP action's URL and checks where its insertions
// are (see CheckRequestURL).
func (d *decoder) requestURL(n *yaml.Node) *Template {
	t := d.requestTemplate(n, "url")
	if t == nil {
		return nil
	}
	if err := CheckRequestURL(t); err != nil {
		pos := t.Pos
		if err.Expr != nil {
			pos = err.Expr.Pos
		}
		d.errorf(pos, "url: %s", err.Msg)
		return nil
	}
	return t
}

// URLError is what CheckRequestURL finds wrong with a URL template.
type URLError struct {
	Expr *Expr // the offending insertion, or nil (the template as a whole)
	Msg  string
}

func (e *URLError) Error() string { return e.Msg }

// CheckRequestURL checks an HTTP action's URL template and sets the Esc of
// its insertions. The scheme and the host (with user info and port) come
// from literal text or ${SECRET} references only: the URL starts with
// "http://" or "https://" or with a ${SECRET} (a base URL from
// configuration), and an insertion may only follow a literal "/", "?" or
// "#" that ends the host. Insertions in the path are encoded as path
// segments (EscPath), in a query parameter's value (after its literal "=")
// or in the fragment as query text (EscQuery). An insertion may not name
// a query parameter (after "?" or "&", before "="): a person's input
// chooses values, never names, as with header names.
func CheckRequestURL(t *Template) *URLError {
	if len(t.Parts) == 0 {
		return &URLError{Msg: "empty URL"}
	}
	const (
		host = iota
		path
		qkey // a query parameter's name (after "?" or "&")
		qval // a query parameter's value (after "=")
		frag
	)
	where := host
	first := t.Parts[0]
	switch {
	case first.Secret != "":
	case first.Expr != nil:
		return &URLError{Expr: first.Expr, Msg: fmt.Sprintf("{{ %s }} would set the scheme and host: the URL must start with http://, https:// or a ${SECRET}", strings.TrimSpace(first.Expr.Src))}
	default:
		lower := strings.ToLower(first.Lit)
		if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			return &URLError{Msg: fmt.Sprintf("%q must start with http://, https:// or a ${SECRET}", t.Src)}
		}
	}
	for i, p := range t.Parts {
		switch {
		case p.Expr != nil:
			src := strings.TrimSpace(p.Expr.Src)
			switch where {
			case host:
				return &URLError{Expr: p.Expr, Msg: fmt.Sprintf("{{ %s }} would be part of the host: an inserted value may only follow a literal /, ? or # that ends the host", src)}
			case qkey:
				return &URLError{Expr: p.Expr, Msg: fmt.Sprintf("{{ %s }} would name a query parameter: in the query an inserted value may only follow a literal = (?name={{ %s }})", src, src)}
			case path:
				t.Parts[i].Esc = EscPath
			default:
				t.Parts[i].Esc = EscQuery
			}
		case p.Secret != "":
			// A secret's value may end anywhere: what follows is where the
			// literal text before it left off.
		default:
			lit := p.Lit
			if j := secure.URLTextError(lit); j >= 0 {
				return &URLError{Msg: urlTextMsg(t.Src, lit[j:])}
			}
			for j := 0; j < len(lit); j++ {
				switch c := lit[j]; {
				case where == frag:
				case where == host && strings.HasPrefix(lit[j:], "://"):
					j += 2 // the scheme's end, not the host's
				case where == host && c == '/':
					where = path
				case c == '#':
					where = frag
				case where <= path && c == '?', where >= qkey && c == '&':
					where = qkey
				case where == qkey && c == '=':
					where = qval
				}
			}
		}
	}
	return nil
}

// urlTextMsg says what is wrong with the text at the start of rest, which
// may not stand as it is in a URL, and how to write it.
func urlTextMsg(src, rest string) string {
	if rest[0] == '%' {
		return fmt.Sprintf("%q: a %% that does not start a %%XX escape: write %%25 for a literal %%", src)
	}
	r, n := utf8.DecodeRuneInString(rest)
	if r == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("%q: byte %#x may not stand as it is in a URL: percent-encode it (%%%02X)", src, rest[0], rest[0])
	}
	return fmt.Sprintf("%q: %q may not stand as it is in a URL: percent-encode it (%s)", src, string(r), percentEncode(string(r)))
}

// requestHeaders compiles an HTTP action's headers: literal names that are
// valid HTTP field names, values that are request templates whose literal
// text holds no control characters and whose insertions are EscHeader.
func (d *decoder) requestHeaders(v *yaml.Node) map[string]*Template {
	hm := d.mapping(v, "headers")
	if hm == nil {
		return nil
	}
	out := map[string]*Template{}
	for _, k := range hm.order {
		if !secure.ValidHeaderName(k) {
			d.errorf(d.pos(hm.keys[k]), "header name %q is not a valid HTTP field name (letters, digits and !#$%%&'*+-.^_`|~)", k)
			continue
		}
		t := d.requestTemplate(hm.vals[k], "header "+k)
		if t == nil {
			continue
		}
		ok := true
		for i, p := range t.Parts {
			if p.Expr != nil {
				t.Parts[i].Esc = EscHeader
			} else if !secure.ValidHeaderValue(p.Lit) {
				d.errorf(t.Pos, "header %s: control characters (CR, LF, …) in the value", k)
				ok = false
			}
		}
		if ok {
			out[k] = t
		}
	}
	return out
}
