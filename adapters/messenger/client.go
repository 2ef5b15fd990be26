package messenger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pace"
	"github.com/dmflow/dmflow/internal/secure"
)

// Defaults of ClientConfig.
const (
	DefaultGraphURL   = "https://graph.facebook.com"
	DefaultVersion    = "v25.0"
	DefaultMaxRetries = 2
	DefaultBackoff    = 500 * time.Millisecond
	// DefaultThrottleWait is the RetryAfter of a rate-limit error that
	// names no wait.
	DefaultThrottleWait = 30 * time.Second
)

// RateLimits are per-Page send rates. Zero fields take the platform's
// published limits [RL]; a negative field leaves that class unpaced.
type RateLimits struct {
	// Text is sends per second per Page of text, links, reactions,
	// stickers, templates and sender actions (default 300).
	Text float64
	// Media is sends per second per Page of audio or video (default 10).
	Media float64
	// Headroom is the fraction of both rates that a cluster-wide pacer
	// (ClientConfig.Pacer) leaves unused, for the jitter between a send's
	// slot and its arrival at the platform (default 0.15; negative: none).
	Headroom float64
}

// Published Send API limits per Page [RL].
const (
	DefaultTextRate  = 300
	DefaultMediaRate = 10
)

func (l RateLimits) withDefaults() RateLimits {
	if l.Text == 0 {
		l.Text = DefaultTextRate
	}
	if l.Media == 0 {
		l.Media = DefaultMediaRate
	}
	l.Headroom = pace.HeadroomOr(l.Headroom)
	return l
}

// maxResponse bounds how much of a Send API answer is read.
const maxResponse = 1 << 20

// PageTokens maps Page ids to their Page access tokens.
type PageTokens map[string]string

// ClientConfig configures the Send API client.
type ClientConfig struct {
	BaseURL string // default DefaultGraphURL
	Version string // default DefaultVersion
	// Tokens are the Page access tokens by Page id (required).
	Tokens     PageTokens
	HTTPClient *http.Client // default: 30 s timeout, same-origin redirects only
	// MaxRetries bounds in-call retries of retryable failures that cannot
	// have delivered (default DefaultMaxRetries; negative: none).
	MaxRetries int
	Backoff    time.Duration    // first retry delay, doubled per attempt
	Clock      func() time.Time // for the messaging window (default time.Now)
	// RateLimits pace sends per Page (internal/pace, shared with the
	// Instagram client): in this process, or across every process sharing
	// Pacer when it is set (a store/postgres store).
	RateLimits RateLimits
	Pacer      dmflow.Pacer
}

// Client sends through the Messenger Send API for any number of Pages. It
// implements dmflow.Sender and is safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	pacer *pace.Pacer // per Page
}

var _ dmflow.Sender = (*Client)(nil)

// NewClient returns a client.
func NewClient(cfg ClientConfig) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultGraphURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = secure.Client(&http.Client{Timeout: 30 * time.Second})
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	cfg.RateLimits = cfg.RateLimits.withDefaults()
	r := cfg.RateLimits
	return &Client{cfg: cfg, pacer: pace.New(pace.Rates{Text: r.Text, Media: r.Media, Private: -1, Headroom: r.Headroom}, cfg.Pacer, cfg.Clock)}
}

// Send delivers m from Page m.Key.Account to the PSID m.To.ID and returns
// the message id (of the last part when long text took several
// requests). A reply outside the 24-hour window (dmflow.CheckWindow) is
// refused before any request, wrapping dmflow.ErrOutsideWindow; a
// HUMAN_AGENT reply goes out as MESSAGE_TAG. See dmflow.Sender for the
// error contract; *APIError gives details.
func (c *Client) Send(ctx context.Context, m dmflow.Outgoing) (string, error) {
	w := dmflow.CheckWindow(m, c.cfg.Clock())
	if !w.OK {
		return "", fmt.Errorf("messenger: %w", w.Err())
	}
	if m.Reply.OnComment() {
		return "", fmt.Errorf("messenger: %s replies act on Instagram comments: %w", m.Reply.Kind, dmflow.ErrPermanent)
	}
	tok := c.cfg.Tokens[m.Key.Account]
	if tok == "" {
		return "", fmt.Errorf("messenger: no Page access token for page %s: %w", m.Key.Account, dmflow.ErrPermanent)
	}
	bodies, err := encode(m.To, m.Reply, w.Tag)
	if err != nil {
		return "", err
	}
	var id string
	for i, b := range bodies {
		id, err = c.sendOne(ctx, m.Key.Account, tok, b)
		if err != nil && i > 0 {
			// Earlier parts are delivered: a blind retry would repeat them.
			return "", fmt.Errorf("messenger: sent %d of %d parts: %w: %w", i, len(bodies), dmflow.ErrAmbiguous, err)
		}
		if err != nil {
			return "", err
		}
	}
	return id, nil
}

func (c *Client) sendOne(ctx context.Context, page, tok string, b sendBody) (string, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return "", fmt.Errorf("messenger: encode: %w: %w", dmflow.ErrPermanent, err)
	}
	if err := c.pacer.Wait(ctx, page, b.class()); err != nil {
		// nothing was sent: the outbox retries after Wait
		return "", &APIError{Class: dmflow.ClassRetryable, Wait: time.Second, Err: fmt.Errorf("rate limit queue: %w", err)}
	}
	u := c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(page) + "/messages"
	delay := c.cfg.Backoff
	for attempt := 0; ; attempt++ {
		id, err := c.post(ctx, u, tok, body)
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.Class != dmflow.ClassRetryable ||
			attempt >= c.cfg.MaxRetries || ae.Wait > 0 {
			return id, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", err
		case <-t.C:
		}
		delay *= 2
	}
}

// post performs one request. A transport failure after the request was
// written may have delivered the message: it is ambiguous, not retried.
func (c *Client) post(ctx context.Context, u, tok string, body []byte) (string, error) {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", &APIError{Class: dmflow.ClassPermanent, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok) // never in the URL, which errors quote
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		class := dmflow.ClassRetryable
		if wrote.Load() {
			class = dmflow.ClassAmbiguous
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return "", &APIError{Class: class, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 != 2 {
		return "", decodeError(resp.StatusCode, resp.Header, data)
	}
	var out struct {
		MessageID string `json:"message_id"`
	}
	if err != nil || json.Unmarshal(data, &out) != nil {
		return "", &APIError{Status: resp.StatusCode, Class: dmflow.ClassAmbiguous,
			Err: fmt.Errorf("accepted but unreadable answer")}
	}
	return out.MessageID, nil
}
