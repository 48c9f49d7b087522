package label

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"reporting", true},
		{"Photo Printer", true},
		{"Ünïcode ✓ 名前", true},
		{"", false},
		{"   ", false},               // white space only
		{"\t\n", false},              //
		{"a\nb", false},              // a second line in a listing
		{"a\x1b[2Jb", false},         // terminal escape
		{"a\x7fb", false},            // DEL
		{"a\u0085b", false},          // C1 next line
		{"evil\u202egnp.exe", false}, // right-to-left override
		{"ad\u200bmin", false},       // zero-width space: looks like "admin"
		{"\xff", false},              // not UTF-8
		{strings.Repeat("a", 201), false},
		{strings.Repeat("a", 200), true},
	}
	for _, tt := range tests {
		if got := Valid(tt.name, 200); got != tt.ok {
			t.Errorf("Valid(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func FuzzValid(f *testing.F) {
	f.Add("name")
	f.Add("a\u202eb")
	f.Fuzz(func(t *testing.T, s string) {
		if !Valid(s, 1<<20) {
			return
		}
		for _, r := range s {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("Valid(%q) accepted a control character %U", s, r)
			}
		}
	})
}
