package jws

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var jsonSamples = []string{
	`{}`, ` {"a" : [1, 2, {"b": null}] } `, `{"a":"\u00e9\n\"\\\/"}`, `{"iss":"x","aud":["a","b"],"exp":1e300}`,
	`{"a":-0,"b":1.5e-3,"c":true,"d":false,"e":null,"f":{},"g":[]}`,
	// Invalid, or not objects:
	``, ` `, `[]`, `""`, `0`, `null`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a":[1,]}`, `{"a":[,1]}`,
	`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":1e+}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"b}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, "{\"a\":\"a\tb\"}", `{"a":1}x`, `{} {}`, `{1:2}`,
	`{"a":[1 2]}`, "{\"\xff\":1}", "{\"a\":\"\xff\"}", `{"a":1 "b":2}`, `{"a":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 101) + `}`,
}

// walk reads s with the member iterator to its end, as the parsers do,
// and returns the names it saw and whether s was accepted.
func walk(s string) (map[string]bool, bool) {
	m, ok := NewMembers(s)
	if !ok {
		return nil, false
	}
	names := map[string]bool{}
	for {
		name, val, ok := m.Next()
		if !ok {
			return names, m.End()
		}
		names[name] = true
		if !json.Valid([]byte(val)) {
			return nil, false
		}
	}
}

// wantObject is what the iterator must accept: a JSON object, valid for
// json.Valid, in valid UTF-8.
func wantObject(s string) bool {
	t := strings.TrimLeft(s, " \t\r\n")
	return strings.HasPrefix(t, "{") && json.Valid([]byte(s)) && utf8.ValidString(s)
}

func TestMembers(t *testing.T) {
	for _, s := range jsonSamples {
		if _, got := walk(s); got != wantObject(s) {
			t.Errorf("%q: got accepted %v, want %v", s, got, wantObject(s))
		}
	}
}

// FuzzMembers holds the member iterator to encoding/json: it accepts an
// object exactly when json.Valid does (and the text is UTF-8), and sees
// the member names encoding/json sees.
func FuzzMembers(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, got := walk(s)
		if want := wantObject(s); got != want {
			t.Fatalf("%q: got accepted %v, want %v", s, got, want)
		}
		if !got {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			t.Fatalf("%q: accepted, but encoding/json says %v", s, err)
		}
		if len(names) != len(obj) {
			t.Fatalf("%q: got names %v, want those of %v", s, names, obj)
		}
		for name := range obj {
			if !names[name] {
				t.Fatalf("%q: missed member %q", s, name)
			}
		}
	})
}
