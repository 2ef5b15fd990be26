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

	"github.com/dmflow/dmflow"
)

// SignatureHeader carries the HMAC-SHA256 of an outgoing webhook's body.
const SignatureHeader = "X-Dmflow-Signature-256"

// SignNotice returns the SignatureHeader value for body: "sha256=" and the
// hex HMAC-SHA256 of body keyed with secret.
func SignNotice(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyNoticeSignature reports whether header is the valid signature of
// body under secret. Receivers of dmflow's outgoing webhooks call it with
// the raw request body; the comparison takes constant time.
func VerifyNoticeSignature(body []byte, header, secret string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// postNotice POSTs one notice to Config.NoticeURL. Any non-2xx answer is
// retried (delivery is at least once).
func (b *Bot) postNotice(ctx context.Context, it *dmflow.OutboxItem) (string, error) {
	if it.Notice == nil {
		return "", fmt.Errorf("bot: outbox item %d has no notice: %w", it.Seq, dmflow.ErrInvalid)
	}
	body, err := json.Marshal(it.Notice)
	if err != nil {
		return "", fmt.Errorf("bot: encode notice %d: %v: %w", it.Seq, err, dmflow.ErrInvalid)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.NoticeURL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("bot: notice request: %v: %w", err, dmflow.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, SignNotice(body, b.cfg.NoticeSecret))
	req.Header.Set("X-Dmflow-Delivery", strconv.FormatUint(it.Seq, 10))
	resp, err := b.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a secret
		}
		return "", fmt.Errorf("bot: post notice %d: %w", it.Seq, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("bot: post notice %d: status %d", it.Seq, resp.StatusCode)
	}
	return "", nil
}
