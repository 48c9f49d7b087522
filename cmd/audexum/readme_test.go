package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Reading README.md's shell blocks and matching what they say commands
// print. TestWalkthrough (walkthrough_test.go) runs them.

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line  int // of the opening fence
	steps []readmeStep
}

// readmeStep is one command line of a block, with the comment lines that
// follow it: what the command prints, or what to do next.
type readmeStep struct {
	line     int      // README line number of the command
	text     string   // the command, continuation lines joined
	comments []string // the "# …" lines after it, without "# "
}

func (s readmeStep) String() string { return fmt.Sprintf("README.md:%d: %s", s.line, s.text) }

// readmeShellBlocks returns the ```sh blocks of the README at path, in
// order.
func readmeShellBlocks(path string) ([]readmeBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		fence  = false // inside a fenced block of another language
		cont   = false // the last command line ended in a backslash
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && !fence && trimmed == "```sh":
			blocks = append(blocks, readmeBlock{line: n})
			cur = &blocks[len(blocks)-1]
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			fence = !fence
		case cur == nil:
		case trimmed == "```":
			if cont {
				return nil, fmt.Errorf("README.md:%d: block ends after a continuation line", n)
			}
			cur = nil
		case cont:
			st := &cur.steps[len(cur.steps)-1]
			// The shell removes backslash-newline, and only that.
			st.text = strings.TrimSuffix(st.text, `\`) + line
			cont = strings.HasSuffix(line, `\`)
		case trimmed == "":
		case strings.HasPrefix(trimmed, "#"):
			if len(cur.steps) == 0 {
				return nil, fmt.Errorf("README.md:%d: a comment line before any command", n)
			}
			st := &cur.steps[len(cur.steps)-1]
			st.comments = append(st.comments, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
		default:
			cur.steps = append(cur.steps, readmeStep{line: n, text: line})
			cont = strings.HasSuffix(line, `\`)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("README.md:%d: unterminated ```sh block", cur.line)
	}
	return blocks, nil
}

// shellCommand is one README command line as the walkthrough runs it:
// pipelines joined by &&, the whole optionally in the background.
type shellCommand struct {
	and        [][][]string // and[i] is a pipeline, and[i][j] one command's words
	background bool
	comment    string // a trailing "# …", without "#"
}

