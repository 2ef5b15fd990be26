package instagram_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/adapters/instagram"
)

func signed(t testing.TB, payload any, secret string) string {
	sr, err := instagram.SignRequest(payload, secret)
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

func TestParseSignedRequest(t *testing.T) {
	const secret = "app-secret-1"
	good := map[string]any{"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "expires": 1291840400, "user_id": "218471"}
	numeric := map[string]any{"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": 218471}
	padded := signed(t, good, secret)
	sigPart, payload, _ := strings.Cut(padded, ".")
	padded = sigPart + "=." + payload // the HMAC covers the payload as sent; the signature may be padded
	tests := []struct {
		name    string
		sr      string
		secrets []string
		want    error
	}{
		{"ok", signed(t, good, secret), []string{secret}, nil},
		{"numeric user id", signed(t, numeric, secret), []string{secret}, nil},
		{"second secret", signed(t, good, secret), []string{"other", secret}, nil},
		{"padding", padded, []string{secret}, nil},
		{"wrong secret", signed(t, good, "nope"), []string{secret}, instagram.ErrBadSignedRequest},
		{"no secret", signed(t, good, secret), []string{""}, instagram.ErrBadSignedRequest},
		{"forged payload", sigPart + "." + payload + "x", []string{secret}, instagram.ErrBadSignedRequest},
		{"algorithm", signed(t, map[string]any{"algorithm": "none", "user_id": "1"}, secret), []string{secret}, dmflow.ErrInvalid},
		{"no user", signed(t, map[string]any{"algorithm": "HMAC-SHA256"}, secret), []string{secret}, dmflow.ErrInvalid},
		{"no dot", "abc", []string{secret}, dmflow.ErrInvalid},
		{"short signature", "YWJj." + payload, []string{secret}, dmflow.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := instagram.ParseSignedRequest(tc.sr, tc.secrets...)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || got != nil {
					t.Fatalf("got %+v, %v; want %v", got, err, tc.want)
				}
				return
			}
			if err != nil || got.UserID != "218471" || got.IssuedAt.Unix() != 1291836800 {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

// FuzzParseSignedRequest: the parser never panics, fails only with
// ErrInvalid, and accepts only what the secret signed.
func FuzzParseSignedRequest(f *testing.F) {
	const secret = "fuzz-secret"
	f.Add(signed(f, map[string]any{"algorithm": "HMAC-SHA256", "issued_at": 1, "user_id": "42"}, secret))
	f.Add(signed(f, map[string]any{"algorithm": "HMAC-SHA256", "user_id": 42.5}, secret))
	f.Add("a.b")
	f.Add("..")
	f.Fuzz(func(t *testing.T, sr string) {
		got, err := instagram.ParseSignedRequest(sr, secret)
		if err != nil {
			if !errors.Is(err, dmflow.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if got.UserID == "" {
			t.Fatal("accepted without a user id")
		}
		if _, err := instagram.ParseSignedRequest(sr, "another-secret"); !errors.Is(err, instagram.ErrBadSignedRequest) {
			t.Fatalf("accepted with another secret: %v", err)
		}
	})
}
