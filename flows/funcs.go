package flows

import (
	"fmt"
	"net/mail"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/expr-lang/expr"
)

// Func is a pure helper function an embedder makes callable from flow
// expressions. Types are expr function signatures such as
// new(func(string) bool); they give load-time arity and type checks (without
// them every call is untyped). Fn must be fast, pure and safe for concurrent use.
type Func struct {
	Fn    func(args ...any) (any, error)
	Types []any
	Doc   string // one line, shown by `dmflow validate --funcs`
}

// Helpers documents the helper functions every flow expression can call, by
// name. See docs/flow-reference.md.
var Helpers = map[string]string{
	"is_email":    "is_email(s string) bool: s is a single e-mail address",
	"is_phone":    "is_phone(s string) bool: s looks like a phone number (7-15 digits, optional +, spaces, dashes, dots, parentheses)",
	"is_url":      "is_url(s string) bool: s is an absolute http(s) URL",
	"words":       "words(s string) []string: the lower-cased words of s (letters and digits)",
	"has_word":    "has_word(s, w string) bool: w is one of words(s), case-insensitive",
	"digits":      "digits(s string) string: only the digits of s",
	"title":       "title(s string) string: s with the first letter of every word upper-cased",
	"truncate":    "truncate(s string, n int) string: s cut to at most n characters, with … when cut",
	"format_time": "format_time(t time, layout string) string: t formatted with a Go layout (2006-01-02 15:04)",
	"days":        "days(n int) duration: n days",
	"hours":       "hours(n int) duration: n hours",
	"minutes":     "minutes(n int) duration: n minutes",
	"default":     "default(x, y any) any: y when x is nil or an empty string, else x",
}

var helperOptions = []expr.Option{
	expr.Function("is_email", fn1(isEmail), new(func(string) bool)),
	expr.Function("is_phone", fn1(isPhone), new(func(string) bool)),
	expr.Function("is_url", fn1(isURL), new(func(string) bool)),
	expr.Function("words", fn1(func(s string) any { return toAny(words(s)) }), new(func(string) []any)),
	expr.Function("has_word", hasWord, new(func(string, string) bool)),
	expr.Function("digits", fn1(func(s string) any { return digits(s) }), new(func(string) string)),
	expr.Function("title", fn1(func(s string) any { return title(s) }), new(func(string) string)),
	expr.Function("truncate", truncate, new(func(string, int) string)),
	expr.Function("format_time", formatTime, new(func(time.Time, string) string)),
	expr.Function("days", unit(24*time.Hour), new(func(int) time.Duration)),
	expr.Function("hours", unit(time.Hour), new(func(int) time.Duration)),
	expr.Function("minutes", unit(time.Minute), new(func(int) time.Duration)),
	expr.Function("default", defaultValue, new(func(any, any) any)),
	expr.Function("list_concat", listConcat, new(func([]any, []any) []any)),
}

// fn1 adapts a one-string-argument function.
func fn1[T any](f func(string) T) func(...any) (any, error) {
	return func(args ...any) (any, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("expected string, got %T", args[0])
		}
		return f(s), nil
	}
}

func isEmail(s string) bool {
	if strings.IndexByte(s, '@') < 0 {
		return false // no address without one; skips the parser's allocations
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == strings.TrimSpace(s) && strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@'):], ".")
}

func isPhone(s string) bool {
	n := 0
	for i, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsDigit(r):
			n++
		case r == '+' && i == 0, strings.ContainsRune(" -.()", r):
		default:
			return false
		}
	}
	return n >= 7 && n <= 15
}

func isURL(s string) bool {
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \t\n")
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

func hasWord(args ...any) (any, error) {
	s, _ := args[0].(string)
	w, _ := args[1].(string)
	return contains(words(s), strings.ToLower(strings.TrimSpace(w))), nil
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		defer func() { prev = r }()
		if unicode.IsSpace(prev) {
			return unicode.ToUpper(r)
		}
		return r
	}, s)
}

func truncate(args ...any) (any, error) {
	s, _ := args[0].(string)
	n, _ := args[1].(int)
	r := []rune(s)
	if n < 1 || len(r) <= n {
		return s, nil
	}
	return string(r[:n-1]) + "…", nil
}

func formatTime(args ...any) (any, error) {
	t, _ := args[0].(time.Time)
	layout, _ := args[1].(string)
	if len(layout) > 64 {
		return nil, fmt.Errorf("format_time: layout longer than 64 bytes")
	}
	return t.Format(layout), nil
}

func unit(u time.Duration) func(...any) (any, error) {
	return func(args ...any) (any, error) {
		n, _ := args[0].(int)
		return time.Duration(n) * u, nil
	}
}

func defaultValue(args ...any) (any, error) {
	if args[0] == nil || args[0] == "" {
		return args[1], nil
	}
	return args[0], nil
}

// listConcat implements `list + list`.
func listConcat(args ...any) (any, error) {
	if a, ok := args[0].([]any); ok && len(args) == 2 {
		if b, ok := args[1].([]any); ok {
			return append(append(make([]any, 0, len(a)+len(b)), a...), b...), nil
		}
	}
	var out []any
	for _, a := range args {
		v := reflect.ValueOf(a)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return nil, fmt.Errorf("cannot concatenate %T", a)
		}
		for i := range v.Len() {
			out = append(out, v.Index(i).Interface())
		}
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
