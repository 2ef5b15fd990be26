package dmflow

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SplitText splits s into parts of at most max bytes, preferring paragraph
// breaks, then line breaks, then sentence ends, then spaces, and never
// cutting a UTF-8 sequence or separating a character from the combining
// marks, variation selectors, skin tones or zero-width joiners that follow
// it. Whitespace at the cut is dropped.
func SplitText(s string, max int) []string {
	parts, _ := splitText(s, max, 0)
	return parts
}

// TruncateText returns the longest prefix of s that SplitText sends in at
// most n parts of max bytes, and whether it had to cut. Splitting the
// prefix again gives at most n parts: the cuts only look ahead one window.
func TruncateText(s string, max, n int) (string, bool) {
	_, end := splitText(s, max, n)
	if end < 0 {
		return s, false
	}
	return s[:end], true
}

// splitText splits s; with limit > 0 it stops after limit parts and
// returns where the last of them ends in s when text remains (else -1).
func splitText(s string, max, limit int) ([]string, int) {
	var parts []string
	orig, lastEnd := len(s), -1
	for len(s) > max {
		if limit > 0 && len(parts) == limit {
			return parts, lastEnd
		}
		cut := cutPoint(s, max)
		if cut == 0 { // max smaller than one rune
			_, cut = utf8.DecodeRuneInString(s)
		}
		if head := strings.TrimRightFunc(s[:cut], unicode.IsSpace); head != "" {
			parts = append(parts, head)
			lastEnd = orig - len(s) + len(head)
		}
		s = strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
	}
	if s != "" || len(parts) == 0 {
		if limit > 0 && len(parts) == limit {
			return parts, lastEnd
		}
		parts = append(parts, s)
	}
	return parts, -1
}

// cutPoint returns where to cut s so the head is at most max bytes.
func cutPoint(s string, max int) int {
	window := s[:safeBoundary(s, max)]
	for _, sep := range []string{"\n\n", "\n", ". ", "! ", "? ", " "} {
		if i := strings.LastIndex(window, sep); i > len(window)/2 {
			return i + len(sep)
		}
	}
	return len(window)
}

// safeBoundary returns the largest index <= max that starts a new
// user-perceived character (falling back to a rune boundary when one
// character is longer than max).
func safeBoundary(s string, max int) int {
	i := runeStart(s, max)
	for i > 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if !joinsPrevious(r) && prev != zwj {
			return i
		}
		i = runeStart(s, i-1)
	}
	return runeStart(s, max)
}

func runeStart(s string, i int) int {
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

const zwj = 0x200D

// joinsPrevious reports runes that belong to the character before them:
// joiners, variation selectors, skin tones, tag characters, combining marks.
func joinsPrevious(r rune) bool {
	switch {
	case r == zwj, r >= 0xFE00 && r <= 0xFE0F, r >= 0x1F3FB && r <= 0x1F3FF, r >= 0xE0020 && r <= 0xE007F:
		return true
	}
	return unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)
}
