package instagram

import (
	"context"
	"fmt"

	"github.com/dmflow/dmflow"
)

// StaticToken is one token for every account, e.g. a long-lived token
// generated in the App Dashboard and passed in the environment. It is never
// refreshed: dashboard tokens expire after 60 days.
type StaticToken string

// Token returns the token.
func (t StaticToken) Token(context.Context, string) (string, error) {
	if t == "" {
		return "", fmt.Errorf("instagram: static token is empty: %w", dmflow.ErrNotFound)
	}
	return string(t), nil
}

// String redacts the token.
func (t StaticToken) String() string { return "StaticToken(REDACTED)" }

// StaticTokens maps accounts (IG_IDs) to tokens.
type StaticTokens map[string]string

// Token returns the account's token or an error wrapping dmflow.ErrNotFound.
func (m StaticTokens) Token(_ context.Context, account string) (string, error) {
	if t, ok := m[account]; ok && t != "" {
		return t, nil
	}
	return "", fmt.Errorf("instagram: no static token for account %s: %w", account, dmflow.ErrNotFound)
}
