package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// parseLogLevel parses a --log-level value.
func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, configErrorf("log_level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger returns the process logger writing to w in the configured
// format. Every string that equals or contains one of secrets is redacted,
// whichever package logs it: a last line of defence behind the rule that
// no package logs credentials.
func newLogger(w io.Writer, format, level string, secrets []string) (*slog.Logger, error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if r := newRedactor(secrets); r != nil {
		h = &redactHandler{next: h, r: r}
	}
	return slog.New(h), nil
}

const redactedMark = "[REDACTED]"

// newRedactor returns a replacer of the secrets (nil when there are none).
// Secrets shorter than 4 bytes are ignored: redacting them would mangle
// ordinary words, and such values are not secrets worth the name.
func newRedactor(secrets []string) *strings.Replacer {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 4 {
			pairs = append(pairs, s, redactedMark)
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// redactHandler rewrites the message and every attribute value through r.
type redactHandler struct {
	next slog.Handler
	r    *strings.Replacer
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Replace(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(clean), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), r: h.r}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Replace(v.String()))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, h.r.Replace(anyString(v.Any())))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}

func anyString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}
