package instagram

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/dmflow/dmflow/internal/pace"
)

// RateLimits are per-account send rates. Zero fields take the platform's
// published limits; a negative field disables that limiter.
type RateLimits struct {
	// Text is sends per second of text, links, reactions, stickers,
	// templates and sender actions (default 100).
	Text float64
	// Media is sends per second of audio or video (default 10).
	Media float64
	// PrivateReplies is private replies per hour (default 750).
	PrivateReplies float64
	// PrivateBurst is how many private replies may go at once before the
	// hourly rate paces them (default 50).
	PrivateBurst int
	// Headroom is the fraction of the Text and Media rates that the
	// cluster-wide pacer (ClientConfig.Pacer) leaves unused, so that the
	// jitter between a send's slot and its arrival at the platform (a busy
	// CPU, the network) does not put more than the rate into one second
	// there (default 0.15: 85 text sends/s per account; negative: none).
	// The per-process limiter does not use it.
	Headroom float64
}

func (l RateLimits) withDefaults() RateLimits {
	if l.Text == 0 {
		l.Text = 100
	}
	if l.Media == 0 {
		l.Media = 10
	}
	if l.PrivateReplies == 0 {
		l.PrivateReplies = 750
	}
	if l.PrivateBurst <= 0 {
		l.PrivateBurst = 50
	}
	l.Headroom = pace.HeadroomOr(l.Headroom)
	return l
}

// Usage thresholds (percent of the app's or account's call budget).
const (
	slowDownAt = 80
	pauseAt    = 100
	// pauseDefault is the pause at 100 % when the platform names no time.
	pauseDefault = time.Minute
)

// limiter holds one account's throttle state (the send slots are the
// client's pace.Pacer's).
type limiter struct {
	mu    sync.Mutex
	until time.Time     // no calls before this (platform asked us to wait)
	slow  time.Duration // extra delay per call near the usage limit
}

// paceRates are l's rates for a pace.Pacer.
func (l RateLimits) paceRates() pace.Rates {
	return pace.Rates{Text: l.Text, Media: l.Media, Private: l.PrivateReplies / 3600, PrivateBurst: l.PrivateBurst,
		Headroom: l.Headroom}
}

// pause returns how long calls must wait for the platform's throttle, and
// the extra per-call delay near the limit.
func (l *limiter) pause(now time.Time) (wait, slow time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.until) {
		wait = l.until.Sub(now)
	}
	return wait, l.slow
}

// observe updates the throttle from a response's usage headers.
func (l *limiter) observe(now time.Time, h http.Header) time.Duration {
	pct, regain := usage(h)
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	switch {
	case regain > 0:
		wait = regain
	case pct >= pauseAt:
		wait = pauseDefault
	}
	if wait > 0 && now.Add(wait).After(l.until) {
		l.until = now.Add(wait)
	}
	l.slow = 0
	if pct >= slowDownAt {
		l.slow = time.Duration(pct-slowDownAt+1) * 50 * time.Millisecond
	}
	return wait
}

// usage reads X-App-Usage and X-Business-Use-Case-Usage: the highest
// percentage of any budget and the longest estimated_time_to_regain_access
// (minutes). Absent or malformed headers count as no information.
func usage(h http.Header) (pct int, regain time.Duration) {
	var app map[string]float64
	if json.Unmarshal([]byte(h.Get("X-App-Usage")), &app) == nil {
		pct = maxPct(pct, app)
	}
	var buc map[string][]map[string]any
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &buc) != nil {
		return pct, 0
	}
	for _, list := range buc {
		for _, u := range list {
			nums := map[string]float64{}
			for k, v := range u {
				if f, ok := v.(float64); ok {
					nums[k] = f
				}
			}
			if m := time.Duration(nums["estimated_time_to_regain_access"]) * time.Minute; m > regain {
				regain = m
			}
			delete(nums, "estimated_time_to_regain_access")
			pct = maxPct(pct, nums)
		}
	}
	return pct, regain
}

func maxPct(pct int, m map[string]float64) int {
	for _, k := range []string{"call_count", "total_cputime", "total_time"} {
		if v := int(m[k]); v > pct {
			pct = v
		}
	}
	return pct
}
