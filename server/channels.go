package server

import (
	"context"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/bot"
)

// AddMessengerPage routes the replies of a Messenger Page's users to
// client (the Page's Messenger Send API client) and leaves them out of
// the Instagram profile lookups: what adding the Messenger channel to a
// bot means, for serve and for the studio alike.
func AddMessengerPage(bc *bot.Config, page string, client dmflow.Sender) {
	bc.Sender = SenderByAccount{Default: bc.Sender, Accounts: map[string]dmflow.Sender{page: client}}
	bc.Profiles = ProfilesExcept(bc.Profiles, page)
}

// SenderByAccount routes each outgoing message by its account to the
// sender of that account's channel: a Messenger Page id to the Messenger
// client, everything else to Default (Instagram). Accounts of different
// channels are different ids, so the account alone decides.
type SenderByAccount struct {
	Default  dmflow.Sender
	Accounts map[string]dmflow.Sender
}

var _ dmflow.Sender = SenderByAccount{}

// Send implements dmflow.Sender.
func (r SenderByAccount) Send(ctx context.Context, m dmflow.Outgoing) (string, error) {
	if s := r.Accounts[m.Key.Account]; s != nil {
		return s.Send(ctx, m)
	}
	return r.Default.Send(ctx, m)
}

// ProfilesExcept asks p about every account but skip, whose users get an
// empty profile (every field unknown): the Instagram User Profile API
// knows nothing of Messenger Pages. Nil p stays nil.
func ProfilesExcept(p bot.Profiles, skip ...string) bot.Profiles {
	if p == nil || len(skip) == 0 {
		return p
	}
	m := make(map[string]bool, len(skip))
	for _, a := range skip {
		m[a] = true
	}
	return profilesExcept{p, m}
}

type profilesExcept struct {
	next bot.Profiles
	skip map[string]bool
}

func (p profilesExcept) Profile(ctx context.Context, account, user string) (dmflow.Profile, error) {
	if p.skip[account] {
		return dmflow.Profile{}, nil
	}
	return p.next.Profile(ctx, account, user)
}

// ForgetProfile passes on to p (bot.ProfileForgetter), so refresh_profile
// still drops the cached profile of the other accounts' users.
func (p profilesExcept) ForgetProfile(account, user string) {
	if f, ok := p.next.(bot.ProfileForgetter); ok && !p.skip[account] {
		f.ForgetProfile(account, user)
	}
}
