// Command mutate is the mutation run of the security decisions (issue 17):
// it applies each mutant of the reviewed table in mutants.go, one at a
// time, and runs the tests of the package that owns the decision against
// the mutated tree. A mutant the tests pass with has survived: a bug of
// that shape would ship.
//
// Mutants are applied with go test -overlay, so the working tree is never
// written: an interrupted run leaves nothing to restore, and runs in other
// worktrees are not disturbed. Run it from anywhere in the repository:
//
//	go run ./scripts/mutate                    # every non-equivalent mutant
//	go run ./scripts/mutate -run 'jwt/'        # those whose ID matches
//	go run ./scripts/mutate -equivalent        # the equivalent ones too
//	go run ./scripts/mutate -list              # the table, nothing run
//	go run ./scripts/mutate -smoke             # check the table, run 3 (CI)
//
// It exits 1 when a non-equivalent mutant survives or a mutant does not
// apply or compile. docs/testing.md has the figures and how to read them.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// smoke is the mutants CI runs: the three bugs issue 17 found surviving,
// one per kind of test that now kills it.
var smoke = []string{
	"jwt/cache-hit-skips-expiry",
	"auth/require-scopes-any-of",
	"apikey/hash-compare-not-constant-time",
}

func main() {
	var (
		run       = flag.String("run", "", "run only mutants whose ID matches this regexp")
		skip      = flag.String("skip", "", "do not run mutants whose ID matches this regexp")
		list      = flag.Bool("list", false, "print the table and exit")
		smokeMode = flag.Bool("smoke", false, "check that every mutant applies, then run the smoke mutants (for CI, after go test: the baseline covers only static checks)")
		withEquiv = flag.Bool("equivalent", false, "also run the mutants marked equivalent (they should survive)")
		baseline  = flag.Bool("baseline", true, "first run each package's tests unmutated; they must pass")
		timeout   = flag.Duration("timeout", 5*time.Minute, "time allowed for one mutant's tests")
		verbose   = flag.Bool("v", false, "print the test output of mutants that survive or fail to build")
	)
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fatalf("%v", err)
	}
	if err := checkTable(root, mutants); err != nil {
		fatalf("%v", err)
	}
	if *list {
		printTable(mutants)
		return
	}
	sel := mutants
	if *smokeMode {
		sel = nil
		for _, id := range smoke {
			sel = append(sel, *find(id))
		}
	}
	for _, f := range []struct {
		name, expr string
		keep       bool
	}{{"-run", *run, true}, {"-skip", *skip, false}} {
		if f.expr == "" {
			continue
		}
		re, err := regexp.Compile(f.expr)
		if err != nil {
			fatalf("%s: %v", f.name, err)
		}
		sel = slices.DeleteFunc(slices.Clone(sel), func(m mutant) bool { return re.MatchString(m.ID) != f.keep })
	}
	var skipped int
	if !*withEquiv {
		n := len(sel)
		sel = slices.DeleteFunc(slices.Clone(sel), func(m mutant) bool { return m.Equivalent != "" })
		skipped = n - len(sel)
	}
	r := &runner{root: root, timeout: *timeout, verbose: *verbose}
	start := time.Now()
	if *baseline {
		// The smoke run's packages have just passed go test in CI; a
		// static check has not, and a check that fails on the tree as
		// it is would pass every mutant off as killed.
		base := sel
		if *smokeMode {
			base = slices.DeleteFunc(slices.Clone(sel), func(m mutant) bool { return m.Cmd == nil })
		}
		if err := r.baseline(base); err != nil {
			fatalf("%v", err)
		}
	}
	tmp, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(tmp)
	var s summary
	for i, m := range sel {
		res := r.one(tmp, i, m)
		s.add(m, res)
		fmt.Printf("%-9s %-52s %6.1fs  %s\n", res.status, m.ID, res.elapsed.Seconds(), res.detail)
		if r.verbose && (res.status == survived || res.status == invalid) {
			os.Stdout.Write(res.output)
		}
	}
	s.print(skipped, time.Since(start))
	if s.failed() {
		os.Exit(1)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mutate: "+format+"\n", args...)
	os.Exit(2)
}

