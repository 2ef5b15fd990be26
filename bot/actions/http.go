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
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
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
	// (each attempt has its own deadline). Its CheckRedirect is replaced:
	// redirects are followed only within the request's origin, without
	// Referer (see secure.Client); a redirect elsewhere is outcome "error"
	// with the 3xx status.
	Client *http.Client
	// Secrets resolve the ${NAME} references the flow wrote in the URL and
	// header values.
	Secrets map[string]string
	// LookupEnv resolves names missing from Secrets (e.g. os.LookupEnv).
	// Nil: only Secrets are used.
	LookupEnv func(name string) (string, bool)
	// AccountSecrets, when set, resolves a name for the account the call
	// belongs to (ActionCall.Key.Account) before Secrets and LookupEnv, so
	// that each business account of a deployment can have its own API keys
	// (e.g. (*accounts.Table).Secret over its per-account secrets only).
	AccountSecrets func(account, name string) (string, bool)
	// MaxResponse bounds the response body. Default DefaultMaxResponse.
	MaxResponse int64
	// Timeout is the per-attempt deadline when the call has none. Default 10 s.
	Timeout time.Duration
	// RetryBase is the first retry delay, doubled per attempt up to
	// MaxRetryDelay (with jitter). Default 200 ms.
	RetryBase time.Duration
}

// Run performs the call, retrying idempotent methods up to call.Retries
// times, and reports the outcome.
func (h *HTTP) Run(ctx context.Context, call dmflow.ActionCall) (res dmflow.ActionResult) {
	res = dmflow.ActionResult{ID: call.ID, Name: call.Name}
	if call.HTTP == nil {
		return fail(res, dmflow.OutcomeError, "no HTTP request in the call")
	}
	retries := 0
	if idempotent(call.HTTP.Method) {
		retries = max(call.Retries, 0)
	}
	// Every secret the call resolves is redacted from the error text
	// before it leaves the runner (a transport error names the host, and
	// the host may come from a secret).
	var red secure.Redactor
	defer func() { res.Error = red.Redact(res.Error) }()
	client := secure.Client(h.Client)
	for attempt := 0; ; attempt++ {
		res = h.attempt(ctx, client, call, &red)
		if attempt >= retries || !retryable(res) || ctx.Err() != nil {
			return res
		}
		if !sleep(ctx, h.backoff(attempt)) {
			return res
		}
	}
}

func (h *HTTP) attempt(ctx context.Context, client *http.Client, call dmflow.ActionCall, red *secure.Redactor) dmflow.ActionResult {
	res := dmflow.ActionResult{ID: call.ID, Name: call.Name}
	timeout := call.Timeout
	if timeout <= 0 {
		timeout = h.timeout()
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := h.request(actx, call, red)
	if err != nil {
		return fail(res, dmflow.OutcomeError, err.Error())
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportFailure(res, ctx, actx, err)
	}
	defer resp.Body.Close()
	return h.read(res, resp, ctx, actx)
}

// request builds the HTTP request from the call's segments: literal text
// and inserted values as they are, and the ${NAME} references the flow
// wrote in its literal text resolved (each registered with red). Nothing
// else is ever resolved, so no inserted value can name a secret.
func (h *HTTP) request(ctx context.Context, call dmflow.ActionCall, red *secure.Redactor) (*http.Request, error) {
	r := call.HTTP
	raw, hostEnd, err := h.render(call.Key.Account, r.URL, red)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if secure.URLTextError(raw) >= 0 {
		// Inserted values are always encoded; this is a literal or a
		// secret's value (flows refuses such literals).
		return nil, errors.New("bad URL: a space, control character, non-ASCII byte, stray % or one of \"<>\\^`{|} must be percent-encoded")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bad URL: want an absolute http or https URL")
	}
	if hostEnd >= 0 && !hostClosed(raw[:hostEnd]) {
		// flows refuses such templates; this guards calls built elsewhere.
		return nil, errors.New("bad URL: an inserted value would be part of the host")
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
		val, _, err := h.render(call.Key.Account, v, red)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
		if !secure.ValidHeaderName(name) || !secure.ValidHeaderValue(val) {
			return nil, fmt.Errorf("header %q: invalid name or value", name)
		}
		req.Header.Set(name, val)
	}
	return req, nil
}

// render joins the segments of t, resolving the secret references. It
// returns the offset where the first inserted value starts (-1: none).
func (h *HTTP) render(account string, t dmflow.Text, red *secure.Redactor) (out string, firstValue int, err error) {
	var b strings.Builder
	firstValue = -1
	for _, s := range t {
		switch {
		case s.Secret != "":
			v, ok := h.secret(account, s.Secret)
			if !ok {
				return "", -1, fmt.Errorf("unknown secret ${%s}", s.Secret)
			}
			red.Add(s.Secret, v)
			b.WriteString(v)
		case s.Value != "":
			if firstValue < 0 {
				firstValue = b.Len()
			}
			b.WriteString(s.Value)
		default:
			b.WriteString(s.Lit)
		}
	}
	return b.String(), firstValue, nil
}

func (h *HTTP) secret(account, name string) (string, bool) {
	if h.AccountSecrets != nil {
		if s, ok := h.AccountSecrets(account, name); ok {
			return s, true
		}
	}
	if s, ok := h.Secrets[name]; ok {
		return s, true
	}
	if h.LookupEnv != nil {
		return h.LookupEnv(name)
	}
	return "", false
}

// hostClosed reports whether the URL prefix has ended its host: a "/", "?"
// or "#" follows the "://".
func hostClosed(prefix string) bool {
	i := strings.Index(prefix, "://")
	return i >= 0 && strings.ContainsAny(prefix[i+3:], "/?#")
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
