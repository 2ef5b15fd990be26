package instagram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/pace"
)

// Defaults of ClientConfig.
const (
	DefaultGraphURL   = "https://graph.instagram.com"
	DefaultVersion    = "v25.0"
	DefaultMaxRetries = 3
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	DefaultProfileTTL = 24 * time.Hour
)

// Messaging windows: the rule is dmflow.CheckWindow's; these are its limits.
const (
	// Window is how long after the user's last message a reply may be sent.
	Window = dmflow.MessagingWindow
	// HumanAgentWindow is the window for replies tagged HUMAN_AGENT.
	HumanAgentWindow = dmflow.HumanAgentWindow
	// PrivateReplyWindow is how long after a comment a private reply may be sent.
	PrivateReplyWindow = dmflow.PrivateReplyWindow
)

// TokenSource provides the access token for a business account.
type TokenSource interface {
	Token(ctx context.Context, account string) (string, error)
}

// Invalidator is implemented by token sources that want to know when Graph
// rejected a token (error 190), e.g. to flag the account for re-authorization.
type Invalidator interface {
	Invalidate(ctx context.Context, account string, err error)
}

// ClientConfig configures the Graph API client.
type ClientConfig struct {
	BaseURL    string // default DefaultGraphURL
	Version    string // default DefaultVersion
	Tokens     TokenSource
	HTTPClient *http.Client // default: a client with a 30 s timeout
	Logger     *slog.Logger // default: discard
	RateLimits RateLimits
	// Pacer, when set (a store shared by several replicas, e.g.
	// store/postgres), paces sends per account across every process
	// sharing it, at RateLimits, instead of in this process: text and
	// media sends are spaced evenly (no burst), private replies allow
	// PrivateBurst at once.
	Pacer dmflow.Pacer
	// MaxRetries bounds in-call retries of retryable failures (default
	// DefaultMaxRetries; negative: none). After that the error goes back to
	// the caller, whose outbox retries later.
	MaxRetries int
	// Backoff is the first retry delay, doubled per attempt with jitter up to
	// MaxBackoff. A platform-requested wait longer than MaxBackoff is not
	// slept; the error carries it as RetryAfter.
	Backoff, MaxBackoff time.Duration
	// ProfileTTL is how long profiles stay cached (default DefaultProfileTTL).
	ProfileTTL time.Duration
	// Clock is the time source for windows and throttling (default time.Now).
	Clock func() time.Time
	// InboxAppID is the app a handoff to the inbox passes the thread to
	// (default InstagramInboxApp, Meta's Instagram inbox).
	InboxAppID string
}

// Client talks to the Graph API for any number of business accounts. It
// implements dmflow.Sender and is safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	caller caller

	mu       sync.Mutex
	limiters map[string]*limiter
	pacer    *pace.Pacer
	profiles map[profileKey]cachedProfile
	media    mediaCache
}

var _ dmflow.Sender = (*Client)(nil)

// NewClient returns a client; cfg.Tokens is required.
func NewClient(cfg ClientConfig) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultGraphURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.ProfileTTL <= 0 {
		cfg.ProfileTTL = DefaultProfileTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.InboxAppID == "" {
		cfg.InboxAppID = InstagramInboxApp
	}
	cfg.RateLimits = cfg.RateLimits.withDefaults()
	return &Client{
		cfg: cfg, caller: caller{hc: cfg.HTTPClient, log: cfg.Logger},
		limiters: map[string]*limiter{}, pacer: pace.New(cfg.RateLimits.paceRates(), cfg.Pacer, cfg.Clock),
		profiles: map[profileKey]cachedProfile{},
	}
}

// WindowError reports a reply that was not attempted because the messaging
// window is closed. It wraps dmflow.ErrOutsideWindow.
type WindowError struct {
	Since  time.Duration // time since the user's last message (or the comment)
	Limit  time.Duration // the window that applied
	Reason string
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("instagram: not sent: %s (%s ago, limit %s)", e.Reason, e.Since.Round(time.Second), e.Limit)
}

// Unwrap returns dmflow.ErrOutsideWindow.
func (e *WindowError) Unwrap() error { return dmflow.ErrOutsideWindow }

// window checks m against the messaging window (dmflow.CheckWindow, the one
// owner of the rule) and returns the tag to send. A zero LastInbound is not
// checked (the platform will decide).
func (c *Client) window(m dmflow.Outgoing) (string, error) {
	w := dmflow.CheckWindow(m, c.cfg.Clock())
	if !w.OK {
		return "", &WindowError{w.Since, w.Limit, w.Reason}
	}
	return w.Tag, nil
}

// Send delivers m and returns the platform's message id (of the last part
// when long text or mixed media took several requests). See dmflow.Sender
// for the error contract; *APIError and *WindowError give details.
func (c *Client) Send(ctx context.Context, m dmflow.Outgoing) (string, error) {
	tag, err := c.window(m)
	if err != nil {
		return "", err
	}
	if m.Reply.OnComment() {
		return c.sendComment(ctx, m)
	}
	if m.Reply.Kind == dmflow.ReplyThreadControl {
		return c.sendThread(ctx, m)
	}
	parts, err := encode(m.To, m.Reply, tag)
	if err != nil {
		return "", fmt.Errorf("%w: %w", dmflow.ErrPermanent, err)
	}
	var id string
	for i, p := range parts {
		id, err = c.sendPart(ctx, m.Key.Account, p)
		if err != nil && i > 0 {
			// Earlier parts are delivered: a blind retry would repeat them.
			return "", fmt.Errorf("instagram: sent %d of %d parts: %w: %w", i, len(parts), dmflow.ErrAmbiguous, err)
		}
		if err != nil {
			return "", err
		}
	}
	return id, nil
}

