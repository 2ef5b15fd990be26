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

// parseNumber reads a number as people type it (see "Numbers" in
// docs/flow-reference.md): an optional sign (+, -, −), ASCII, Arabic-Indic
// or Eastern Arabic-Indic digits, thousands separators ("," "." "٬" or a
// normal, no-break or thin space) in groups of three, one decimal separator
// ("." "," "٫"), or scientific notation ("1e4"). It rejects anything it
// cannot read unambiguously: "12.000" (12 or 12000?), "1 2", "12k", "$5".
// A single "," followed by exactly three digits groups thousands
// ("12,000" is 12000); a single "." so placed is ambiguous and rejected.
func parseNumber(s string) (any, bool) {
	f, ok := readNumber(s)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0.0, false
	}
	return f, true
}

const (
	decimalMark = 'D' // "٫": always a decimal separator
	groupMark   = 'G' // "٬" or a space: always a thousands separator
)

func readNumber(s string) (float64, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+"):
		neg, s = s[0] == '-', s[1:]
	case strings.HasPrefix(s, "−"): // U+2212 minus sign
		neg, s = true, s[len("−"):]
	}
	// Normalize to ASCII digits and the separator classes.
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= '٠' && r <= '٩': // Arabic-Indic
			b = append(b, byte('0'+r-'٠'))
		case r >= '۰' && r <= '۹': // Eastern Arabic-Indic (Persian, Urdu)
			b = append(b, byte('0'+r-'۰'))
		case r == '.' || r == ',':
			b = append(b, byte(r))
		case r == '٫':
			b = append(b, decimalMark)
		case r == '٬' || r == ' ' || r == '\u00a0' || r == '\u2009' || r == '\u202f':
			b = append(b, groupMark)
		case r == 'e' || r == 'E':
			b = append(b, 'e')
		case (r == '-' || r == '+') && len(b) > 0 && b[len(b)-1] == 'e':
			b = append(b, byte(r)) // exponent sign
		default:
			return 0, false // letters (12k), currency, a second sign, …
		}
	}
	body := string(b)
	if mant, exp, ok := strings.Cut(body, "e"); ok {
		// Scientific notation: plain digits with an optional "." only.
		if strings.ContainsAny(mant, ",DG") || !isExponent(exp) || mant == "" || mant == "." {
			return 0, false
		}
		return signed(strconv.ParseFloat(mant+"e"+exp, 64))(neg)
	}
	intPart, frac, ok := splitDecimal(body)
	if !ok {
		return 0, false
	}
	digits, ok := ungroup(intPart)
	if !ok {
		return 0, false
	}
	num := digits
	if frac != "" {
		num += "." + frac
	}
	return signed(strconv.ParseFloat(num, 64))(neg)
}

func signed(f float64, err error) func(bool) (float64, bool) {
	return func(neg bool) (float64, bool) {
		if err != nil {
			return 0, false
		}
		if neg {
			f = -f
		}
		return f, true
	}
}

func isExponent(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "+"), "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// splitDecimal finds the decimal separator of a normalized number, if any,
// and returns the integer part (still grouped) and the fraction digits.
func splitDecimal(b string) (intPart, frac string, ok bool) {
	if b == "" {
		return "", "", false
	}
	last := strings.LastIndexAny(b, ".,DG")
	if last < 0 {
		return b, "", true
	}
	c := b[last]
	if c == 'G' {
		return b, "", true // ends in a group: no decimal part
	}
	before, after := b[:last], b[last+1:]
	if after == "" || strings.Trim(after, "0123456789") != "" {
		return "", "", false // "12." or separators in the fraction
	}
	switch {
	case c == 'D':
		return before, after, true
	case strings.IndexByte(before, c) >= 0:
		return b, "", true // repeated: "1,234,567" / "1.234.567" group
	case strings.ContainsAny(before, ".,DG"):
		return before, after, true // after other separators: "1,234.5", "1.234,5", "1 234,5"
	case before == "":
		return "0", after, c == '.' // ".5"
	case len(after) == 3 && len(before) <= 3 && before[0] != '0':
		// "12,000" or "12.000": one separator before exactly three digits.
		if c == ',' {
			return b, "", true // thousands
		}
		return "", "", false // "12.000": 12 or 12000? ambiguous
	}
	return before, after, true // "12.5", "3,14", "1234.567", "0.500"
}

// ungroup checks the thousands grouping of an integer part (one kind of
// separator; a first group of 1-3 digits, then groups of exactly 3) and
// returns its digits.
func ungroup(s string) (string, bool) {
	seps := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
	if seps == "" {
		return s, s != ""
	}
	if strings.Trim(seps, seps[:1]) != "" {
		return "", false // "1,234.567.8", "1 234,567"
	}
	groups := strings.Split(s, seps[:1])
	for i, g := range groups {
		if strings.Trim(g, "0123456789") != "" || len(g) > 3 || (i > 0 && len(g) != 3) || g == "" {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
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
