package main

import (
	"strings"
	"testing"
	"time"
)

// TestTable: every mutant applies to the code as it is (its Old text is
// found exactly once and the result parses). A change to a security
// decision that moves a mutant's text fails here, naming the mutant to
// update, rather than leaving the mutation run to skip it.
func TestTable(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkTable(root, mutants); err != nil {
		t.Error(err)
	}
	for _, id := range smoke {
		if m := find(id); m.Equivalent != "" {
			t.Errorf("smoke mutant %s is marked equivalent: CI would learn nothing from it", id)
		}
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		m       mutant
		overlay string
		want    string
	}{
		{mutant{File: "scopes.go"}, "/tmp/o.json", "test -count=1 -failfast -timeout=1m0s -overlay=/tmp/o.json ./."},
		{mutant{File: "jwt/verifier.go"}, "", "test -count=1 -failfast -timeout=1m0s ./jwt"},
		// sqlstore's tests live in its nested test module.
		{mutant{File: "sqlstore/grants.go"}, "/o", "test -count=1 -failfast -timeout=1m0s -overlay=/o ./sqlstore/dbtest"},
		{mutant{File: "apikey/hash.go", Cmd: consttime("./apikey")}, "/o", "run ./scripts/consttime -overlay=/o ./apikey"},
		// The baseline runs a command without the overlay argument.
		{mutant{File: "apikey/hash.go", Cmd: consttime("./apikey")}, "", "run ./scripts/consttime ./apikey"},
	}
	for _, tc := range tests {
		if got := strings.Join(args(tc.m, tc.overlay, time.Minute), " "); got != tc.want {
			t.Errorf("args(%s, %q) = %q, want %q", tc.m.File, tc.overlay, got, tc.want)
		}
	}
}