// sendResponse is the Send API's answer ({"id"} for self messaging).
type sendResponse struct {
	RecipientID flexString `json:"recipient_id"`
	MessageID   flexString `json:"message_id"`
	ID          flexString `json:"id"`
}

func (c *Client) sendPart(ctx context.Context, account string, p part) (string, error) {
	body, err := json.Marshal(p.body)
	if err != nil {
		return "", fmt.Errorf("instagram: encode: %w: %w", dmflow.ErrPermanent, err)
	}
	if err := c.pace(ctx, account, p.limit); err != nil {
		return "", &APIError{Method: "POST", Path: "messages", Class: Retryable, Wait: time.Second,
			Err: fmt.Errorf("rate limit queue: %w", err)}
	}
	cl := call{method: http.MethodPost, url: c.nodeURL(account, "messages"), body: body,
		ctype: "application/json", account: account}
	res, err := c.withRetry(ctx, account, cl)
	if err != nil {
		return "", err
	}
	var out sendResponse
	if err := json.Unmarshal(res.body, &out); err != nil {
		return "", &APIError{Method: "POST", Path: cl.url, Status: 200, Class: Ambiguous,
			Err: fmt.Errorf("accepted but unreadable answer: %w", err)}
	}
	return string(firstNonEmpty(out.MessageID, out.ID)), nil
}

// pace waits for a send slot of the account: cluster-wide with a Pacer,
// else in this process (internal/pace).
func (c *Client) pace(ctx context.Context, account string, kind limitKind) error {
	return c.pacer.Wait(ctx, account, kind)
}

// withRetry performs cl with the account's token, retrying retryable
// failures with exponential backoff and jitter, and honouring the
// platform's throttle.
func (c *Client) withRetry(ctx context.Context, account string, cl call) (*result, error) {
	lim := c.limiter(account)
	for attempt := 0; ; attempt++ {
		if err := c.throttle(ctx, lim); err != nil {
			return nil, err
		}
		tok, err := c.token(ctx, account)
		if err != nil {
			return nil, err
		}
		cl.token = tok
		res, err := c.caller.do(ctx, cl)
		if res != nil {
			if wait := lim.observe(c.cfg.Clock(), res.header); wait > 0 && err != nil {
				setWait(err, wait)
			}
		}
		if err == nil {
			return res, nil
		}
		c.invalidate(ctx, account, err)
		d, retry := c.retryDelay(err, attempt)
		if !retry {
			return nil, err
		}
		if err := sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

func setWait(err error, wait time.Duration) {
	var ae *APIError
	if errors.As(err, &ae) && throttled(ae.Code) && wait > ae.Wait {
		ae.Wait = wait
	}
}

// retryDelay decides whether and after how long to retry err.
func (c *Client) retryDelay(err error, attempt int) (time.Duration, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Class != Retryable || attempt >= c.cfg.MaxRetries {
		return 0, false
	}
	d := c.backoff(attempt)
	if ae.Wait > d {
		d = ae.Wait
	}
	return d, d <= c.cfg.MaxBackoff
}

// backoff is Backoff·2^attempt with ±50 % jitter, capped at MaxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Backoff << min(attempt, 20)
	d = d/2 + rand.N(d)
	return min(d, c.cfg.MaxBackoff)
}

// throttle waits out a short platform throttle or the slow-down delay, and
// fails with a retryable error carrying RetryAfter for a long one (calling
// while throttled extends the block).
func (c *Client) throttle(ctx context.Context, lim *limiter) error {
	wait, slow := lim.pause(c.cfg.Clock())
	if wait > c.cfg.MaxBackoff {
		return &APIError{Method: "POST", Path: "(throttled)", Class: Retryable, Code: CodeIGBusinessLimit, Wait: wait,
			Err: fmt.Errorf("platform usage limit reached; calls paused for %s", wait.Round(time.Second))}
	}
	return sleep(ctx, wait+slow)
}

func (c *Client) token(ctx context.Context, account string) (string, error) {
	if c.cfg.Tokens == nil {
		return "", fmt.Errorf("instagram: no token source configured: %w", dmflow.ErrPermanent)
	}
	tok, err := c.cfg.Tokens.Token(ctx, account)
	if errors.Is(err, dmflow.ErrNotFound) {
		return "", fmt.Errorf("instagram: no token for account %s: %w: %w", account, dmflow.ErrPermanent, err)
	}
	if err != nil {
		return "", fmt.Errorf("instagram: token for %s: %w", account, err)
	}
	return tok, nil
}

func (c *Client) invalidate(ctx context.Context, account string, err error) {
	if inv, ok := c.cfg.Tokens.(Invalidator); ok && errors.Is(err, ErrAuth) {
		inv.Invalidate(ctx, account, err)
	}
}

func (c *Client) limiter(account string) *limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[account]
	if !ok {
		l = new(limiter)
		c.limiters[account] = l
	}
	return l
}

// nodeURL is {base}/{version}/{account|me}/{edge}.
func (c *Client) nodeURL(account, edge string) string {
	if account == "" {
		account = "me"
	}
	return c.cfg.BaseURL + "/" + c.cfg.Version + "/" + account + "/" + edge
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error { return pace.Sleep(ctx, d) }
