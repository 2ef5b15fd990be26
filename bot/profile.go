package bot

import (
	"context"
	"sync"
	"time"

	"github.com/dmflow/dmflow"
)

// Profiles looks up what the platform tells about a customer, so flows can
// greet by name (`user.username`). *instagram.Client implements it, with
// its own cache.
type Profiles interface {
	Profile(ctx context.Context, account, user string) (dmflow.Profile, error)
}

// maxProfileFailures bounds the memory of recent failed lookups.
const maxProfileFailures = 10000

// profileFailures remembers users whose lookup failed recently, so a user
// the platform will not describe (error 230, a private account) does not
// cost a Graph call before every message.
type profileFailures struct {
	mu sync.Mutex
	at map[dmflow.SessionKey]time.Time
}

func (f *profileFailures) recent(k dmflow.SessionKey, now time.Time, retry time.Duration) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.at[k]
	return ok && now.Sub(t) < retry
}

func (f *profileFailures) record(k dmflow.SessionKey, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at == nil || len(f.at) >= maxProfileFailures {
		f.at = map[dmflow.SessionKey]time.Time{}
	}
	f.at[k] = now
}

// withProfile returns the session the engine steps from: s itself, or a
// copy carrying a freshly fetched profile when s has none or an old one
// (a minimal session with only Key, Profile and Created for a new user,
// which the engine starts like no session). Only messages and postbacks
// fetch; a failed or slow lookup is logged and the conversation goes on
// with what it has. The lookup runs off the worker: errParked means it
// is still running (see lookups); l holds its result across parking and
// conflict retries.
func (b *Bot) withProfile(ctx context.Context, s *dmflow.Session, ev *dmflow.Event, l *lookups) (*dmflow.Session, error) {
	if b.cfg.Profiles == nil {
		return s, nil
	}
	now := b.now()
	refresh := b.refreshState(s)
	if !ProfileDue(s, ev, now, b.cfg.ProfileTTL, refresh) {
		return s, nil
	}
	if !l.profileDone {
		key := ev.SessionKey()
		if !b.profileFails.recent(key, now, b.cfg.ProfileRetry) && !l.await(func() {
			if pf, ok := b.cfg.Profiles.(ProfileForgetter); ok && refresh {
				pf.ForgetProfile(key.Account, key.User) // past the adapter's cache too
			}
			l.profile = b.fetchProfile(ctx, key, now)
		}) {
			return nil, errParked
		}
		l.profileDone = true
	}
	if l.profile == nil {
		return s, nil
	}
	if s == nil {
		return &dmflow.Session{Key: ev.SessionKey(), Profile: l.profile, Created: now}, nil
	}
	c := *s // shallow: the engine never mutates its input
	c.Profile = l.profile
	return &c, nil
}

// fetchProfile asks Config.Profiles within Config.ProfileTimeout; nil when
// the lookup failed (or failed recently).
func (b *Bot) fetchProfile(ctx context.Context, key dmflow.SessionKey, now time.Time) *dmflow.Profile {
	if b.profileFails.recent(key, now, b.cfg.ProfileRetry) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.ProfileTimeout)
	defer cancel()
	p, err := b.cfg.Profiles.Profile(ctx, key.Account, key.User)
	if err != nil {
		b.profileFails.record(key, now)
		b.log.Warn("profile lookup failed, going on without it", "account", key.Account, "user", key.String(), "err", err)
		return nil
	}
	if p.Fetched.IsZero() {
		p.Fetched = now
	}
	return &p
}

// DefaultProfileTTL is Config.ProfileTTL's default.
const DefaultProfileTTL = 24 * time.Hour

// ProfileDue is the rule for when the customer's profile is fetched before
// ev is stepped: only for messages and postbacks (the events that give
// consent), when s has no profile or one fetched ttl or more ago, or always
// when s waits in a state marked refresh_profile (refresh). The bot and the
// authoring tools (`dmflow test`) share it.
func ProfileDue(s *dmflow.Session, ev *dmflow.Event, now time.Time, ttl time.Duration, refresh bool) bool {
	if ev.Kind != dmflow.KindMessage && ev.Kind != dmflow.KindPostback {
		return false
	}
	return refresh || s == nil || s.Profile == nil || now.Sub(s.Profile.Fetched) >= ttl
}

// refreshState reports whether s waits in a state marked refresh_profile,
// whose input is stepped with a freshly fetched profile.
func (b *Bot) refreshState(s *dmflow.Session) bool {
	if s == nil || s.State == "" {
		return false
	}
	r, ok := b.Engine().(ProfileRefresher)
	return ok && r.RefreshesProfile(s.Flow, s.State)
}

// ProfileRefresher is implemented by engines (engine.Engine) that mark
// states whose input needs a fresh profile (refresh_profile in flows).
type ProfileRefresher interface {
	RefreshesProfile(flow, state string) bool
}
