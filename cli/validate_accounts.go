package cli

import (
	"github.com/dmflow/dmflow/accounts"
	"github.com/dmflow/dmflow/flows"
)

// accountBundles loads the bundles of a per-account flows directory (the
// one argument of validate --against) and returns the bundle of each
// account (its own, else default/). ok=false with exitOK: args are not a
// per-account directory; with another code: it failed (printed).
func accountBundles(args []string, stdio IO) (bundleFor func(string) *flows.Bundle, name string, ok bool, code int) {
	if len(args) != 1 {
		return nil, "", false, exitOK
	}
	l, multi, err := accounts.ReadLayout(args[0])
	if err != nil {
		return nil, "", false, exitFor(stdio.Err, "validate", err)
	}
	if !multi {
		return nil, "", false, exitOK
	}
	m := map[string]*flows.Bundle{}
	for _, id := range l.Accounts() {
		b, err := flows.Load(l.Bundles[id])
		if err != nil {
			return nil, "", false, exitFor(stdio.Err, "validate", err)
		}
		m[id] = b
	}
	return func(account string) *flows.Bundle {
		if b, ok := m[account]; ok {
			return b
		}
		return m[accounts.Default]
	}, args[0] + " (per account)", true, exitOK
}
