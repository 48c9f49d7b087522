// Command apicheck fails when the library's exported API changed
// incompatibly since a base commit and CHANGELOG.md does not say so:
//
//	go run ./scripts/apicheck             # against the commit in .ci/api-base (CI)
//	go run ./scripts/apicheck -base REV   # against another commit
//
// It checks out the base commit with git worktree add into a temporary
// directory, writes the API of every package of the library module there
// with apidiff (golang.org/x/exp/cmd/apidiff, module mode: internal
// packages left out, removed and added packages reported), and compares
// it with the working tree, uncommitted changes included. Both sides are
// loaded with GOWORK=off: the library module alone, as its users see it.
// apidiff is run with go install pkg@version, as .ci/run runs
// staticcheck, rather than required in scripts/go.mod, whose
// requirements would join the workspace's module graph.
//
// Compatible changes are printed. Each incompatible change must be
// acknowledged in CHANGELOG.md: named in the Breaking or Removed list
// under "## Unreleased", qualified with its package's name as Go code
// writes it, by the name apidiff gives it:
//
//	apidiff: ./apikey.Config.CacheTTL: removed         → apikey.Config.CacheTTL
//	apidiff: (*Authenticator).Handler: changed from …  → auth.(*Authenticator).Handler or auth.Authenticator.Handler
//	apidiff: package github.com/audexum/auth/x: removed → github.com/audexum/auth/x
//
// A name counts when it stands alone: apikey.Config does not acknowledge
// apikey.Config.CacheTTL nor the reverse, and text inside HTML comments
// (the changelog's placeholders) does not count. Every unacknowledged
// change is printed with the name to add, and the check exits 1.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

const (
	apidiffVersion = "v0.0.0-20261113113407-e3970619a1a4" // golang.org/x/exp
	baseFile       = ".ci/api-base"
	changelogFile  = "CHANGELOG.md"
)

func main() {
	baseFlag := flag.String("base", "", "commit to compare with (default: the one named in "+baseFile+")")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: apicheck [-base rev]")
		os.Exit(2)
	}
	ok, err := run(*baseFlag, os.Stdout)
	if err != nil {
		fmt.Printf("apicheck: FAIL: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(base string, w io.Writer) (bool, error) {
	root, err := output("", nil, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return false, fmt.Errorf("not in a git checkout: %v", err)
	}
	if base == "" {
		b, err := os.ReadFile(filepath.Join(root, baseFile))
		if err != nil {
			return false, err
		}
		base = strings.TrimSpace(string(b))
	}
	commit, err := output(root, nil, "git", "rev-parse", "--verify", "--quiet", base+"^{commit}")
	if err != nil {
		return false, fmt.Errorf("base commit %s is not in this clone (a shallow clone? fetch it or deepen the clone)", base)
	}
	noWork := []string{"GOWORK=off"}
	modPath, err := output(root, noWork, "go", "list", "-m")
	if err != nil {
		return false, err
	}

	tmp, err := os.MkdirTemp("", "apicheck-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	if _, err := output(tmp, []string{"GOWORK=off", "GOBIN=" + bin}, "go", "install", "golang.org/x/exp/cmd/apidiff@"+apidiffVersion); err != nil {
		return false, err
	}
	apidiff := filepath.Join(bin, "apidiff")

	baseDir := filepath.Join(tmp, "base")
	if _, err := output(root, nil, "git", "worktree", "add", "--detach", "--quiet", baseDir, commit); err != nil {
		return false, err
	}
	defer func() {
		// Leave no worktree behind in the clone.
		exec.Command("git", "-C", root, "worktree", "remove", "--force", baseDir).Run()
	}()
	baseAPI := filepath.Join(tmp, "base-api.zip")
	if _, err := output(baseDir, noWork, apidiff, "-m", "-w", baseAPI, modPath); err != nil {
		return false, fmt.Errorf("the API at %s: %v", commit[:12], err)
	}
	out, err := output(root, noWork, apidiff, "-m", baseAPI, modPath)
	if err != nil {
		return false, fmt.Errorf("comparing with the working tree: %v", err)
	}
	incompatible, compatible := parseReport(out)

	fmt.Fprintf(w, "apicheck: %s (base %s, %s) against the working tree: %d incompatible, %d compatible changes\n",
		modPath, commit[:12], baseFile, len(incompatible), len(compatible))
	for _, c := range compatible {
		fmt.Fprintf(w, "   compatible: %s\n", c)
	}
	if len(incompatible) == 0 {
		return true, nil
	}
	listed, err := acknowledgedText(filepath.Join(root, changelogFile))
	if err != nil {
		return false, err
	}
	var missing []string
	for _, c := range incompatible {
		names := changeNames(c, modPath)
		if acknowledged(listed, names) {
			fmt.Fprintf(w, "   incompatible, in %s: %s\n", changelogFile, c)
			continue
		}
		fmt.Fprintf(w, "apicheck: FAIL: incompatible, not in %s: %s\n", changelogFile, c)
		missing = append(missing, names[0])
	}
	if len(missing) > 0 {
		fmt.Fprintf(w, "apicheck: FAIL: %d incompatible changes are not named in %s under \"## Unreleased\", \"### Breaking\" or \"### Removed\"; name them as: %s\n",
			len(missing), changelogFile, strings.Join(missing, ", "))
		return false, nil
	}
	return true, nil
}

// output runs a command in dir with extra environment and returns its
// standard output, trimmed; a failure carries its standard error.
func output(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// parseReport splits apidiff's text report into its incompatible and
// compatible changes.
func parseReport(report string) (incompatible, compatible []string) {
	var list *[]string
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Incompatible changes:":
			list = &incompatible
		case line == "Compatible changes:":
			list = &compatible
		case strings.HasPrefix(line, "- ") && list != nil:
			*list = append(*list, strings.TrimPrefix(line, "- "))
		case strings.TrimSpace(line) != "":
			// Not apidiff's report format: count it as incompatible, so
			// it is seen rather than lost.
			incompatible = append(incompatible, line)
		}
	}
	return incompatible, compatible
}

