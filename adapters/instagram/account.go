package instagram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/dmflow/dmflow"
)

// maxProfiles bounds the profile cache.
const maxProfiles = 10000

type profileKey struct{ account, user string }

type cachedProfile struct {
	p dmflow.Profile
}

// profileFields are the User Profile API fields Profile asks for (Meta's
// "Instagram User Profile API" and Messenger "User Profile API" pages: name,
// username, profile_pic; is_verified_user, follower_count,
// is_user_follow_business, is_business_follow_user since v12.0).
const profileFields = "name,username,profile_pic,follower_count,is_user_follow_business,is_business_follow_user,is_verified_user"

// Profile returns the user's profile, from the cache when fetched less than
// ProfileTTL ago (ForgetProfile drops it). The platform answers only for
// users who gave consent — messaged the account, tapped an ice breaker or
// the persistent menu (error 230 otherwise: a commenter who never wrote);
// fields it leaves out stay unknown (nil).
func (c *Client) Profile(ctx context.Context, account, igsid string) (dmflow.Profile, error) {
	key := profileKey{account, igsid}
	now := c.cfg.Clock()
	c.mu.Lock()
	cp, ok := c.profiles[key]
	c.mu.Unlock()
	if ok && now.Sub(cp.p.Fetched) < c.cfg.ProfileTTL {
		return cp.p, nil
	}
	var out struct {
		Username        string `json:"username"`
		Name            string `json:"name"`
		ProfilePic      string `json:"profile_pic"`
		FollowsBusiness *bool  `json:"is_user_follow_business"`
		BusinessFollows *bool  `json:"is_business_follow_user"`
		FollowerCount   *int   `json:"follower_count"`
		Verified        *bool  `json:"is_verified_user"`
	}
	u := c.cfg.BaseURL + "/" + c.cfg.Version + "/" + url.PathEscape(igsid) + "?fields=" + profileFields
	if err := c.get(ctx, account, u, &out); err != nil {
		return dmflow.Profile{}, fmt.Errorf("instagram: profile %s: %w", igsid, err)
	}
	p := dmflow.Profile{Username: out.Username, Name: out.Name, ProfilePic: out.ProfilePic,
		FollowsBusiness: out.FollowsBusiness, BusinessFollows: out.BusinessFollows,
		FollowerCount: out.FollowerCount, Verified: out.Verified, Fetched: now}
	c.mu.Lock()
	if len(c.profiles) >= maxProfiles {
		for k := range c.profiles { // evict an arbitrary entry
			delete(c.profiles, k)
			break
		}
	}
	c.profiles[key] = cachedProfile{p}
	c.mu.Unlock()
	return p, nil
}

// IceBreaker is one question shown before a conversation starts; a tap
// sends a postback with Payload.
type IceBreaker struct {
	Question string `json:"question"`
	Payload  string `json:"payload"`
}

// Localized holds per-locale ice breakers or persistent-menu items. One
// entry must have Locale "default".
type Localized[T any] struct {
	Locale string `json:"locale"`
	Items  []T    `json:"call_to_actions"`
}

// SetIceBreakers replaces the account's ice breakers (at most 4 per
// locale, a "default" locale required).
func (c *Client) SetIceBreakers(ctx context.Context, account string, locales []Localized[IceBreaker]) error {
	for _, l := range locales {
		if len(l.Items) > dmflow.MaxIceBreakers {
			return fmt.Errorf("instagram: %d ice breakers for %s, at most %d: %w", len(l.Items), l.Locale, dmflow.MaxIceBreakers, dmflow.ErrInvalid)
		}
	}
	return c.setProfileField(ctx, account, "ice_breakers", locales)
}

// SetPersistentMenu replaces the account's persistent menu; items are
// postback or web_url buttons.
func (c *Client) SetPersistentMenu(ctx context.Context, account string, locales []Localized[dmflow.Button]) error {
	return c.setProfileField(ctx, account, "persistent_menu", locales)
}

func (c *Client) setProfileField(ctx context.Context, account, field string, locales any) error {
	body, err := json.Marshal(map[string]any{"platform": "instagram", field: locales})
	if err != nil {
		return err
	}
	cl := call{method: http.MethodPost, url: c.nodeURL(account, "messenger_profile"), body: body,
		ctype: "application/json", account: account, idempotent: true}
	if _, err := c.withRetry(ctx, account, cl); err != nil {
		return fmt.Errorf("instagram: set %s: %w", field, err)
	}
	return nil
}

// DefaultFields are the webhook fields dmflow subscribes accounts to.
var DefaultFields = []string{
	"messages", "messaging_postbacks", "messaging_seen", "message_reactions",
	"messaging_referral", "messaging_optins", "messaging_handover", "standby", "comments",
}

// Subscribe enables webhook delivery of fields (nil: DefaultFields) for the
// account: POST /{account}/subscribed_apps. Without it nothing arrives.
func (c *Client) Subscribe(ctx context.Context, account string, fields []string) error {
	if len(fields) == 0 {
		fields = DefaultFields
	}
	u := c.nodeURL(account, "subscribed_apps") + "?subscribed_fields=" + url.QueryEscape(strings.Join(fields, ","))
	cl := call{method: http.MethodPost, url: u, account: account, idempotent: true}
	res, err := c.withRetry(ctx, account, cl)
	if err != nil {
		return fmt.Errorf("instagram: subscribe %s: %w", account, err)
	}
	var out struct {
		Success bool `json:"success"`
	}
	if err := json.Unmarshal(res.body, &out); err != nil || !out.Success {
		return fmt.Errorf("instagram: subscribe %s: platform did not confirm: %s", account, res.body)
	}
	return nil
}

// SubscribedApp is one app subscribed to the account's webhooks.
type SubscribedApp struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Fields []string `json:"subscribed_fields"`
}

// SubscribedApps lists the apps (and fields) subscribed to the account, to
// check that webhooks are still enabled (Meta disables them after an hour
// of failed deliveries).
func (c *Client) SubscribedApps(ctx context.Context, account string) ([]SubscribedApp, error) {
	var out struct {
		Data []struct {
			ID     flexString `json:"id"`
			Name   string     `json:"name"`
			Fields []string   `json:"subscribed_fields"`
		} `json:"data"`
	}
	if err := c.get(ctx, account, c.nodeURL(account, "subscribed_apps"), &out); err != nil {
		return nil, fmt.Errorf("instagram: subscribed apps %s: %w", account, err)
	}
	apps := make([]SubscribedApp, len(out.Data))
	for i, d := range out.Data {
		apps[i] = SubscribedApp{ID: string(d.ID), Name: d.Name, Fields: d.Fields}
	}
	return apps, nil
}

// get performs an idempotent GET with retries and decodes the answer.
func (c *Client) get(ctx context.Context, account, u string, out any) error {
	cl := call{method: http.MethodGet, url: u, account: account, idempotent: true}
	res, err := c.withRetry(ctx, account, cl)
	if err != nil {
		return err
	}
	return decodeBody(cl, res.body, out)
}

// ForgetProfile drops the cached profile of one person (after an erasure
// request; bot.ProfileForgetter).
func (c *Client) ForgetProfile(account, igsid string) {
	c.mu.Lock()
	delete(c.profiles, profileKey{account, igsid})
	c.mu.Unlock()
}
