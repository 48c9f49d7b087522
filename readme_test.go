package auth_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// snippetImports are the packages a README snippet may use, by name.
var snippetImports = map[string]string{
	"auth":     "github.com/audexum/auth",
	"apikey":   "github.com/audexum/auth/apikey",
	"context":  "context",
	"crypto":   "crypto",
	"dpop":     "github.com/audexum/auth/dpop",
	"jwt":      "github.com/audexum/auth/jwt",
	"oauth":    "github.com/audexum/auth/oauth",
	"oauth2":   "golang.org/x/oauth2",
	"sqlstore": "github.com/audexum/auth/sqlstore",
}

// snippetUseRE finds a use of one of snippetImports: an exported name
// after the package's (not "auth.example.com").
var snippetUseRE = regexp.MustCompile(`\b(auth|apikey|context|crypto|dpop|jwt|oauth|oauth2|sqlstore)\.[A-Z]`)

// snippetParamsRE reads the comment a README may put on the line before a
// ```go block to name what the fragment uses without declaring, as Go
// parameters: <!-- snippet uses: keys, tokens auth.Verifier; mux *http.ServeMux -->.
// Without it, a block gets the server snippet's parameters.
var snippetParamsRE = regexp.MustCompile(`^<!-- snippet uses: (.+) -->$`)

// defaultSnippetParams are the parameters of the "Use it in your server"
// snippet: the reader's own manager, logger and handlers.
const defaultSnippetParams = "manager *apikey.Manager, logger *slog.Logger, dataHandler, writeHandler http.Handler"

// snippetDeclRE finds the names a top-level line of a snippet declares.
var snippetDeclRE = regexp.MustCompile(`(?m)^(\w+(?:, \w+)*) :=`)

// TestWalkthroughServerSnippet compiles the ```go blocks of README.md (the
// "Use it in your server" snippet) as they are shown, so the README cannot
// drift from the API. Example_server runs the same code with in-process
// keys; the snippet itself names a remote JWKS URL, so it is compiled, not
// run. Each block becomes the body of a function whose parameters are what
// the block uses without declaring (the reader's own manager, logger and
// handlers), in a package that exists only in a go build -overlay; compile
// errors point at README.md's lines.
func TestWalkthroughServerSnippet(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to compile README.md's snippet with")
	}
	blocks, err := readmeGoBlocks("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block: the server snippet moved; update this test")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		t.Run(fmt.Sprintf("README.md:%d", b.line), func(t *testing.T) {
			src := snippetProgram(b)
			dir := t.TempDir()
			file := filepath.Join(dir, "snippet.go")
			if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			// A directory that does not exist in the module: the
			// overlay is the package's only file.
			pkg := filepath.Join(root, "internal", "zz_readme_snippet")
			overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(pkg, "snippet.go"): file}})
			overlayFile := filepath.Join(dir, "overlay.json")
			if err := os.WriteFile(overlayFile, overlay, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(goTool, "build", "-overlay", overlayFile, "./internal/zz_readme_snippet")
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README.md's snippet does not compile as shown: %v\n%s\nas compiled:\n%s", err, out, src)
			}
		})
	}
}

type goBlock struct {
	line   int // of the block's first line
	code   string
	params string // the function's parameters (see snippetParamsRE)
}

// readmeGoBlocks returns the ```go blocks of the README at path.
func readmeGoBlocks(path string) ([]goBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []goBlock
	var cur *goBlock
	fence := false // in a block of another language
	params := ""   // from the line before a block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		prev := params
		params = ""
		if m := snippetParamsRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			params = strings.ReplaceAll(m[1], ";", ",")
		}
		switch trimmed := strings.TrimSpace(line); {
		case cur == nil && !fence && trimmed == "```go":
			if prev == "" {
				prev = defaultSnippetParams
			}
			blocks = append(blocks, goBlock{line: n + 1, params: prev})
			cur = &blocks[len(blocks)-1]
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			fence = !fence
		case cur == nil:
		case trimmed == "```":
			cur = nil
		default:
			cur.code += line + "\n"
		}
	}
	return blocks, sc.Err()
}

// snippetProgram wraps b into a package with the imports it uses.
func snippetProgram(b goBlock) string {
	var imports strings.Builder
	used := map[string]bool{}
	for _, m := range snippetUseRE.FindAllStringSubmatch(b.params+"\n"+b.code, -1) {
		used[m[1]] = true
	}
	for _, name := range slices.Sorted(maps.Keys(snippetImports)) {
		if used[name] {
			fmt.Fprintf(&imports, "\t%q\n", snippetImports[name])
		}
	}
	// Declared and not used is an error in a function body, not at the
	// end of a README snippet.
	var uses strings.Builder
	declared := map[string]bool{"_": true}
	for _, m := range snippetDeclRE.FindAllStringSubmatch(b.code, -1) {
		for _, name := range strings.Split(m[1], ", ") {
			if !declared[name] {
				declared[name] = true
				fmt.Fprintf(&uses, "\t_ = %s\n", name)
			}
		}
	}
	return fmt.Sprintf(`package readmesnippet

import (
	"log/slog"
	"net/http"

%s)

var (
	_ http.Handler
	_ *slog.Logger
)

func snippet(%s) error {
//line README.md:%d
%s
%s	return nil
}
`, imports.String(), b.params, b.line, b.code, uses.String())
}
