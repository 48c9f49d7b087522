package main

import (
	"bytes"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := os.Open("testdata/scan.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want := result{
		goVersion: "go1.26.8",
		vulns: []vuln{
			// Reported at module, package and symbol level: called, with
			// the shorter of the two call paths as the example.
			{ID: "GO-2026-0001", Summary: "Called through a long path", Level: called,
				Found: "example.com/dep@v1.2.0", Fixed: "v1.2.3",
				Example: "short.go:3:7: example.com/m.T.Short reaches example.com/dep/p.Parser.Parse"},
			{ID: "GO-2026-0002", Summary: "Only imported", Level: imported, Found: "stdlib@v1.26.8"},
			{ID: "GO-2026-0003", Summary: "Only required", Level: required, Found: "example.com/other@v0.4.0", Fixed: "v0.5.0"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parse:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestReport(t *testing.T) {
	results := []result{{module: ".", goVersion: "go1.26.8", vulns: []vuln{
		{ID: "GO-2026-0001", Summary: "s", Level: called, Found: "example.com/dep@v1.2.0", Fixed: "v1.2.3", Example: "e"},
		{ID: "GO-2026-0002", Summary: "s", Level: imported, Found: "stdlib@v1.26.8"},
	}}}
	for _, tc := range []struct {
		name     string
		accepted map[string]string
		ok       bool
		lines    []string // each must be in the output
	}{
		{"called, not accepted", nil, false, []string{
			"vulncheck: FAIL: our code calls GO-2026-0001 in . (example.com/dep@v1.2.0, fixed in v1.2.3)",
			"in packages imported, not called: GO-2026-0002",
		}},
		// Accepting another ID changes nothing, and is pointed out.
		{"another accepted", map[string]string{"GO-2026-0009": "why"}, false, []string{
			"vulncheck: FAIL: 1 called vulnerabilities not accepted",
			"lists GO-2026-0009, which no scan found",
		}},
		{"called, accepted", map[string]string{"GO-2026-0001": "the reason"}, true, []string{
			"accepted in .ci/vuln-accept: the reason",
			"vulncheck: ok:",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if got := report(&out, results, tc.accepted); got != tc.ok {
				t.Errorf("report: got %v, want %v\n%s", got, tc.ok, out.String())
			}
			for _, l := range tc.lines {
				if !strings.Contains(out.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
		})
	}
}

func TestParseAccepted(t *testing.T) {
	got, err := parseAccepted(strings.NewReader("# comment\n\nGO-2026-6599 stdlib: fixed in go1.26.9 # trailing\n"), "f")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"GO-2026-6599": "stdlib: fixed in go1.26.9"}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{
		"GO-2026-6599\n",         // no reason
		"CVE-2026-1 a reason\n",  // not a Go ID
		"GO-2026-6599a reason\n", // no space after the ID
	} {
		if _, err := parseAccepted(strings.NewReader(bad), "f"); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
