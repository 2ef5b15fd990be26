package engine

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dmflow/dmflow"
	"github.com/dmflow/dmflow/flows"
)

// parseInput extracts the typed value an event offers for an ask and
// reports whether it has the ask's type. `input` in validate and the
// captured value are: string for text, email, phone, url, choice and
// attachment (the first attachment's URL); float64 for number; time.Time
// (midnight UTC) for date.
func parseInput(a *flows.Ask, ev *dmflow.Event, now time.Time) (any, bool) {
	text := strings.TrimSpace(ev.Text)
	if text == "" {
		text = strings.TrimSpace(ev.Title) // postback button title
	}
	switch a.Type {
	case flows.AskNumber:
		return parseNumber(text)
	case flows.AskEmail:
		return parseEmail(firstNonEmpty(ev.Payload, text)) // user_email quick reply puts it in the payload
	case flows.AskPhone:
		return parsePhone(firstNonEmpty(ev.Payload, text))
	case flows.AskURL:
		return parseURL(text)
	case flows.AskDate:
		return parseDate(text, now)
	case flows.AskChoice:
		return parseChoice(a.Choices, ev.Payload, text)
	case flows.AskAttachment:
		if len(ev.Attachments) == 0 {
			return "", false
		}
		return ev.Attachments[0].URL, true
	default: // text
		return text, text != ""
	}
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return strings.TrimSpace(a)
	}
	return b
}

func parseNumber(s string) (any, bool) {
	s = strings.ReplaceAll(s, " ", "")
	if !strings.Contains(s, ".") && strings.Count(s, ",") == 1 {
		s = strings.Replace(s, ",", ".", 1) // decimal comma
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0.0, false
	}
	return f, true
}

func parseEmail(s string) (any, bool) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\n<>,;") || strings.Count(s, "@") != 1 {
		return s, false
	}
	dom := s[at+1:]
	if !strings.Contains(dom, ".") || strings.HasPrefix(dom, ".") || strings.HasSuffix(dom, ".") {
		return s, false
	}
	return strings.ToLower(s[:at]) + "@" + strings.ToLower(dom), true
}

func parsePhone(s string) (any, bool) {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return s, false
		}
	}
	return s, digits >= 7 && digits <= 15
}

func parseURL(s string) (any, bool) {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return s, false
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.Contains(u.Host, ".") {
		return s, false
	}
	return u.String(), true
}

var dateLayouts = []string{"2006-01-02", "2.1.2006", "2/1/2006", "2 Jan 2006", "Jan 2 2006", "2 January 2006", "January 2 2006"}

// parseDate accepts ISO dates, day-first numeric dates, English month names,
// RFC 3339, and "today"/"tomorrow" relative to the step's clock.
func parseDate(s string, now time.Time) (any, bool) {
	switch strings.ToLower(s) {
	case "today":
		return day(now), true
	case "tomorrow":
		return day(now.AddDate(0, 0, 1)), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	s = strings.ReplaceAll(s, ",", "")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// parseChoice matches the payload, then the text, against the choices,
// case-insensitively; the value is the choice as declared.
func parseChoice(choices []string, payload, text string) (any, bool) {
	for _, cand := range []string{payload, text} {
		if cand == "" {
			continue
		}
		for _, c := range choices {
			if strings.EqualFold(strings.TrimSpace(cand), c) {
				return c, true
			}
		}
	}
	return text, false
}
