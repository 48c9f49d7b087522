// Package label checks the names people give credentials and clients
// (an API key's name, an OAuth client's name), which are shown back to
// people: in listings, logs and on consent pages.
package label

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Valid reports whether s is a usable name of at most max bytes: valid
// UTF-8, not empty or only white space, and without control or format
// characters (C0, C1, DEL, and Unicode format characters such as the
// right-to-left override U+202E or the zero-width space), which could
// rewrite a terminal line or make one name look like another.
func Valid(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) || strings.TrimSpace(s) == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
