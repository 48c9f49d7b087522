package main

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// shown is stored text as the CLI prints it in its tables and messages:
// as it is when every character is printable, else Go-quoted with escapes.
// Names are checked at creation, but a database may hold rows from older
// versions or other tools, and nothing stored may rewrite the terminal
// (an escape sequence), break a table (a tab or newline) or disguise one
// name as another (a right-to-left override).
func shown(s string) string {
	if !utf8.ValidString(s) {
		// Ranging would yield U+FFFD, which is printable, for a byte
		// such as 0x9b (an 8-bit CSI) that a terminal acts on.
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
