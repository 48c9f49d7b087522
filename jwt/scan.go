package jwt

import (
	"encoding/json"
	"strings"
)

// This file reads the members of a JSON object that json.Valid has already
// accepted. encoding/json's Unmarshal is not used for token JSON because it
// matches member names case-insensitively and keeps the last of duplicate
// names: {"aud":"ours","AUD":"theirs"} would read differently here and in a
// handler that decodes Principal.Claims. Reading members with exact names
// lets the verifier refuse duplicates and case variants of the claims it
// checks, and is three times cheaper on the hot path.

// members iterates over the top-level members of a valid JSON object.
type members struct {
	s string
	i int
}

// newMembers returns an iterator over the object s, or false when s is not
// an object. s must have passed json.Valid.
func newMembers(s string) (members, bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return members{}, false
	}
	return members{s: s, i: i + 1}, true
}

// next returns the next member's name, unescaped, and its raw JSON value.
// It returns false at the end of the object.
func (m *members) next() (name, val string, ok bool) {
	s := m.s
	i := skipSpace(s, m.i)
	if i < len(s) && s[i] == ',' {
		i = skipSpace(s, i+1)
	}
	if i >= len(s) || s[i] != '"' {
		return "", "", false
	}
	j := skipString(s, i)
	name, ok = jsonString(s[i:j])
	if !ok {
		return "", "", false
	}
	i = skipSpace(s, j)
	if i >= len(s) || s[i] != ':' {
		return "", "", false
	}
	i = skipSpace(s, i+1)
	j = skipValue(s, i)
	if j == i {
		return "", "", false // not valid JSON; never loop
	}
	m.i = j
	return name, s[i:j], true
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at s[i].
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index just past the value that starts at s[i].
func skipValue(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
		j++
	}
	return j
}

// jsonString returns the value of the raw JSON string v (with its quotes),
// or false when v is not a string. Without escapes it is a substring of v
// and costs nothing.
func jsonString(v string) (string, bool) {
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

// elements iterates over the elements of a valid JSON array.
type elements struct {
	s string
	i int
}

func newElements(s string) (elements, bool) {
	if s == "" || s[0] != '[' {
		return elements{}, false
	}
	return elements{s: s, i: 1}, true
}

// next returns the next element's raw JSON, or false at the end.
func (e *elements) next() (string, bool) {
	s := e.s
	i := skipSpace(s, e.i)
	if i < len(s) && s[i] == ',' {
		i = skipSpace(s, i+1)
	}
	if i >= len(s) || s[i] == ']' {
		return "", false
	}
	j := skipValue(s, i)
	if j == i {
		return "", false // not valid JSON; never loop
	}
	e.i = j
	return s[i:j], true
}
