package jwt

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var jsonSamples = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e-3`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b": null}] } `,
	`{"a":"\u00e9\n\"\\\/"}`, `{"iss":"x","aud":["a","b"],"exp":1e300}`,
	// Invalid:
	``, ` `, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`,
	`tru`, `nul`, `"a`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", `{"a":1}x`, `{} {}`, `{1:2}`, `[1 2]`,
	"\"\xff\"", `{"a":1 "b":2}`, `[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 101),
}

func TestValidJSON(t *testing.T) {
	for _, s := range jsonSamples {
		if got, want := validJSON(s), json.Valid([]byte(s)) && utf8.ValidString(s); got != want {
			t.Errorf("validJSON(%q): got %v, want %v (json.Valid and UTF-8)", s, got, want)
		}
	}
}

// FuzzValidJSON holds validJSON to json.Valid (plus UTF-8), and the member iterator to
// encoding/json's reading of the names it returns.
func FuzzValidJSON(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := validJSON(s), json.Valid([]byte(s)) && utf8.ValidString(s)
		if got != want {
			t.Fatalf("validJSON(%q): got %v, want %v", s, got, want)
		}
		if !got {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &obj) != nil || obj == nil {
			return // not an object
		}
		m, ok := newMembers(s)
		if !ok {
			t.Fatalf("newMembers(%q): not an object", s)
		}
		seen := map[string]bool{}
		for {
			name, val, ok := m.next()
			if !ok {
				break
			}
			seen[name] = true
			if !json.Valid([]byte(val)) {
				t.Fatalf("member %q of %q: value %q is not JSON", name, s, val)
			}
		}
		if len(seen) != len(obj) {
			t.Fatalf("%q: got names %v, want those of %v", s, seen, obj)
		}
		for name := range obj {
			if !seen[name] {
				t.Fatalf("%q: missed member %q", s, name)
			}
		}
	})
}
