package instagram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"
)

// maxResponse bounds how much of a Graph response is read.
const maxResponse = 4 << 20

// caller performs and logs Graph API calls. Tokens travel only in the
// Authorization header or in form bodies, never in what is logged.
type caller struct {
	hc  *http.Client
	log *slog.Logger
}

// call is one HTTP request to the Graph API or the OAuth endpoints.
type call struct {
	method  string
	url     string // full URL; its query is never logged
	token   string // bearer token, "" for none
	body    []byte
	ctype   string
	account string // for logs
	// idempotent calls are retryable after a lost connection; a send is not.
	idempotent bool
}

// result is a successful (2xx) answer.
type result struct {
	header http.Header
	body   []byte
}

// do runs c and returns the 2xx answer or an *APIError.
func (g *caller) do(ctx context.Context, c call) (*result, error) {
	start := time.Now()
	u, _ := url.Parse(c.url)
	path := u.Path
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		return nil, &APIError{Method: c.method, Path: path, Class: Permanent, Err: err}
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		e := transportError(c, path, err, wrote.Load())
		g.logCall(c, path, start, e)
		return nil, e
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		e := transportError(c, path, err, true)
		e.Status = resp.StatusCode
		g.logCall(c, path, start, e)
		return nil, e
	}
	if resp.StatusCode/100 != 2 {
		e := decodeError(c.method, path, resp.StatusCode, body)
		if e.FBTraceID == "" {
			e.FBTraceID = resp.Header.Get("X-Fb-Trace-Id")
		}
		e.Wait = retryAfterHeader(resp.Header)
		g.logCall(c, path, start, e)
		return &result{header: resp.Header}, e
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "instagram graph call",
		slog.String("method", c.method), slog.String("path", path), slog.String("account", c.account),
		slog.Int("status", resp.StatusCode), slog.String("fbtrace_id", resp.Header.Get("X-Fb-Trace-Id")),
		slog.Duration("latency", time.Since(start)))
	return &result{header: resp.Header, body: body}, nil
}

// transportError classifies a call that got no (complete) answer: a
// connection reset, EOF or timeout is retryable. Written records that a
// non-idempotent request (a send) was written first: Meta may have
// processed it, so the retry may repeat it (at least once).
func transportError(c call, path string, err error, wrote bool) *APIError {
	return &APIError{Method: c.method, Path: path, Class: Retryable, Written: wrote && !c.idempotent, Err: err}
}

func (g *caller) logCall(c call, path string, start time.Time, e *APIError) {
	level := slog.LevelWarn
	if e.Class == Permanent {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", c.method), slog.String("path", path), slog.String("account", c.account),
		slog.Int("status", e.Status), slog.Int("code", e.Code), slog.Int("subcode", e.Subcode),
		slog.String("fbtrace_id", e.FBTraceID), slog.String("class", e.Class.String()),
		slog.Duration("latency", time.Since(start)),
	}
	if e.Written {
		attrs = append(attrs, slog.Bool("written", true)) // a retry may duplicate the message
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", redactURL(e.Err)))
	} else {
		attrs = append(attrs, slog.String("message", e.Message))
	}
	g.log.LogAttrs(context.Background(), level, "instagram graph call failed", attrs...)
}

// redactURL renders a transport error without the request URL, whose query
// may hold a token or client secret.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

func retryAfterHeader(h http.Header) time.Duration {
	var secs int
	if _, err := fmt.Sscanf(h.Get("Retry-After"), "%d", &secs); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

// getJSON performs an idempotent GET and decodes the answer into out.
func (g *caller) getJSON(ctx context.Context, c call, out any) (*result, error) {
	c.method, c.idempotent = http.MethodGet, true
	res, err := g.do(ctx, c)
	if err != nil {
		return res, err
	}
	return res, decodeBody(c, res.body, out)
}

func decodeBody(c call, body []byte, out any) error {
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		u, _ := url.Parse(c.url)
		return &APIError{Method: c.method, Path: u.Path, Status: 200, Class: Permanent,
			Err: fmt.Errorf("decode response: %w", err)}
	}
	return nil
}
