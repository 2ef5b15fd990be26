package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/internal/secure"
)

// SignatureHeader carries the signature of an outgoing webhook:
// "t=<unix seconds>,v1=<hex HMAC-SHA256>" (see SignNotice).
const SignatureHeader = "X-Dmflow-Signature"

// DeliveryHeader carries an outgoing webhook's delivery id: the notice's
// queue sequence number, the same on every retry.
const DeliveryHeader = "X-Dmflow-Delivery"

// DefaultNoticeTolerance is how old (or how far in the future) a notice's
// signature timestamp may be for VerifyNoticeSignature when the caller
// passes no tolerance.
const DefaultNoticeTolerance = 5 * time.Minute

// Errors of VerifyNoticeSignature.
var (
	ErrNoticeSignature = errors.New("bot: bad notice signature")
	ErrNoticeStale     = errors.New("bot: notice signature timestamp outside the tolerance")
)

// SignNotice returns the SignatureHeader value for a delivery: the
// timestamp t and the hex HMAC-SHA256, keyed with secret, of
// "<t>.<delivery>.<body>". Covering the timestamp and the delivery id
// means a captured notice can be replayed neither later nor under another
// delivery id.
func SignNotice(secret string, t time.Time, delivery string, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(noticeMAC(secret, ts, delivery, body))
}

func noticeMAC(secret, ts, delivery string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + delivery + "."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyNoticeSignature checks an outgoing webhook request: h's
// SignatureHeader must hold a v1 signature of h's DeliveryHeader and the
// raw body under secret (any of several v1 values may match), made at most
// tolerance ago or ahead of now (tolerance <= 0: DefaultNoticeTolerance).
// It returns nil, ErrNoticeSignature or ErrNoticeStale. Comparisons take
// constant time. Receivers call it with the raw request body, then
// deduplicate on the delivery id.
func VerifyNoticeSignature(body []byte, h http.Header, secret string, tolerance time.Duration) error {
	return VerifyNoticeSignatureAt(body, h, secret, tolerance, time.Now())
}

// VerifyNoticeSignatureAt is VerifyNoticeSignature at the time now.
func VerifyNoticeSignatureAt(body []byte, h http.Header, secret string, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrNoticeSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultNoticeTolerance
	}
	var ts string
	var sigs [][]byte
	for _, kv := range strings.Split(h.Get(SignatureHeader), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoticeSignature
	}
	want := noticeMAC(secret, ts, h.Get(DeliveryHeader), body)
	ok := false
	for _, sig := range sigs {
		if secure.EqualBytes(sig, want) {
			ok = true
		}
	}
	if !ok {
		return ErrNoticeSignature
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return ErrNoticeStale
	}
	return nil
}

// noticeTo returns where account's notices go ("" when nowhere).
func (b *Bot) noticeTo(account string) (target, secret string) {
	if b.cfg.NoticeTargets != nil {
		return b.cfg.NoticeTargets(account)
	}
	return b.cfg.NoticeURL, b.cfg.NoticeSecret
}

// noticesOn reports whether any account may have notices.
func (b *Bot) noticesOn() bool { return b.cfg.NoticeTargets != nil || b.cfg.NoticeURL != "" }

// postNotice POSTs one notice to its account's URL (Config.NoticeURL or
// NoticeTargets). Any non-2xx answer is retried (delivery is at least once).
func (b *Bot) postNotice(ctx context.Context, it *dmflow.OutboxItem) (string, error) {
	if it.Notice == nil {
		return "", fmt.Errorf("bot: outbox item %d has no notice: %w", it.Seq, dmflow.ErrInvalid)
	}
	body, err := json.Marshal(it.Notice)
	if err != nil {
		return "", fmt.Errorf("bot: encode notice %d: %v: %w", it.Seq, err, dmflow.ErrInvalid)
	}
	target, secret := b.noticeTo(it.Key.Account)
	if target == "" || secret == "" {
		return "", fmt.Errorf("bot: notice %d: account %s has no outgoing webhook URL and secret any more: %w", it.Seq, it.Key.Account, dmflow.ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("bot: notice request: %v: %w", err, dmflow.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	delivery := strconv.FormatUint(it.Seq, 10)
	// The signature's timestamp is the wall clock, not Config.Clock: it is
	// checked against the receiver's clock.
	req.Header.Set(SignatureHeader, SignNotice(secret, time.Now(), delivery, body))
	req.Header.Set(DeliveryHeader, delivery)
	resp, err := b.noticeClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a secret
		}
		var red secure.Redactor
		red.Add("NOTIFY_SECRET", secret)
		if u, perr := url.Parse(target); perr == nil && u.User != nil {
			red.Add("NOTIFY_URL_USERINFO", u.User.String())
		}
		return "", fmt.Errorf("bot: post notice %d: %s", it.Seq, red.Redact(err.Error()))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("bot: post notice %d: status %d", it.Seq, resp.StatusCode)
	}
	return "", nil
}
