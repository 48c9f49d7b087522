// Command vulncheck runs govulncheck over every module of the repository
// and fails when code we ship calls a known vulnerability that nobody has
// accepted, with the reason, in .ci/vuln-accept:
//
//	go run ./scripts/vulncheck                 # CI: build the database, scan, judge
//	go run ./scripts/vulncheck -db /tmp/vulndb # keep the database there, reuse it next time
//
// # Where the vulnerability database comes from
//
// govulncheck reads https://vuln.go.dev by default, which CI's machines
// cannot reach (only the Go module proxy and Debian's packages are). The
// database's source is a Go module, golang.org/x/vulndb, and its module zip
// holds every published entry as OSV JSON under data/osv. So vulncheck
//
//  1. downloads golang.org/x/vulndb@latest through the module proxy (go mod
//     download: checksummed like any module), so a run sees the entries
//     published up to the newest version the proxy serves;
//  2. builds a database in govulncheck's v1 layout from data/osv with
//     indexdb, the command vulndb ships for exactly that, at a pinned
//     version (vulndbToolVersion);
//  3. runs govulncheck (pinned, govulncheckVersion) with -db file://DIR.
//
// Both tools are run with go install pkg@version, as .ci/run runs
// staticcheck, rather than required in scripts/go.mod: a requirement there
// would join the workspace's module graph and could change the versions
// the library is built and tested with. The entries' "modified" times are
// zero in the repository's files (vuln.go.dev fills them in from git
// history); govulncheck matches on the affected versions, not on them.
//
// The run fails closed: if the database cannot be obtained or built, or a
// scan fails, it prints why on a line starting "vulncheck: FAIL" and exits
// 1. It never passes without having scanned.
//
// # What fails
//
// Each module of go.work is scanned on its own (GOWORK=off), with the
// versions its own go.mod requires: what a user of that module builds.
// Test files are left out (they are not shipped) except in
// sqlstore/dbtest, a module of tests only. A vulnerability is "called"
// when govulncheck finds a call path from our code to the vulnerable
// function; those fail the run unless .ci/vuln-accept lists their ID. One
// that is only imported or only required is printed and does not fail.
//
// .ci/vuln-accept holds one ID per line followed by the reason it is
// accepted (# starts a comment). A standard-library finding can only be
// fixed by the Go release CI runs, so it is accepted there with the
// release that fixes it until the project moves to that release; a
// finding in a dependency is fixed by raising the dependency instead.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

const (
	govulncheckVersion = "v1.9.0"
	// vulndbToolVersion is the version of golang.org/x/vulndb whose
	// cmd/indexdb builds the database. The data comes from -vulndb
	// (latest by default), so a newer advisory needs no change here.
	vulndbToolVersion = "v0.0.0-20261105234957-e22db6528018"
	acceptFile        = ".ci/vuln-accept"
)

// module is a module of go.work to scan, with whether its tests are.
type module struct {
	dir   string
	tests bool
}

var modules = []module{
	{".", false},
	{"cmd/audexum", false},
	{"scripts", false},
	{"sqlstore/dbtest", true}, // tests only: without them there is no code to scan
}

func main() {
	dbDir := flag.String("db", "", "directory of the vulnerability database: built there if it holds none, reused if it does (default: a temporary directory)")
	vulndb := flag.String("vulndb", "latest", "version of golang.org/x/vulndb whose data/osv the database is built from")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: vulncheck [-db dir] [-vulndb version]")
		os.Exit(2)
	}
	ok, err := run(*dbDir, *vulndb, os.Stdout)
	if err != nil {
		fmt.Printf("vulncheck: FAIL: %v\n", err)
	}
	if err != nil || !ok {
		os.Exit(1)
	}
}

