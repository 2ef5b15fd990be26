package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/dmflow/dmflow"
)

// DefaultMaxResponse is the largest response body HTTP accepts (1 MiB).
const DefaultMaxResponse = 1 << 20

// MaxRetryDelay bounds one delay between attempts, so that a call's retry
// delays add at most 10 s (flows allow 10 retries) to its attempts, which
// flows.MaxActionTime bounds: together they stay within the bot's action
// lease.
const MaxRetryDelay = time.Second

// HTTP runs calls of Kind "http". The zero value is usable.
type HTTP struct {
	// Client sends the requests. Default: a client without overall timeout
	// (each attempt has its own deadline).
	Client *http.Client
	// Secrets resolve ${NAME} references in the URL and header values.
	Secrets map[string]string
	// LookupEnv resolves names missing from Secrets (e.g. os.LookupEnv).
	// Nil: only Secrets are used.
	LookupEnv func(name string) (string, bool)
	// MaxResponse bounds the response body. Default DefaultMaxResponse.
	MaxResponse int64
	// Timeout is the per-attempt deadline when the call has none. Default 10 s.
	Timeout time.Duration
	// RetryBase is the first retry delay, doubled per attempt up to
	// MaxRetryDelay (with jitter). Default 200 ms.
	RetryBase time.Duration
}

var secretRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Run performs the call, retrying idempotent methods up to call.Retries
// times, and reports the outcome.
func (h *HTTP) Run(ctx context.Context, call dmflow.ActionCall) dmflow.ActionResult {
	res := dmflow.ActionResult{ID: call.ID, Name: call.Name}
	if call.HTTP == nil {
		return fail(res, dmflow.OutcomeError, "no HTTP request in the call")
	}
	retries := 0
	if idempotent(call.HTTP.Method) {
		retries = max(call.Retries, 0)
	}
	for attempt := 0; ; attempt++ {
		res = h.attempt(ctx, call)
		if attempt >= retries || !retryable(res) || ctx.Err() != nil {
			return res
		}
		if !sleep(ctx, h.backoff(attempt)) {
			return res
		}
	}
}

func (h *HTTP) attempt(ctx context.Context, call dmflow.ActionCall) dmflow.ActionResult {
	res := dmflow.ActionResult{ID: call.ID, Name: call.Name}
	timeout := call.Timeout
	if timeout <= 0 {
		timeout = h.timeout()
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := h.request(actx, call)
	if err != nil {
		return fail(res, dmflow.OutcomeError, err.Error())
	}
	resp, err := h.client().Do(req)
	if err != nil {
		return transportFailure(res, ctx, actx, err)
	}
	defer resp.Body.Close()
	return h.read(res, resp, ctx, actx)
}

// request builds the HTTP request with secrets resolved in the URL and the
// header values.
func (h *HTTP) request(ctx context.Context, call dmflow.ActionCall) (*http.Request, error) {
	r := call.HTTP
	raw, err := h.resolve(r.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bad URL: want an absolute http or https URL")
	}
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	method := r.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("bad request: method %q", method)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", call.ID)
	for name, v := range r.Headers {
		val, err := h.resolve(v)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
		req.Header.Set(name, val)
	}
	return req, nil
}

// resolve replaces ${NAME} references with secret values.
func (h *HTTP) resolve(v string) (string, error) {
	var missing string
	out := secretRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := secretRef.FindStringSubmatch(ref)[1]
		if s, ok := h.Secrets[name]; ok {
			return s
		}
		if h.LookupEnv != nil {
			if s, ok := h.LookupEnv(name); ok {
				return s
			}
		}
		missing = name
		return ""
	})
	if missing != "" {
		return "", fmt.Errorf("unknown secret ${%s}", missing)
	}
	return out, nil
}

// read classifies the response.
func (h *HTTP) read(res dmflow.ActionResult, resp *http.Response, ctx, actx context.Context) dmflow.ActionResult {
	res.Status = resp.StatusCode
	limit := h.maxResponse()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return transportFailure(res, ctx, actx, err)
	case int64(len(b)) > limit:
		return fail(res, dmflow.OutcomeInvalid, fmt.Sprintf("response larger than %d bytes", limit))
	}
	ok := resp.StatusCode/100 == 2
	if len(bytes.TrimSpace(b)) > 0 {
		if !json.Valid(b) {
			if ok {
				return fail(res, dmflow.OutcomeInvalid, "response is not JSON")
			}
		} else {
			res.Body = json.RawMessage(b)
		}
	}
	if !ok {
		return fail(res, dmflow.OutcomeError, fmt.Sprintf("status %d", resp.StatusCode))
	}
	res.Outcome = dmflow.OutcomeOK
	return res
}

// transportFailure classifies a failed request without exposing the URL.
func transportFailure(res dmflow.ActionResult, ctx, actx context.Context, err error) dmflow.ActionResult {
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fail(res, dmflow.OutcomeTimeout, "timed out")
	}
	if ctx.Err() != nil {
		return fail(res, dmflow.OutcomeError, "canceled: "+ctx.Err().Error())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fail(res, dmflow.OutcomeError, err.Error())
}

func fail(res dmflow.ActionResult, outcome, msg string) dmflow.ActionResult {
	res.Outcome, res.Error = outcome, msg
	return res
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func retryable(r dmflow.ActionResult) bool {
	switch {
	case r.Outcome == dmflow.OutcomeTimeout:
		return true
	case r.Outcome != dmflow.OutcomeError:
		return false
	case r.Status == 0:
		return true // transport error
	}
	return r.Status == http.StatusTooManyRequests || r.Status >= 500
}

func (h *HTTP) backoff(attempt int) time.Duration {
	base := h.RetryBase
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	d := min(base<<min(attempt, 10), MaxRetryDelay)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h *HTTP) client() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return http.DefaultClient
}

func (h *HTTP) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

func (h *HTTP) maxResponse() int64 {
	if h.MaxResponse > 0 {
		return h.MaxResponse
	}
	return DefaultMaxResponse
}