// changeNames returns the names that acknowledge one of apidiff's
// module-mode messages, the canonical one first.
//
// apidiff names an object of the module's root package bare
// ("Config.Field", "(*T).M"), one of a package below it as
// "./dir/sub.Name", and one elsewhere by its full import path.
func changeNames(change, modPath string) []string {
	subject, _, _ := strings.Cut(change, ": ")
	if p, ok := strings.CutPrefix(subject, "package "); ok {
		return []string{p}
	}
	// A method reached by embedding: "T.M, method set of U".
	subject, _, _ = strings.Cut(subject, ", ")

	pkgPath, name := modPath, subject
	if i := strings.LastIndex(beforeParen(subject), "/"); i >= 0 {
		dot := strings.Index(subject[i:], ".")
		if dot < 0 {
			return []string{subject}
		}
		pkgPath, name = subject[:i+dot], subject[i+dot+1:]
		if rel, ok := strings.CutPrefix(pkgPath, "./"); ok {
			pkgPath = modPath + "/" + rel
		}
	}
	pkgName := path.Base(pkgPath)
	names := []string{pkgName + "." + name}
	plain := receiverPattern.ReplaceAllString(name, "$1")
	plain = typeArgs.ReplaceAllString(plain, "")
	if plain != name {
		names = append(names, pkgName+"."+plain)
	}
	return names
}

func beforeParen(s string) string {
	if i := strings.Index(s, "("); i >= 0 {
		return s[:i]
	}
	return s
}

// receiverPattern matches a pointer receiver "(*T)", and typeArgs a
// generic receiver's type parameters "[K, V]", to name a method "T.M" as
// readers write it.
var (
	receiverPattern = regexp.MustCompile(`\(\*(\w+(?:\[[^\]]*\])?)\)`)
	typeArgs        = regexp.MustCompile(`\[[^\]]*\]`)
)

var comments = regexp.MustCompile(`(?s)<!--.*?-->`)

// acknowledgedText returns the text of the Breaking and Removed lists of
// the changelog's Unreleased section, without HTML comments.
func acknowledgedText(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	return unreleasedLists(string(b)), nil
}

func unreleasedLists(changelog string) string {
	changelog = comments.ReplaceAllString(changelog, "")
	var b strings.Builder
	inUnreleased, inList := false, false
	for line := range strings.Lines(changelog) {
		switch {
		case strings.HasPrefix(line, "## "):
			title := strings.ToLower(strings.Trim(strings.TrimSpace(line[3:]), "[]"))
			inUnreleased, inList = title == "unreleased", false
		case strings.HasPrefix(line, "### "):
			title := strings.ToLower(strings.TrimSpace(line[4:]))
			inList = inUnreleased && (strings.HasPrefix(title, "breaking") || strings.HasPrefix(title, "removed"))
		case inList:
			b.WriteString(line)
		}
	}
	return b.String()
}

// acknowledged reports whether text names any of names on its own: not
// as part of a longer name (apikey.Config in apikey.Config.CacheTTL, or
// in xapikey.Config). A full import path before it is allowed.
func acknowledged(text string, names []string) bool {
	for _, name := range names {
		for i := 0; ; {
			j := strings.Index(text[i:], name)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(name)
			i = start + 1
			if start > 0 && (isIdent(text[start-1]) || text[start-1] == '.') {
				continue
			}
			if end < len(text) && isIdent(text[end]) {
				continue
			}
			if end+1 < len(text) && text[end] == '.' && isIdent(text[end+1]) {
				continue // a selector goes on: a longer name
			}
			return true
		}
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
