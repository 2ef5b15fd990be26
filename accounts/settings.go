package accounts

import (
	"maps"
	"time"
)

// Settings are one account's overrides of the deployment's settings. Zero
// fields inherit the default.
type Settings struct {
	// Flows is the account's bundle (file or directory).
	Flows string
	// Secrets resolve the account's ${NAME} action secrets before the
	// deployment's.
	Secrets map[string]string
	// NotifyURL and NotifySecret send the account's outgoing webhooks
	// (notices) elsewhere. Both or neither.
	NotifyURL, NotifySecret string
	// HandoffRelease overrides handoff_release (nil: inherit; 0: never).
	HandoffRelease *time.Duration
	// AccessToken is the account's long-lived Instagram access token (from
	// the App Dashboard), instead of a token stored by dmflow auth or the
	// deployment's INSTAGRAM_ACCESS_TOKEN.
	AccessToken string
	// MessengerProfile names a YAML file of the account's ice breakers and
	// persistent menu (instead of the deployment's).
	MessengerProfile string
}

// Table holds the deployment's default Settings and each account's.
type Table struct {
	Default  Settings
	Accounts map[string]Settings
}

// For returns account's settings over the defaults. Secrets are merged:
// the account's names win.
func (t *Table) For(account string) Settings {
	out := t.Default
	a, ok := t.Accounts[account]
	if !ok {
		return out
	}
	if a.Flows != "" {
		out.Flows = a.Flows
	}
	if len(a.Secrets) > 0 {
		out.Secrets = maps.Clone(t.Default.Secrets)
		if out.Secrets == nil {
			out.Secrets = map[string]string{}
		}
		maps.Copy(out.Secrets, a.Secrets)
	}
	if a.NotifyURL != "" {
		out.NotifyURL, out.NotifySecret = a.NotifyURL, a.NotifySecret
	}
	if a.HandoffRelease != nil {
		out.HandoffRelease = a.HandoffRelease
	}
	if a.MessengerProfile != "" {
		out.MessengerProfile = a.MessengerProfile
	}
	if a.AccessToken != "" {
		out.AccessToken = a.AccessToken
	}
	return out
}

// Secret resolves the action secret name for account: the account's own
// secrets, then the defaults.
func (t *Table) Secret(account, name string) (string, bool) {
	if v, ok := t.Accounts[account].Secrets[name]; ok {
		return v, true
	}
	v, ok := t.Default.Secrets[name]
	return v, ok
}

// AccountSecret resolves name from account's own secrets only (the
// deployment's are looked up after the environment's by the caller).
func (t *Table) AccountSecret(account, name string) (string, bool) {
	v, ok := t.Accounts[account].Secrets[name]
	return v, ok
}

// Notify returns where account's notices go ("" when nowhere).
func (t *Table) Notify(account string) (url, secret string) {
	s := t.For(account)
	return s.NotifyURL, s.NotifySecret
}

// AccessTokens returns the accounts' own access tokens (account → token).
func (t *Table) AccessTokens() map[string]string {
	out := map[string]string{}
	for id, a := range t.Accounts {
		if a.AccessToken != "" {
			out[id] = a.AccessToken
		}
	}
	return out
}

// AnyNotify reports whether any account (or the default) sends notices.
func (t *Table) AnyNotify() bool {
	if t.Default.NotifyURL != "" {
		return true
	}
	for _, a := range t.Accounts {
		if a.NotifyURL != "" {
			return true
		}
	}
	return false
}
