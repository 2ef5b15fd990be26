package instagram

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
)

// MaxSignedRequest bounds the signed_request ParseSignedRequest accepts.
const MaxSignedRequest = 8 << 10

// ErrBadSignedRequest reports a signed_request whose signature matches none
// of the app secrets. Callers answer 403 and change nothing.
var ErrBadSignedRequest = fmt.Errorf("instagram: signed_request signature mismatch: %w", dmflow.ErrInvalid)

// SignedRequest is the verified payload of the signed_request Meta posts
// to an app's deauthorize and data deletion callbacks.
type SignedRequest struct {
	Algorithm string    // "HMAC-SHA256"
	IssuedAt  time.Time // issued_at (zero when absent)
	Expires   time.Time // expires (zero when absent)
	// UserID is the app-scoped id of the person who removed the app: for an
	// app with Instagram business login, the business account's Instagram
	// user id (dmflow.Token.AppUserID or Account), never a DM customer's id.
	UserID string
}

// ParseSignedRequest verifies and decodes Meta's signed_request:
// base64url(HMAC-SHA256(payload part, app secret)) "." base64url(JSON),
// padding optional. The signature is checked, in constant time against
// every non-empty secret, before the payload is decoded. It fails with
// ErrBadSignedRequest for a wrong signature and with an error wrapping
// dmflow.ErrInvalid for anything malformed, an algorithm other than
// HMAC-SHA256 or a missing user_id.
func ParseSignedRequest(sr string, secrets ...string) (*SignedRequest, error) {
	if len(sr) > MaxSignedRequest {
		return nil, invalidSR("longer than %d bytes", MaxSignedRequest)
	}
	sigPart, payload, ok := strings.Cut(sr, ".")
	if !ok || sigPart == "" || payload == "" {
		return nil, invalidSR("want signature.payload")
	}
	sig, err := b64url(sigPart)
	if err != nil || len(sig) != sha256.Size {
		return nil, invalidSR("signature is not a base64url HMAC-SHA256")
	}
	if !signedBy(sig, payload, secrets) {
		return nil, ErrBadSignedRequest
	}
	raw, err := b64url(payload)
	if err != nil {
		return nil, invalidSR("payload is not base64url")
	}
	var p struct {
		Algorithm string      `json:"algorithm"`
		IssuedAt  json.Number `json:"issued_at"`
		Expires   json.Number `json:"expires"`
		UserID    any         `json:"user_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, invalidSR("payload is not a JSON object")
	}
	if !strings.EqualFold(p.Algorithm, "HMAC-SHA256") {
		return nil, invalidSR("algorithm %q, want HMAC-SHA256", p.Algorithm)
	}
	out := &SignedRequest{Algorithm: p.Algorithm, IssuedAt: unixOf(p.IssuedAt), Expires: unixOf(p.Expires)}
	switch id := p.UserID.(type) {
	case string:
		out.UserID = id
	case json.Number:
		out.UserID = id.String()
	}
	if out.UserID == "" || len(out.UserID) > 64 || strings.ContainsAny(out.UserID, "/\x00") {
		return nil, invalidSR("no usable user_id")
	}
	return out, nil
}

func signedBy(sig []byte, payload string, secrets []string) bool {
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte(payload))
		if hmac.Equal(sig, m.Sum(nil)) {
			ok = true
		}
	}
	return ok
}

// SignRequest builds a signed_request for payload with secret, as Meta
// does; for tests and tools.
func SignRequest(payload any, secret string) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(raw)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) + "." + p, nil
}

func b64url(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func unixOf(n json.Number) time.Time {
	if v, err := n.Int64(); err == nil && v > 0 && v < 1<<40 {
		return time.Unix(v, 0).UTC()
	}
	return time.Time{}
}

func invalidSR(format string, args ...any) error {
	return fmt.Errorf("instagram: signed_request: %s: %w", fmt.Sprintf(format, args...), dmflow.ErrInvalid)
}
