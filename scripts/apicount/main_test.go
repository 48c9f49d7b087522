package main

import (
	"go/parser"
	"testing"
)

// TestCountDir counts testdata/p, whose comments say what each line adds.
func TestCountDir(t *testing.T) {
	got, err := countDir("testdata/p")
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Consts: 2, Vars: 1, Funcs: 1, Types: 6, Methods: 4, Fields: 5}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Total() != 19 {
		t.Errorf("got total %d, want 19", got.Total())
	}
}

func TestTypeName(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"T", "T"},
		{"*T", "T"},
		{"(*T)", "T"},
		{"pkg.T", "T"},
		{"*T[K]", "T"},
		{"T[K, V]", "T"},
		{"[]T", ""},            // not a named type
		{"~int | ~string", ""}, // a constraint union
	} {
		expr, err := parser.ParseExpr(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got := typeName(expr); got != tc.want {
			t.Errorf("typeName(%s): got %q, want %q", tc.src, got, tc.want)
		}
	}
}