// parseShell splits line into words as a POSIX shell would, for the few
// constructs the README uses: '…' and "…" quoting, backslash escapes, &&,
// |, a final &, a trailing # comment, and "$(cat FILE)", whose output cat
// returns. Anything else (;, ||, redirections, $VAR, backquotes, globs,
// subshells) is an error, so the README cannot use a construct the test
// would misread.
func parseShell(line string, cat func(path string) (string, error)) (shellCommand, error) {
	var (
		c        shellCommand
		pipeline [][]string
		cmd      []string
		word     strings.Builder
		inWord   bool
	)
	endWord := func() {
		if inWord {
			cmd = append(cmd, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() error {
		endWord()
		if len(cmd) == 0 {
			return errors.New("empty command")
		}
		pipeline = append(pipeline, cmd)
		cmd = nil
		return nil
	}
	endPipeline := func() error {
		if err := endCmd(); err != nil {
			return err
		}
		c.and = append(c.and, pipeline)
		pipeline = nil
		return nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == ' ' || r == '\t':
			endWord()
		case r == '#' && !inWord:
			c.comment = strings.TrimSpace(string(rs[i+1:]))
			i = len(rs)
		case r == '\'':
			j := slices.Index(rs[i+1:], '\'')
			if j < 0 {
				return c, errors.New("unterminated '")
			}
			word.WriteString(string(rs[i+1 : i+1+j]))
			inWord = true
			i += 1 + j
		case r == '"':
			inWord = true
			closed := false
			for i++; i < len(rs) && !closed; i++ {
				switch rs[i] {
				case '"':
					closed = true
					i-- // the outer loop steps past it
				case '\\':
					if i+1 < len(rs) && strings.ContainsRune("$`\"\\", rs[i+1]) {
						i++
					}
					word.WriteRune(rs[i])
				case '$':
					end := slices.Index(rs[i:], ')')
					if !strings.HasPrefix(string(rs[i:]), "$(") || end < 0 {
						return c, fmt.Errorf("unsupported expansion in %q", string(rs[i:]))
					}
					f := strings.Fields(string(rs[i+2 : i+end]))
					if len(f) != 2 || f[0] != "cat" {
						return c, fmt.Errorf("unsupported command substitution %q", string(rs[i:i+end+1]))
					}
					out, err := cat(f[1])
					if err != nil {
						return c, err
					}
					// As the shell does: trailing newlines are dropped.
					word.WriteString(strings.TrimRight(out, "\n"))
					i += end
				case '`':
					return c, errors.New("unsupported backquote")
				default:
					word.WriteRune(rs[i])
				}
			}
			if !closed {
				return c, errors.New(`unterminated "`)
			}
		case r == '\\':
			if i+1 == len(rs) {
				return c, errors.New("backslash at the end of the line")
			}
			word.WriteRune(rs[i+1])
			inWord = true
			i++
		case r == '&' && i+1 < len(rs) && rs[i+1] == '&':
			if err := endPipeline(); err != nil {
				return c, err
			}
			i++
		case r == '&':
			if rest := strings.TrimSpace(string(rs[i+1:])); rest != "" && !strings.HasPrefix(rest, "#") {
				return c, errors.New("& before the end of the line")
			}
			c.background = true
			if err := endPipeline(); err != nil {
				return c, err
			}
		case r == '|' && i+1 < len(rs) && rs[i+1] == '|':
			return c, errors.New("unsupported ||")
		case r == '|':
			if err := endCmd(); err != nil {
				return c, err
			}
		case strings.ContainsRune(";<>()`$*?[]{}~", r):
			return c, fmt.Errorf("unsupported %q outside quotes", r)
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if !c.background {
		if err := endPipeline(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// curlRequest is a request read from a curl command line.
type curlRequest struct {
	method, url, data, cacert string
	header                    http.Header
}

// parseCurl reads the few curl options the README uses; any other is an
// error rather than a guess.
func parseCurl(args []string) (curlRequest, error) {
	r := curlRequest{header: http.Header{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if i+1 == len(args) {
				return r, fmt.Errorf("curl %s: no value", a)
			}
			i++
		}
		v := args[i]
		switch a {
		case "-X", "--request":
			r.method = v
		case "-H", "--header":
			name, value, ok := strings.Cut(v, ":")
			if !ok {
				return r, fmt.Errorf("curl -H %q: no colon", v)
			}
			r.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		case "-d", "--data":
			if strings.HasPrefix(v, "@") {
				return r, fmt.Errorf("curl -d @file is not emulated")
			}
			if r.data != "" {
				r.data += "&" // as curl joins several -d
			}
			r.data += v
		case "--cacert":
			r.cacert = v
		default:
			if strings.HasPrefix(a, "-") {
				return r, fmt.Errorf("curl option %s is not emulated: teach parseCurl", a)
			}
			if r.url != "" {
				return r, fmt.Errorf("curl with two URLs")
			}
			r.url = a
		}
	}
	if r.url == "" {
		return r, fmt.Errorf("curl without a URL")
	}
	if r.method == "" {
		r.method = "GET"
		if r.data != "" {
			r.method = "POST"
		}
	}
	if r.data != "" && r.header.Get("Content-Type") == "" {
		r.header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r, nil
}

// matchText reports whether got is the README's line want, in which "…"
// stands for any text.
func matchText(want, got string) bool {
	parts := strings.Split(want, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// matchJSON checks that got, a command's JSON output in any layout, is
// what the README's one-line rendering want shows: "…" inside a string
// stands for any text, and "…" in place of members for any further ones.
// Without it, an object must have exactly the members shown.
func matchJSON(want, got string) error {
	// Outside strings, "…" becomes a member "…": true, the mark of an
	// open object; anywhere else it makes the pattern invalid JSON.
	var b strings.Builder
	inString, escaped := false, false
	for _, r := range want {
		switch {
		case inString && escaped:
			escaped = false
		case inString && r == '\\':
			escaped = true
		case r == '"':
			inString = !inString
		case !inString && r == '…':
			b.WriteString(`"…":true`)
			continue
		}
		b.WriteRune(r)
	}
	var w any
	if err := decodeJSON(b.String(), &w); err != nil {
		return fmt.Errorf("the README's JSON %s is not understood: %v", want, err)
	}
	var g any
	if err := decodeJSON(got, &g); err != nil {
		return fmt.Errorf("output is not one JSON value: %v\n%s", err, got)
	}
	if err := matchValue("$", w, g); err != nil {
		return fmt.Errorf("%v\nREADME: %s\noutput: %s", err, want, got)
	}
	return nil
}

func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one value")
	}
	return nil
}

func matchValue(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %v, want an object", path, got)
		}
		open := w["…"] == true
		for _, k := range sortedKeys(w) {
			if k == "…" && open {
				continue
			}
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: no member %q", path, k)
			}
			if err := matchValue(path+"."+k, w[k], gv); err != nil {
				return err
			}
		}
		if !open {
			for _, k := range sortedKeys(g) {
				if _, ok := w[k]; !ok {
					return fmt.Errorf("%s: member %q the README does not show (end the object with …)", path, k)
				}
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %v, want %d elements", path, got, len(w))
		}
		for i := range w {
			if err := matchValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	case string:
		if g, ok := got.(string); !ok || !matchText(w, g) {
			return fmt.Errorf("%s: got %v, want %q", path, got, w)
		}
		return nil
	default: // json.Number, bool, nil
		if want != got {
			return fmt.Errorf("%s: got %v, want %v", path, got, want)
		}
		return nil
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestWalkthroughParseShell(t *testing.T) {
	cat := func(path string) (string, error) { return "content of " + path + "\n\n", nil }
	tests := []struct {
		line string
		want shellCommand
	}{
		{"./audexum serve &", shellCommand{and: [][][]string{{{"./audexum", "serve"}}}, background: true}},
		{"./audexum signing-key rotate          # tokens keep verifying",
			shellCommand{and: [][][]string{{{"./audexum", "signing-key", "rotate"}}}, comment: "tokens keep verifying"}},
		{"chmod 755 audexum-data && ./audexum serve",
			shellCommand{and: [][][]string{{{"chmod", "755", "audexum-data"}}, {{"./audexum", "serve"}}}}},
		{"echo 'a long passphrase' | ./audexum user add",
			shellCommand{and: [][][]string{{{"echo", "a long passphrase"}, {"./audexum", "user", "add"}}}}},
		// Continuation lines arrive joined, with their indentation.
		{`curl -X GET   'https://h/v1/data'   -H 'Authorization: Bearer K'`,
			shellCommand{and: [][][]string{{{"curl", "-X", "GET", "https://h/v1/data", "-H", "Authorization: Bearer K"}}}}},
		// Quotes join into one word; a # inside a word or quotes is not a comment.
		{`./audexum client create --name "Photo Printer" --x=a'b c'd#e`,
			shellCommand{and: [][][]string{{{"./audexum", "client", "create", "--name", "Photo Printer", "--x=ab cd#e"}}}}},
		// The command substitution loses its trailing newlines, as in the shell.
		{`export K="$(cat /f)"   # note`,
			shellCommand{and: [][][]string{{{"export", "K=content of /f"}}}, comment: "note"}},
		{`echo "a \"b\" \$c"`, shellCommand{and: [][][]string{{{"echo", `a "b" $c`}}}}},
	}
	for _, tt := range tests {
		got, err := parseShell(tt.line, cat)
		if err != nil {
			t.Errorf("parseShell(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(shellCommand{})); diff != "" {
			t.Errorf("parseShell(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
	// Constructs the walkthrough would misread are refused, not guessed.
	for _, line := range []string{
		"./audexum serve; echo done",
		"./audexum apikey list > keys.txt",
		"echo $HOME",
		"curl https://h/*",
		"a || b",
		"./audexum serve & ./audexum apikey list",
		"echo 'unterminated",
		`export K="$(openssl rand -base64 32)"`,
		"a && && b",
	} {
		if got, err := parseShell(line, cat); err == nil {
			t.Errorf("parseShell(%q) = %+v, want an error", line, got)
		}
	}
}

func TestWalkthroughMatchJSON(t *testing.T) {
	tests := []struct {
		name, want, got string
		ok              bool
	}{
		{"open object, layout ignored", `{"id": "…", "key": "adx_live_…", "scopes": ["data:read"], …}`,
			"{\n  \"id\": \"abc\",\n  \"key\": \"adx_live_x\",\n  \"scopes\": [\"data:read\"],\n  \"created_at\": \"t\"\n}\n", true},
		{"number", `{"expires_in":3600,…}`, `{"expires_in":3600,"token_type":"Bearer"}`, true},
		// The README shows the members it names: an extra one must be
		// announced with "…".
		{"closed object", `{"id":"…"}`, `{"id":"a","key":"b"}`, false},
		{"missing member", `{"id":"…",…}`, `{"key":"b"}`, false},
		{"prefix differs", `{"key":"adx_live_…"}`, `{"key":"adx_test_x"}`, false},
		{"array length", `{"scopes":["data:read"]}`, `{"scopes":["data:read","data:write"]}`, false},
		{"number differs", `{"expires_in":3600}`, `{"expires_in":"3600"}`, false},
		{"trailing output", `{"a":1}`, `{"a":1} {"a":1}`, false},
		// An ellipsis inside a string is text, not an open object.
		{"ellipsis in string only", `{"a":"x…"}`, `{"a":"xyz","b":1}`, false},
	}
	for _, tt := range tests {
		err := matchJSON(tt.want, tt.got)
		if (err == nil) != tt.ok {
			t.Errorf("%s: matchJSON(%s, %s) = %v, want ok=%v", tt.name, tt.want, tt.got, err, tt.ok)
		}
	}
	if !matchText("listening on https://127.0.0.1:…", "listening on https://127.0.0.1:4242") ||
		matchText("mode 0755 (…)", "mode 0755 (x) and more") || !matchText("a.b", "a.b") || matchText("a.b", "axb") {
		t.Error("matchText")
	}
}

func TestWalkthroughParseCurl(t *testing.T) {
	got, err := parseCurl([]string{"--cacert", "c.pem", "https://h/oauth/token",
		"-H", "Accept: application/json", "-d", "a=1", "--data", "b=2"})
	if err != nil {
		t.Fatal(err)
	}
	want := curlRequest{method: "POST", url: "https://h/oauth/token", data: "a=1&b=2", cacert: "c.pem",
		header: http.Header{"Accept": {"application/json"}, "Content-Type": {"application/x-www-form-urlencoded"}}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(curlRequest{})); diff != "" {
		t.Errorf("parseCurl (-want +got):\n%s", diff)
	}
	// Options the Go request would not honour are refused, not ignored.
	for _, args := range [][]string{
		{"-k", "https://h/"},
		{"-L", "https://h/"},
		{"-d", "@body.json", "https://h/"},
		{"https://h/", "https://i/"},
		{"-X", "POST"},
		{"https://h/", "-H"},
	} {
		if _, err := parseCurl(args); err == nil {
			t.Errorf("parseCurl(%q): no error", args)
		}
	}
}
