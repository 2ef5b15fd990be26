// Package english formats counts for the command line's messages.
package english

import (
	"fmt"
	"strings"
)

// Plural is "1 word", else "n words" ("n ...ies" for a word ending in y).
func Plural(n int, word string) string {
	switch {
	case n == 1:
		return "1 " + word
	case strings.HasSuffix(word, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}