// run builds or reuses the database, scans every module and reports; it
// returns whether the run passes.
func run(dbDir, vulndb string, w io.Writer) (bool, error) {
	root, err := repoRoot()
	if err != nil {
		return false, err
	}
	if err := checkModuleList(root); err != nil {
		return false, err
	}
	accepted, err := readAccepted(filepath.Join(root, acceptFile))
	if err != nil {
		return false, err
	}

	tmp, err := os.MkdirTemp("", "vulncheck-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if dbDir == "" {
		dbDir = filepath.Join(tmp, "db")
	}
	if dbDir, err = filepath.Abs(dbDir); err != nil {
		return false, err
	}
	bin := filepath.Join(tmp, "bin")
	if err := obtainDB(w, dbDir, vulndb, tmp, bin); err != nil {
		return false, fmt.Errorf("no vulnerability database, so nothing was scanned: %v", err)
	}
	if err := goInstall(tmp, bin, "golang.org/x/vuln/cmd/govulncheck@"+govulncheckVersion); err != nil {
		return false, err
	}

	var results []result
	for _, m := range modules {
		args := []string{"-db", "file://" + filepath.ToSlash(dbDir), "-format", "json"}
		if m.tests {
			args = append(args, "-test")
		}
		args = append(args, "./...")
		cmd := exec.Command(filepath.Join(bin, "govulncheck"), args...)
		cmd.Dir = filepath.Join(root, m.dir)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return false, fmt.Errorf("govulncheck in %s: %v\n%s", m.dir, err, stderr.Bytes())
		}
		r, err := parse(bytes.NewReader(out))
		if err != nil {
			return false, fmt.Errorf("reading govulncheck's output in %s: %v", m.dir, err)
		}
		r.module = m.dir
		results = append(results, r)
	}
	return report(w, results, accepted), nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("not in a git checkout: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// checkModuleList fails when go.work uses a module modules does not list,
// so a new module is scanned from the day it is added.
func checkModuleList(root string) error {
	cmd := exec.Command("go", "work", "edit", "-json")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go work edit -json: %v", err)
	}
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &work); err != nil {
		return err
	}
	for _, u := range work.Use {
		dir := filepath.ToSlash(filepath.Clean(u.DiskPath))
		if !slices.ContainsFunc(modules, func(m module) bool { return m.dir == dir }) {
			return fmt.Errorf("go.work uses module %s, which scripts/vulncheck does not scan: add it to modules", dir)
		}
	}
	return nil
}

// obtainDB leaves a govulncheck database in dir, building it from the
// OSV files of golang.org/x/vulndb@version unless dir already holds one.
func obtainDB(w io.Writer, dir, version, tmp, bin string) error {
	if _, err := os.Stat(filepath.Join(dir, "index", "modules.json")); err == nil {
		fmt.Fprintf(w, "vulncheck: reusing the database in %s\n", dir)
		return checkDB(dir)
	}
	// go mod download from an empty directory: no go.mod of ours is
	// read or written.
	empty := filepath.Join(tmp, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+version)
	cmd.Dir = empty
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output() // -json reports a failure on stdout too
	var mod struct {
		Version, Dir, Error string
	}
	if jerr := json.Unmarshal(out, &mod); mod.Error != "" {
		return fmt.Errorf("go mod download: %s", mod.Error)
	} else if err != nil || jerr != nil {
		return fmt.Errorf("go mod download golang.org/x/vulndb@%s: %v", version, errors.Join(err, jerr))
	}
	osv := filepath.Join(mod.Dir, "data", "osv")
	entries, err := filepath.Glob(filepath.Join(osv, "GO-*.json"))
	if err != nil || len(entries) == 0 {
		return fmt.Errorf("golang.org/x/vulndb@%s holds no OSV entries in data/osv", mod.Version)
	}
	if err := goInstall(tmp, bin, "golang.org/x/vulndb/cmd/indexdb@"+vulndbToolVersion); err != nil {
		return err
	}
	cmd = exec.Command(filepath.Join(bin, "indexdb"), "-vulns", osv, "-out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("indexdb: %v\n%s", err, out)
	}
	fmt.Fprintf(w, "vulncheck: database of %d entries built from golang.org/x/vulndb %s (indexdb %s)\n", len(entries), mod.Version, vulndbToolVersion)
	return checkDB(dir)
}