// repoRoot is the directory holding go.work, found upwards from here.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the current directory: run inside the repository")
		}
		dir = parent
	}
}

func find(id string) *mutant {
	for i := range mutants {
		if mutants[i].ID == id {
			return &mutants[i]
		}
	}
	fatalf("no mutant %q", id)
	return nil
}

// checkTable reports every mutant that cannot be applied: an ID used twice,
// an Old text not found exactly once in its file (the code moved on: update
// the mutant), or a mutated file that no longer parses.
func checkTable(root string, ms []mutant) error {
	var errs []error
	ids := make(map[string]bool)
	for _, m := range ms {
		if ids[m.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate ID", m.ID))
		}
		ids[m.ID] = true
		if m.Why == "" {
			errs = append(errs, fmt.Errorf("%s: no Why", m.ID))
		}
		if _, err := apply(root, m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply returns m's file with m applied.
func apply(root string, m mutant) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, m.File))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", m.ID, err)
	}
	if n := bytes.Count(src, []byte(m.Old)); n != 1 {
		return nil, fmt.Errorf("%s: %s holds the Old text %d times, want once: update the mutant to the code", m.ID, m.File, n)
	}
	out := bytes.Replace(src, []byte(m.Old), []byte(m.New), 1)
	if _, err := parser.ParseFile(token.NewFileSet(), m.File, out, parser.SkipObjectResolution); err != nil {
		return nil, fmt.Errorf("%s: mutated %s does not parse: %v", m.ID, m.File, err)
	}
	return out, nil
}

func printTable(ms []mutant) {
	for _, m := range ms {
		eq := ""
		if m.Equivalent != "" {
			eq = "  [equivalent: " + m.Equivalent + "]"
		}
		fmt.Printf("%-52s %s%s\n", m.ID, m.Why, eq)
	}
}

type status string

const (
	killed        status = "killed"
	equivalent    status = "equiv"
	survived      status = "SURVIVED"
	invalid       status = "INVALID"
	notEquivalent status = "KILLED-EQ"
)

type result struct {
	status  status
	elapsed time.Duration
	detail  string // the test that killed it, or why it is invalid
	output  []byte
}

type runner struct {
	root    string
	timeout time.Duration
	verbose bool
}

// pkgOf is the package whose tests judge a mutant of file: the file's own,
// except that sqlstore's tests live in the nested module sqlstore/dbtest.
func pkgOf(m mutant) string {
	if m.Pkg != "" {
		return m.Pkg
	}
	dir := filepath.ToSlash(filepath.Dir(m.File))
	if dir == "sqlstore" {
		return "./sqlstore/dbtest"
	}
	return "./" + dir
}

// args returns the go command's arguments for m with its overlay.
func args(m mutant, overlay string, timeout time.Duration) []string {
	if m.Cmd != nil {
		var out []string
		for _, a := range m.Cmd {
			switch {
			case !strings.Contains(a, "{overlay}"):
				out = append(out, a)
			case overlay != "":
				out = append(out, strings.ReplaceAll(a, "{overlay}", overlay))
			}
		}
		return out
	}
	a := []string{"test", "-count=1", "-failfast", "-timeout=" + timeout.String()}
	if overlay != "" {
		a = append(a, "-overlay="+overlay)
	}
	return append(a, pkgOf(m))
}

