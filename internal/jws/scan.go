package jws

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file reads the members of a JSON object. encoding/json's Unmarshal
// is not used for token JSON because it matches member names
// case-insensitively and keeps the last of duplicate names:
// {"aud":"ours","AUD":"theirs"} would read differently here and in a
// handler that decodes Principal.Claims. Reading members with exact names
// lets the verifier refuse duplicates and case variants of the claims it
// checks, and is several times cheaper on the hot path. The syntax is
// checked in the same pass (RFC 8259): an object the member iterator
// accepts to its end is one json.Valid accepts, in valid UTF-8, which
// FuzzMembers holds it to.

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// scanValue returns the index just past the valid value at s[i], or -1.
func scanValue(s string, i, depth int) int {
	if i >= len(s) {
		return -1
	}
	switch c := s[i]; {
	case c == '"':
		return scanString(s, i)
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return -1
		}
		return scanContainer(s, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(s, i)
	case c == 't':
		return scanLiteral(s, i, "true")
	case c == 'f':
		return scanLiteral(s, i, "false")
	case c == 'n':
		return scanLiteral(s, i, "null")
	}
	return -1
}

func scanLiteral(s string, i int, lit string) int {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit)
	}
	return -1
}

// scanString returns the index just past the valid string at s[i] (a
// quote), or -1: no control characters, only RFC 8259 §7 escapes.
func scanString(s string, i int) int {
	for j := i + 1; j < len(s); {
		switch c := s[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(s) {
				return -1
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) || !isHex(s[j+2]) || !isHex(s[j+3]) || !isHex(s[j+4]) || !isHex(s[j+5]) {
					return -1
				}
				j += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			j++
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber returns the index just past the valid number at s[i], or -1:
//
//	number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
func scanNumber(s string, i int) int {
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		j := digits(s, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// scanContainer returns the index just past the valid object or array at
// s[i], or -1.
func scanContainer(s string, i, depth int) int {
	object := s[i] == '{'
	end := byte(']')
	if object {
		end = '}'
	}
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == end {
		return i + 1
	}
	for {
		if object {
			if i >= len(s) || s[i] != '"' {
				return -1
			}
			if i = scanString(s, i); i < 0 {
				return -1
			}
			i = skipSpace(s, i)
			if i >= len(s) || s[i] != ':' {
				return -1
			}
			i = skipSpace(s, i+1)
		}
		if i = scanValue(s, i, depth); i < 0 {
			return -1
		}
		i = skipSpace(s, i)
		switch {
		case i >= len(s):
			return -1
		case s[i] == ',':
			i = skipSpace(s, i+1)
		case s[i] == end:
			return i + 1
		default:
			return -1
		}
	}
}

// Members iterates over the members of a JSON object, checking the
// syntax as it goes: when Next returns false, End tells whether the object
// was valid JSON with nothing but whitespace after it.
type Members struct {
	s     string
	i     int
	count int
	ended bool
}

// NewMembers returns an iterator over the object s, or false when s does
// not start like one.
func NewMembers(s string) (Members, bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return Members{}, false
	}
	return Members{s: s, i: i + 1}, true
}

// Next returns the next member's name, unescaped, and its raw JSON value
// (valid JSON). It returns false at the end of the object or at a syntax
// error.
func (m *Members) Next() (name, val string, ok bool) {
	s := m.s
	i := skipSpace(s, m.i)
	if i < len(s) && s[i] == '}' && m.count == 0 {
		m.i, m.ended = i+1, true
		return "", "", false
	}
	if m.count > 0 {
		switch {
		case i < len(s) && s[i] == '}':
			m.i, m.ended = i+1, true
			return "", "", false
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		default:
			return "", "", false
		}
	}
	if i >= len(s) || s[i] != '"' {
		return "", "", false
	}
	j := scanString(s, i)
	if j < 0 {
		return "", "", false
	}
	if name, ok = JSONString(s[i:j]); !ok {
		return "", "", false
	}
	i = skipSpace(s, j)
	if i >= len(s) || s[i] != ':' {
		return "", "", false
	}
	i = skipSpace(s, i+1)
	if j = scanValue(s, i, 1); j < 0 {
		return "", "", false
	}
	m.i = j
	m.count++
	return name, s[i:j], true
}

// End reports whether the iteration reached the end of a valid object
// followed only by whitespace, in valid UTF-8 (RFC 8259 §8.1): decoders
// replace invalid bytes with U+FFFD, so a handler would read other strings
// than the verifier checked.
func (m *Members) End() bool {
	return m.ended && skipSpace(m.s, m.i) == len(m.s) && utf8.ValidString(m.s)
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// JSONString returns the value of the raw JSON string v (with its quotes),
// or false when v is not a string. Without escapes it is a substring of v
// and costs nothing.
func JSONString(v string) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if strings.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var out string
	if json.Unmarshal([]byte(v), &out) != nil {
		return "", false
	}
	return out, true
}

// Elements iterates over the elements of a JSON array that Members has
// already validated.
type Elements struct {
	s string
	i int
}

func NewElements(s string) (Elements, bool) {
	if s == "" || s[0] != '[' {
		return Elements{}, false
	}
	return Elements{s: s, i: 1}, true
}

// Next returns the next element's raw JSON, or false at the end.
func (e *Elements) Next() (string, bool) {
	s := e.s
	i := skipSpace(s, e.i)
	if i < len(s) && s[i] == ',' {
		i = skipSpace(s, i+1)
	}
	if i >= len(s) || s[i] == ']' {
		return "", false
	}
	j := scanValue(s, i, 1)
	if j < 0 {
		return "", false
	}
	e.i = j
	return s[i:j], true
}