// checkDB refuses a database with no standard-library entry: one that
// cannot know of any vulnerability would pass every scan.
func checkDB(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "index", "modules.json"))
	if err != nil {
		return err
	}
	var index []struct{ Path string }
	if err := json.Unmarshal(b, &index); err != nil {
		return fmt.Errorf("%s: index/modules.json: %v", dir, err)
	}
	if !slices.ContainsFunc(index, func(m struct{ Path string }) bool { return m.Path == "stdlib" }) {
		return fmt.Errorf("%s: the database has no standard-library entry", dir)
	}
	return nil
}

// goInstall installs pkg@version into bin, from outside any module.
func goInstall(tmp, bin, pkgAtVersion string) error {
	cmd := exec.Command("go", "install", pkgAtVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s: %v\n%s", pkgAtVersion, err, out)
	}
	return nil
}

// readAccepted reads the accepted IDs and their reasons.
func readAccepted(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseAccepted(f, name)
}

var idPattern = regexp.MustCompile(`^GO-\d{4}-\d{4,}$`)

func parseAccepted(r io.Reader, name string) (map[string]string, error) {
	accepted := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		id, reason, _ := strings.Cut(strings.TrimSpace(line), " ")
		if id == "" {
			continue
		}
		if !idPattern.MatchString(id) {
			return nil, fmt.Errorf("%s:%d: %q is not a Go vulnerability ID (GO-YYYY-NNNN)", name, n, id)
		}
		if reason = strings.TrimSpace(reason); reason == "" {
			return nil, fmt.Errorf("%s:%d: %s is accepted without a reason", name, n, id)
		}
		accepted[id] = reason
	}
	return accepted, sc.Err()
}

// Level is how close our code comes to a vulnerability.
type level int

const (
	required level = iota // a module we require has it
	imported              // a package we import has it
	called                // our code calls a vulnerable function
)

func (l level) String() string {
	return [...]string{"required", "imported", "called"}[l]
}

// vuln is one vulnerability found in one module's scan.
type vuln struct {
	ID, Summary  string
	Level        level
	Found, Fixed string // "module@version", the fixed version or ""
	Example      string // a call path, for a called one
}

type result struct {
	module    string
	goVersion string
	vulns     []vuln // sorted by ID
}