// baseline runs every package's tests (and every command) of ms once,
// unmutated: a mutant is only killed by a test that passes without it.
func (r *runner) baseline(ms []mutant) error {
	seen := make(map[string]bool)
	for _, m := range ms {
		a := args(m, "", r.timeout)
		key := strings.Join(a, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		start := time.Now()
		out, err := r.goCmd(a)
		if err != nil {
			os.Stdout.Write(out)
			return fmt.Errorf("baseline: go %s fails without any mutant: fix that first", key)
		}
		fmt.Printf("%-9s %-52s %6.1fs\n", "baseline", key, time.Since(start).Seconds())
	}
	return nil
}

func (r *runner) goCmd(a []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", a...)
	cmd.Dir = r.root
	return cmd.CombinedOutput()
}

var (
	failRe  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildRe = regexp.MustCompile(`(?m)\[(build|setup) failed\]|^# |cannot use|declared and not used|undefined:`)
)

// one applies m through an overlay in dir tmp and runs its tests.
func (r *runner) one(tmp string, i int, m mutant) result {
	start := time.Now()
	src, err := apply(r.root, m)
	if err != nil {
		return result{status: invalid, detail: err.Error()}
	}
	d := filepath.Join(tmp, fmt.Sprint(i))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return result{status: invalid, detail: err.Error()}
	}
	mutated := filepath.Join(d, filepath.Base(m.File))
	overlay := filepath.Join(d, "overlay.json")
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(r.root, m.File): mutated}})
	if err := os.WriteFile(mutated, src, 0o644); err != nil {
		return result{status: invalid, detail: err.Error()}
	}
	if err := os.WriteFile(overlay, ov, 0o644); err != nil {
		return result{status: invalid, detail: err.Error()}
	}
	out, err := r.goCmd(args(m, overlay, r.timeout))
	res := result{elapsed: time.Since(start), output: out}
	switch {
	case err == nil && m.Equivalent != "":
		res.status = equivalent
		res.detail = "survived, as expected: " + m.Equivalent
	case err == nil:
		res.status = survived
		res.detail = "no test failed: " + m.Why
	case m.Cmd == nil && buildRe.Match(out) && !failRe.Match(out):
		res.status = invalid
		res.detail = "does not build: " + firstLine(out)
	case m.Equivalent != "":
		res.status = notEquivalent
		res.detail = "marked equivalent but killed: fix its reason or drop the mark"
	default:
		res.status = killed
		if f := failRe.FindSubmatch(out); f != nil {
			res.detail = "by " + string(f[1])
		} else {
			res.detail = "by go " + strings.Join(m.Cmd[:min(2, len(m.Cmd))], " ") + ": " + firstLine(out)
		}
	}
	return res
}

func firstLine(b []byte) string {
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

type summary struct {
	run, killed, equivalent int
	survivors, invalids     []string
	wrongEquivalent         []string
}

func (s *summary) add(m mutant, r result) {
	s.run++
	switch r.status {
	case killed:
		s.killed++
	case equivalent:
		s.equivalent++
	case survived:
		s.survivors = append(s.survivors, m.ID)
	case invalid:
		s.invalids = append(s.invalids, m.ID)
	case notEquivalent:
		s.wrongEquivalent = append(s.wrongEquivalent, m.ID)
	}
}

func (s *summary) failed() bool {
	return len(s.survivors) > 0 || len(s.invalids) > 0 || len(s.wrongEquivalent) > 0
}

// print reports the kill rate over the non-equivalent mutants run.
func (s *summary) print(skipped int, elapsed time.Duration) {
	judged := s.killed + len(s.survivors)
	rate := 100.0
	if judged > 0 {
		rate = 100 * float64(s.killed) / float64(judged)
	}
	fmt.Printf("\nmutants run: %d (equivalent: %d run, %d not run); killed: %d of %d non-equivalent (%.1f%%); survived: %d; invalid: %d; time: %s\n",
		s.run, s.equivalent+len(s.wrongEquivalent), skipped, s.killed, judged, rate, len(s.survivors), len(s.invalids), elapsed.Round(time.Second))
	for _, l := range []struct {
		what string
		ids  []string
	}{{"survived", s.survivors}, {"invalid", s.invalids}, {"marked equivalent but killed", s.wrongEquivalent}} {
		if len(l.ids) > 0 {
			fmt.Printf("%s: %s\n", l.what, strings.Join(l.ids, " "))
		}
	}
}