// The govulncheck JSON protocol (v1.0.0): a stream of messages, each an
// object with one of these keys.
type message struct {
	Config *struct {
		ScannerVersion string `json:"scanner_version"`
		GoVersion      string `json:"go_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string  `json:"osv"`
		FixedVersion string  `json:"fixed_version"`
		Trace        []frame `json:"trace"`
	} `json:"finding"`
}

// frame is one step of a finding's trace: the first is the vulnerable
// module, package or function, the last our code that leads to it.
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
	} `json:"position"`
}

func (f frame) symbol() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	return f.Package + "." + name
}

// parse reads one scan's JSON stream. A vulnerability's level is the
// closest any of its findings comes.
func parse(r io.Reader) (result, error) {
	var res result
	summaries := map[string]string{}
	byID := map[string]*vuln{}
	exampleLen := map[string]int{}
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return res, err
		}
		switch {
		case m.Config != nil:
			res.goVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			f := m.Finding
			first := f.Trace[0]
			lv := required
			switch {
			case first.Function != "":
				lv = called
			case first.Package != "":
				lv = imported
			}
			v := byID[f.OSV]
			if v == nil {
				v = &vuln{ID: f.OSV, Level: lv}
				byID[f.OSV] = v
			}
			v.Found = first.Module + "@" + first.Version
			v.Fixed = f.FixedVersion
			v.Level = max(v.Level, lv)
			// Show the call path on which our code comes closest to
			// the vulnerable function: the easiest one to follow.
			if lv == called {
				ours := nearestOurs(f.Trace)
				if v.Example == "" || ours < exampleLen[f.OSV] {
					v.Example = example(f.Trace[ours], first)
					exampleLen[f.OSV] = ours
				}
			}
		}
	}
	for id, v := range byID {
		v.Summary = summaries[id]
		res.vulns = append(res.vulns, *v)
	}
	slices.SortFunc(res.vulns, func(a, b vuln) int { return strings.Compare(a.ID, b.ID) })
	return res, nil
}

// nearestOurs returns the index of the frame of our own code closest to
// the vulnerable function: a frame of a main module (govulncheck gives
// those no version) that is not a generated test main.
func nearestOurs(trace []frame) int {
	for i, f := range trace {
		generated := f.Position != nil && strings.Contains(f.Position.Filename, "go-build")
		if i > 0 && f.Version == "" && f.Module != "stdlib" && !generated {
			return i
		}
	}
	return len(trace) - 1
}

// example says where our code leads to the vulnerable function.
func example(ours, vulnerable frame) string {
	pos := ""
	if p := ours.Position; p != nil {
		pos = fmt.Sprintf("%s:%d:%d: ", p.Filename, p.Line, p.Column)
	}
	return fmt.Sprintf("%s%s reaches %s", pos, ours.symbol(), vulnerable.symbol())
}

// report prints every finding and says whether the run passes: no called
// vulnerability outside the accepted list.
func report(w io.Writer, results []result, accepted map[string]string) bool {
	var refused []string
	seen := map[string]bool{}
	for _, r := range results {
		fmt.Fprintf(w, "-- module %s (govulncheck %s, %s)\n", r.module, govulncheckVersion, r.goVersion)
		if len(r.vulns) == 0 {
			fmt.Fprintln(w, "   no known vulnerability")
		}
		notCalled := map[level][]string{}
		for _, v := range r.vulns {
			seen[v.ID] = true
			if v.Level != called {
				notCalled[v.Level] = append(notCalled[v.Level], v.ID)
				continue
			}
			fixed := "no fix yet"
			if v.Fixed != "" {
				fixed = "fixed in " + v.Fixed
			}
			fmt.Fprintf(w, "   called %s %s (%s, %s)\n", v.ID, v.Summary, v.Found, fixed)
			fmt.Fprintf(w, "          %s\n", v.Example)
			if reason, ok := accepted[v.ID]; ok {
				fmt.Fprintf(w, "          accepted in %s: %s\n", acceptFile, reason)
			} else {
				refused = append(refused, fmt.Sprintf("%s in %s (%s, %s)", v.ID, r.module, v.Found, fixed))
			}
		}
		if ids := notCalled[imported]; len(ids) > 0 {
			fmt.Fprintf(w, "   in packages imported, not called: %s\n", strings.Join(ids, " "))
		}
		if ids := notCalled[required]; len(ids) > 0 {
			fmt.Fprintf(w, "   in modules required, not imported: %s\n", strings.Join(ids, " "))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(accepted)) {
		if !seen[id] {
			fmt.Fprintf(w, "vulncheck: %s lists %s, which no scan found: remove it\n", acceptFile, id)
		}
	}
	if len(refused) > 0 {
		for _, s := range refused {
			fmt.Fprintf(w, "vulncheck: FAIL: our code calls %s\n", s)
		}
		fmt.Fprintf(w, "vulncheck: FAIL: %d called vulnerabilities not accepted: raise the dependency to the fixed version, or, if it cannot be fixed here, add the ID and the reason to %s\n", len(refused), acceptFile)
		return false
	}
	fmt.Fprintf(w, "vulncheck: ok: %d modules scanned; every called vulnerability is accepted in %s\n", len(results), acceptFile)
	return true
}
