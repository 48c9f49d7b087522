package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/sqlstore"
)

// TestWalkthrough runs the ```sh blocks of README.md as a reader would, in
// their order, in a fresh directory that stands for the repository root:
// the build, serve in the background, then the CLI and curl while it runs.
// It checks what the README's "# …" lines after a command say it prints,
// and the claims the text makes about the commands right there (the data
// directory serve creates, a rotated key's grace, a revocation reaching
// the running server, tokens outliving a signing-key rotation). If the
// README and the behaviour drift apart, it fails.
//
// What it runs differently from the reader, and why:
//   - `go build -o audexum ./cmd/audexum`: ./audexum is the binary
//     TestMain built from this package, linked into the directory.
//   - serve listens on 127.0.0.1:0, never a fixed port (tests run in
//     parallel); the test checks that 127.0.0.1:8443 is serve's default,
//     and puts the address serve picked wherever the README has it.
//   - The README's placeholders (YOUR_API_KEY, KEY_ID, …: placeholders
//     below) are the values earlier commands printed, read from their
//     --json output; C is the S256 challenge of the test's PKCE verifier.
//   - curl runs with -q (no ~/.curlrc) and --silent --show-error
//     --noproxy '*' --write-out, to see the status, which must be 2xx.
//     Without curl installed, each curl line is sent as the equivalent Go
//     request (parseCurl), saying so in the log.
//   - The "then open, in a browser" step: the test fetches the URL with a
//     client that trusts the certificate the line names, checks the
//     consent page, signs in as the user the README added, allows, redeems
//     the code with the PKCE verifier (oauth2.Config.Exchange, as the text
//     suggests) and reads /v1/user/profile with the token.
//   - The "then open" step for the portal (a URL under /portal/): the test
//     signs in there as the user the README added, with forms and links
//     only, checks that the keys and applications created with --owner
//     are listed and the others are not, generates a key, calls /v1/data
//     with it, and expects the next `audit` to name the portal as its
//     creator.
//   - The error `chmod 755 audexum-data && ./audexum serve` shows ends in
//     the fix to run; the test runs it.
//   - The PostgreSQL block runs on a fresh schema of
//     AUDEXUM_TEST_POSTGRES_DSN (.ci/run sets it; without it the block is
//     skipped, saying so in the log); the files it names are made by the
//     test (readerFile), and the serve it leaves in the foreground is
//     started, checked and stopped at the end of the block.
//
// Not run: skippedLines, each with its reason. Any other line the test
// does not know how to run fails it, so the README cannot outgrow it.
func TestWalkthrough(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the README's commands are POSIX shell, and its chmod example means nothing on Windows")
	}
	blocks, err := readmeShellBlocks(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatalf("%s has no ```sh blocks", readmePath)
	}
	w := newWalk(t)
	// Every line must be one the test can run, also in a block it skips:
	// checked before running any, so a README the test cannot follow
	// fails at once.
	for _, b := range blocks {
		for _, st := range b.steps {
			if err := known(st); err != nil {
				t.Fatalf("%s: %v", st, err)
			}
		}
	}
	for _, b := range blocks {
		w.block(b)
	}
	for line := range skippedLines {
		if !w.skipped[line] {
			t.Errorf("skippedLines has %q, which the README no longer has: remove it", line)
		}
	}
}

// readmePath is the README whose shell blocks TestWalkthrough runs. It is
// read from the checkout, so this holds also once cmd/audexum is a module
// of its own.
const readmePath = "../../README.md"

// skippedLines are the README command lines the walkthrough does not run,
// with why.
var skippedLines = map[string]string{
	"go run ./cmd/audexum serve": "the same server as the walkthrough's `go build` and `./audexum serve`",
	"go test -race work":         "this test is part of that command",
}

// placeholders are the README's stand-ins for values earlier commands
// print, each with the pattern that finds it. ID and C are common words:
// they are only taken where the authorize URL has them.
var placeholders = []struct {
	name string
	re   *regexp.Regexp
}{
	{"YOUR_API_KEY", regexp.MustCompile(`\bYOUR_API_KEY\b`)},
	{"YOUR_CLIENT_ID", regexp.MustCompile(`\bYOUR_CLIENT_ID\b`)},
	{"YOUR_CLIENT_SECRET", regexp.MustCompile(`\bYOUR_CLIENT_SECRET\b`)},
	{"YOUR_ACCESS_TOKEN", regexp.MustCompile(`\bYOUR_ACCESS_TOKEN\b`)},
	{"KEY_ID", regexp.MustCompile(`\bKEY_ID\b`)},
	{"CLIENT_ID", regexp.MustCompile(`\bCLIENT_ID\b`)},
	{"ID", regexp.MustCompile(`\bclient_id=ID\b`)},
	{"C", regexp.MustCompile(`\bcode_challenge=C\b`)},
}

// unknownPlaceholderRE finds what looks like a placeholder the test does
// not know.
var unknownPlaceholderRE = regexp.MustCompile(`\b(YOUR_[A-Z0-9_]+|[A-Z]+_ID)\b`)

// readmeAddr is the address the README shows serve on: its default.
const readmeAddr = "127.0.0.1:8443"

// walk is the state of one reader going through the README: one shell
// session.
type walk struct {
	t        *testing.T
	dir      string            // the working directory: the repository root
	tmp      string            // the files the README has outside dir
	exported []string          // "NAME=value", from export lines
	vars     map[string]string // placeholder → value, once a command printed it
	verifier string            // the PKCE verifier behind C
	curl     string            // curl's path; "" sends curl lines from Go
	built    bool              // go build made ./audexum
	// checkedAddr: serve's default address is the README's.
	checkedAddr bool
	server      *server // the serve started in the background
	addr        string  // its host:port
	// blockServers are foreground serves, stopped when their block ends.
	blockServers []*server
	apiKeys      map[string]string // API key ID → key, from apikey create --json
	clients      map[string]client // by client ID, from client create --json
	users        map[string]string // username → password, from user add
	owners       map[string]string // key or client ID → --owner, from create --json
	postgres     string            // AUDEXUM_TEST_POSTGRES_DSN
	pgDSN        string            // the fresh schema the PostgreSQL block uses
	skipped      map[string]bool   // skippedLines met

	// portalKey is the key the portal step generated, and portalActor
	// who generated it, for the next audit.
	portalKey, portalActor string
}

func newWalk(t *testing.T) *walk {
	w := &walk{
		t: t, dir: t.TempDir(), tmp: t.TempDir(),
		vars: map[string]string{}, apiKeys: map[string]string{}, clients: map[string]client{},
		users: map[string]string{}, owners: map[string]string{}, skipped: map[string]bool{},
		verifier: oauth2.GenerateVerifier(),
		postgres: os.Getenv("AUDEXUM_TEST_POSTGRES_DSN"),
	}
	w.vars["C"] = oauth2.S256ChallengeFromVerifier(w.verifier)
	if p, err := exec.LookPath("curl"); err == nil {
		w.curl = p
	} else {
		t.Log("curl is not installed: the README's curl lines are sent as the equivalent Go requests")
	}
	return w
}

// block runs one ```sh block.
func (w *walk) block(b readmeBlock) {
	t := w.t
	t.Helper()
	needsPostgres := slices.ContainsFunc(b.steps, func(st readmeStep) bool { return strings.Contains(st.text, "postgres://") })
	if needsPostgres {
		if w.postgres == "" {
			t.Logf("README.md:%d: block not run: AUDEXUM_TEST_POSTGRES_DSN is not set (scripts/postgres-for-tests.sh sets it; .ci/run does)", b.line)
			return
		}
		w.pgDSN = freshPostgresDB(t, w.postgres)
	}
	for _, st := range b.steps {
		w.step(st)
	}
	for _, s := range w.blockServers {
		s.stop(t)
	}
	w.blockServers = nil
	if needsPostgres {
		// The block's commands ran on the database it names.
		db, err := sql.Open("pgx", w.pgDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var tables int
		if err := db.QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").Scan(&tables); err != nil || tables == 0 {
			t.Errorf("README.md:%d: the block left %d tables (%v) in the PostgreSQL database it names", b.line, tables, err)
		}
		w.pgDSN = ""
	}
}

// skippedLine returns the line of skippedLines st is, or "".
func skippedLine(st readmeStep) string {
	c, err := parseShell(st.text, func(string) (string, error) { return "", nil })
	if err != nil || c.background || len(c.and) != 1 || len(c.and[0]) != 1 {
		return ""
	}
	if line := strings.Join(c.and[0][0], " "); skippedLines[line] != "" {
		return line
	}
	return ""
}

// known returns an error if the test does not know how to run st.
func known(st readmeStep) error {
	if skippedLine(st) != "" {
		return nil
	}
	c, err := parseShell(st.text, func(string) (string, error) { return "", nil })
	if err != nil {
		return err
	}
	teach := "teach TestWalkthrough to run it, or add it to skippedLines with the reason"
	for _, p := range c.and {
		if len(p) == 2 && p[0][0] == "echo" {
			p = p[1:]
		}
		if len(p) != 1 {
			return fmt.Errorf("a pipeline other than `echo … | command`: %s", teach)
		}
		switch argv := p[0]; argv[0] {
		case "./audexum", "curl", "chmod", "export":
		case "go":
			if !slices.Equal(argv, goBuild) {
				return fmt.Errorf("go command %q: %s", argv, teach)
			}
		default:
			return fmt.Errorf("command %q: %s", argv[0], teach)
		}
	}
	if c.background && (len(c.and) != 1 || len(c.and[0]) != 1 || !isServe(c.and[0][0])) {
		return fmt.Errorf("a background command other than ./audexum serve: %s", teach)
	}
	return nil
}

// goBuild is the README's build line: TestMain's build, in the test.
var goBuild = []string{"go", "build", "-o", "audexum", "./cmd/audexum"}

func isServe(argv []string) bool {
	return len(argv) > 1 && argv[0] == "./audexum" && argv[1] == "serve"
}

// browserRE is the README's instruction to open the next comment line, a
// URL, in a browser.
var browserRE = regexp.MustCompile(`^then open, in a browser that trusts (\S+):$`)

// step runs one README command line and checks what it prints.
func (w *walk) step(st readmeStep) {
	t := w.t
	t.Helper()
	if line := skippedLine(st); line != "" {
		t.Logf("%s: not run: %s", st, skippedLines[line])
		w.skipped[line] = true
		return
	}
	c, err := parseShell(w.subst(st, st.text), w.cat)
	if err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	t.Logf("%s", st)
	expect, browse := st.comments, []string(nil)
	for i, cm := range st.comments {
		if browserRE.MatchString(cm) {
			if i != len(st.comments)-2 {
				t.Fatalf("%s: %q must be followed by one comment line, the URL", st, cm)
			}
			expect, browse = st.comments[:i], []string{browserRE.FindStringSubmatch(cm)[1], st.comments[i+1]}
		}
	}
	expectError := len(expect) > 0 && strings.HasPrefix(expect[0], "audexum: ")

	if c.background {
		w.background(st, c.and[0][0], expect)
		return
	}
	var r result
	for _, p := range c.and {
		stdin := ""
		if len(p) == 2 {
			stdin = strings.Join(p[0][1:], " ") + "\n"
		}
		argv := p[len(p)-1]
		if r = w.run(st, argv, stdin, expectError); r.code != 0 {
			break // &&
		}
		w.after(st, argv, r, stdin)
	}
	w.check(st, r, expect)
	if browse != nil {
		w.openInBrowser(st, browse[0], browse[1])
	}
}

// subst puts into text the values the README's placeholders stand for,
// and fails if a placeholder is left.
func (w *walk) subst(st readmeStep, text string) string {
	t := w.t
	t.Helper()
	if w.server != nil {
		text = strings.ReplaceAll(text, readmeAddr, w.addr)
	} else if strings.Contains(text, readmeAddr) {
		t.Fatalf("%s: uses the server's address before serve started", st)
	}
	for _, p := range placeholders {
		v, ok := w.vars[p.name]
		if !ok {
			if p.re.MatchString(text) {
				t.Fatalf("%s: uses %s before any command printed it", st, p.name)
			}
			continue
		}
		text = p.re.ReplaceAllStringFunc(text, func(m string) string { return m[:len(m)-len(p.name)] + v })
	}
	if m := unknownPlaceholderRE.FindString(text); m != "" {
		t.Fatalf("%s: placeholder %s: teach TestWalkthrough (placeholders) which value it stands for", st, m)
	}
	if w.pgDSN != "" {
		text = postgresDSNRE.ReplaceAllLiteralString(text, w.pgDSN)
	}
	return text
}

var postgresDSNRE = regexp.MustCompile(`postgres://[^\s'"]+`)

// readerFile returns where the test keeps name, a file the README expects
// the reader to have, making it first: the PostgreSQL block's key file
// (absolute, so kept in the test's temp dir) and certificate.
func (w *walk) readerFile(name string) (string, bool) {
	var path string
	var content func() ([]byte, error)
	switch name {
	case "/secure/audexum-kek":
		path = filepath.Join(w.tmp, "audexum-kek")
		// As `openssl rand -base64 32` prints one, newline and all.
		content = func() ([]byte, error) { return []byte(sqlstore.GenerateKeyEncryptionKey() + "\n"), nil }
	case "cert.pem", "key.pem":
		// The reader's own certificate: the one the first serve made.
		path = filepath.Join(w.dir, name)
		content = func() ([]byte, error) { return os.ReadFile(filepath.Join(w.dir, "audexum-data", "tls-"+name)) }
	default:
		return "", false
	}
	if _, err := os.Stat(path); err != nil {
		b, err := content()
		if err == nil {
			err = os.WriteFile(path, b, 0o600)
		}
		if err != nil {
			w.t.Fatalf("making %s for the README's %s: %v", path, name, err)
		}
	}
	return path, true
}

// cat reads a file for "$(cat FILE)".
func (w *walk) cat(name string) (string, error) {
	path, ok := w.readerFile(name)
	if !ok {
		path = name
		if !filepath.IsAbs(path) {
			path = filepath.Join(w.dir, name)
		}
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

// env is the environment of the commands: the test's without the
// AUDEXUM_ variables a developer may have set (the README starts from a
// clean shell), and what the README exported.
func (w *walk) env() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUDEXUM_") {
			out = append(out, kv)
		}
	}
	return append(out, w.exported...)
}

// run runs one command of a line.
func (w *walk) run(st readmeStep, argv []string, stdin string, expectError bool) result {
	t := w.t
	t.Helper()
	switch argv[0] {
	case "go":
		// TestMain built it, from this package, with the same command.
		if err := os.Symlink(binary, filepath.Join(w.dir, "audexum")); err != nil {
			t.Fatal(err)
		}
		w.built = true
		return result{}
	case "export":
		for _, a := range argv[1:] {
			name, _, ok := strings.Cut(a, "=")
			if !ok {
				t.Fatalf("%s: export %q: want NAME=value", st, a)
			}
			w.exported = slices.DeleteFunc(w.exported, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
			w.exported = append(w.exported, a)
		}
		return result{}
	case "chmod":
		mode, err := strconv.ParseUint(argv[1], 8, 32)
		if len(argv) != 3 || err != nil {
			t.Fatalf("%s: want chmod OCTAL-MODE PATH", st)
		}
		if err := os.Chmod(filepath.Join(w.dir, argv[2]), os.FileMode(mode)); err != nil {
			return result{stderr: err.Error(), code: 1}
		}
		return result{}
	case "curl":
		return w.runCurl(st, argv[1:])
	}
	// ./audexum
	if !w.built {
		t.Fatalf("%s: runs ./audexum before building it", st)
	}
	for i, a := range argv {
		if p, ok := w.readerFile(a); ok && filepath.IsAbs(a) {
			argv[i] = p
		}
	}
	if isServe(argv) {
		argv = w.serveArgs(st, argv)
		if !expectError {
			// The reader leaves it running in the foreground; the test
			// stops it when the block ends.
			s := w.startServe(st, argv)
			w.blockServers = append(w.blockServers, s)
			return result{}
		}
	}
	return w.exec(st, argv[0], argv[1:], stdin)
}

// exec runs a program in the walk's directory and environment.
func (w *walk) exec(st readmeStep, name string, args []string, stdin string) result {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = w.dir
	cmd.Env = w.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after a minute; stderr %q", st, errb.String())
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	return r
}

// serveArgs makes serve listen on a free loopback port, once checking
// that the README's address is serve's default.
func (w *walk) serveArgs(st readmeStep, argv []string) []string {
	t := w.t
	t.Helper()
	if !w.checkedAddr {
		if r := w.exec(st, argv[0], []string{"serve", "-h"}, ""); !strings.Contains(r.stdout, `(default "`+readmeAddr+`")`) {
			t.Fatalf("serve's default address is not the README's %s:\n%s", readmeAddr, r.stdout)
		}
		w.checkedAddr = true
	}
	argv = slices.Clone(argv)
	for i, a := range argv {
		if a == "--addr" && i+1 < len(argv) {
			argv[i+1] = "127.0.0.1:0"
			return argv
		}
	}
	return append(argv, "--addr", "127.0.0.1:0")
}

// flagValue returns the value of --name in argv.
func flagValue(argv []string, name string) string {
	if i := slices.Index(argv, name); i >= 0 && i+1 < len(argv) {
		return argv[i+1]
	}
	return ""
}

// startServe starts the serve argv and waits for it to be ready.
func (w *walk) startServe(st readmeStep, argv []string) *server {
	t := w.t
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = w.dir
	cmd.Env = w.env()
	cert := flagValue(argv, "--tls-cert")
	if cert == "" {
		cert = filepath.Join("audexum-data", certFileName)
	}
	issuer := flagValue(argv, "--issuer")
	s := startServerCmd(t, cmd, issuer, filepath.Join(w.dir, cert))
	if issuer != "" {
		// --issuer is what the tokens and the metadata name.
		code, body, _ := s.do(t, "GET", "/.well-known/oauth-authorization-server", "", nil)
		var md struct {
			Issuer string `json:"issuer"`
		}
		if json.Unmarshal([]byte(body), &md); code != 200 || md.Issuer != issuer {
			t.Errorf("%s: metadata: %d %s, want issuer %s", st, code, body, issuer)
		}
	}
	return s
}

// background runs `./audexum serve &`: the walkthrough's server.
func (w *walk) background(st readmeStep, argv, expect []string) {
	t := w.t
	t.Helper()
	if w.server != nil {
		t.Fatalf("%s: a second serve in the background", st)
	}
	w.server = w.startServe(st, w.serveArgs(st, argv))
	w.addr = strings.TrimPrefix(w.server.url, "https://")
	if len(expect) != 1 {
		t.Fatalf("%s: want one line of output after it, the ready line; got %q", st, expect)
	}
	if got, want := "listening on "+w.server.url, w.subst(st, expect[0]); !matchText(want, got) {
		t.Errorf("%s: serve printed %q, README shows %q", st, got, want)
	}
	w.checkDataDir(st)
}

// checkDataDir checks what the README says serve creates: ./audexum-data,
// open to its owner only, with a SQLite database, a self-signed
// certificate for localhost, 127.0.0.1 and ::1, and key-encryption-key.
func (w *walk) checkDataDir(st readmeStep) {
	t := w.t
	t.Helper()
	dir := filepath.Join(w.dir, "audexum-data")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: audexum-data: %v, mode %v; want a directory open to its owner only", st, err, fi.Mode())
	}
	for _, f := range []string{"audexum.db", certFileName, keyFileName, "key-encryption-key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", st, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, certFileName))
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: %s is not PEM", st, certFileName)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if diff := cmp.Diff([]string{"localhost", "127.0.0.1", "::1"}, append(slices.Clone(cert.DNSNames), ips...)); diff != "" {
		t.Errorf("%s: certificate names (-want +got):\n%s", st, diff)
	}
	if cert.CheckSignatureFrom(cert) != nil {
		t.Errorf("%s: the certificate is not self-signed", st)
	}
}

// check compares what a line printed with the comment lines after it. An
// output that starts "audexum: " is an error, on stderr, and the command
// must fail; any other is stdout, JSON or lines, and the command must
// succeed, as it must when the README shows nothing.
func (w *walk) check(st readmeStep, r result, expect []string) {
	t := w.t
	t.Helper()
	expect = slices.Clone(expect)
	for i := range expect {
		expect[i] = w.subst(st, expect[i])
	}
	switch {
	case len(expect) == 0:
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", st, r.code, r.stderr)
		}
	case strings.HasPrefix(expect[0], "audexum: "):
		if r.code == 0 {
			t.Fatalf("%s: succeeded; the README shows it failing with %q", st, expect[0])
		}
		checkLines(t, st, "stderr", expect, r.stderr)
		// The message ends in the fix; the reader runs it, and so do we.
		if _, fix, ok := strings.Cut(r.stderr, "; run: "); ok {
			t.Logf("%s: running the fix it names: %s", st, strings.TrimSpace(fix))
			w.step(readmeStep{line: st.line, text: strings.TrimSpace(fix)})
		}
	default:
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", st, r.code, r.stderr)
		}
		if want := strings.Join(expect, "\n"); strings.HasPrefix(want, "{") || strings.HasPrefix(want, "[") {
			if err := matchJSON(want, r.stdout); err != nil {
				t.Errorf("%s: %v", st, err)
			}
		} else {
			checkLines(t, st, "stdout", expect, r.stdout)
		}
	}
}

func checkLines(t *testing.T, st readmeStep, stream string, want []string, got string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = matchText(want[i], lines[i])
	}
	if !ok {
		t.Errorf("%s: %s:\n%s\nREADME shows:\n%s", st, stream, got, strings.Join(want, "\n"))
	}
}

// after takes the values a successful command printed for the
// placeholders of later lines, and checks what the README says it does.
func (w *walk) after(st readmeStep, argv []string, r result, stdin string) {
	t := w.t
	t.Helper()
	if r.code != 0 || argv[0] != "./audexum" {
		return
	}
	args := argv[1:]
	is := func(cmd ...string) bool { return len(args) >= len(cmd) && slices.Equal(args[:len(cmd)], cmd) }
	asJSON := slices.Contains(args, "--json")
	decode := func(v any) {
		if err := decodeJSON(r.stdout, v); err != nil {
			t.Fatalf("%s: --json output: %v\n%s", st, err, r.stdout)
		}
	}
	s := w.server
	switch {
	case is("apikey", "create") && asJSON:
		var k createdKey
		decode(&k)
		w.apiKeys[k.ID] = k.Key
		w.owners[k.ID] = flagValue(args, "--owner")
		w.vars["KEY_ID"], w.vars["YOUR_API_KEY"] = k.ID, k.Key
	case is("client", "create") && asJSON:
		var c client
		decode(&c)
		w.clients[c.ClientID] = c
		w.owners[c.ClientID] = flagValue(args, "--owner")
		switch c.Type {
		case "server":
			if c.ClientSecret == nil {
				t.Fatalf("%s: a server client without a secret", st)
			}
			w.vars["YOUR_CLIENT_ID"], w.vars["YOUR_CLIENT_SECRET"] = c.ClientID, *c.ClientSecret
			w.vars["CLIENT_ID"] = c.ClientID
		case "web":
			w.vars["ID"] = c.ClientID // the authorize URL's
		}
	case is("user", "add"):
		w.users[flagValue(args, "--username")] = strings.TrimSuffix(stdin, "\n")
	case is("apikey", "list"):
		for id := range w.apiKeys {
			if !strings.Contains(r.stdout, id) {
				t.Errorf("%s: key %s not listed:\n%s", st, id, r.stdout)
			}
		}
	case is("apikey", "rotate") && len(args) > 2 && s != nil:
		// "Keys rotate with a grace period": the old key works on, and
		// so does the new one it printed.
		if code, body, _ := s.do(t, "GET", "/v1/data", w.apiKeys[args[2]], nil); code != 200 {
			t.Errorf("%s: the rotated key within its grace period: %d %s", st, code, body)
		}
		newKey := regexp.MustCompile(`(?m)^\s+(adx_\S+)$`).FindStringSubmatch(r.stdout)
		if newKey == nil {
			t.Fatalf("%s: no new key in the output:\n%s", st, r.stdout)
		}
		within(t, propagationBound, "the new key accepted", func() bool {
			code, _, _ := s.do(t, "GET", "/v1/data", newKey[1], nil)
			return code == 200
		})
	case is("apikey", "revoke") && len(args) > 2 && s != nil:
		// "and revoke at once, also while serve runs in another process"
		within(t, propagationBound, "the revoked key refused", func() bool {
			code, _, _ := s.do(t, "GET", "/v1/data", w.apiKeys[args[2]], nil)
			return code == 401
		})
	case is("client", "rotate-secret") && len(args) > 2 && s != nil && w.clients[args[2]].ClientSecret != nil:
		// The new secret it printed gets tokens, and so does the old
		// one, for the grace period.
		newSecret := regexp.MustCompile(`(?m)^\s+(\S+)$`).FindStringSubmatch(r.stdout)
		if newSecret == nil {
			t.Fatalf("%s: no new secret in the output:\n%s", st, r.stdout)
		}
		for what, secret := range map[string]string{"new secret": newSecret[1], "old secret": *w.clients[args[2]].ClientSecret} {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {args[2]}, "client_secret": {secret}}
			if code, body, _ := s.do(t, "POST", "/oauth/token", "", strings.NewReader(form.Encode())); code != 200 {
				t.Errorf("%s: token with the %s: %d %s", st, what, code, body)
			}
		}
	case is("audit") && w.portalKey != "":
		// "generate one there, and the audit trail names her"
		re := regexp.MustCompile(`(?m)\sapi_key\s+created\s+` + regexp.QuoteMeta(w.portalKey) + `\s+` + regexp.QuoteMeta(w.portalActor) + `\s`)
		if !re.MatchString(r.stdout) {
			t.Errorf("%s: no api_key created %s by %s in:\n%s", st, w.portalKey, w.portalActor, r.stdout)
		}
		w.portalKey = ""
	case is("signing-key", "rotate") && s != nil && w.vars["YOUR_ACCESS_TOKEN"] != "":
		// "tokens signed before keep verifying until they expire"
		if code, body, _ := s.do(t, "GET", "/v1/data", w.vars["YOUR_ACCESS_TOKEN"], nil); code != 200 {
			t.Errorf("%s: a token signed before the rotation: %d %s", st, code, body)
		}
	}
	if asJSON && !t.Failed() {
		var v any
		decode(&v)
	}
}

// openInBrowser does what the reader's browser and the client do with
// the authorize URL the README shows: the consent page, "Allow", the
// redirect with a code, the code redeemed with the PKCE verifier, and the
// token reading /v1/user/profile.
func (w *walk) openInBrowser(st readmeStep, certFile, rawURL string) {
	t := w.t
	t.Helper()
	authURL, err := url.Parse(w.subst(st, rawURL))
	if err != nil {
		t.Fatalf("%s: the URL to open: %v", st, err)
	}
	t.Logf("%s: opening %s", st, authURL)
	if strings.HasPrefix(authURL.Path, portal.MountPath) {
		w.openPortal(st, certFile, authURL)
		return
	}
	origin := authURL.Scheme + "://" + authURL.Host
	q := authURL.Query()
	c, ok := w.clients[q.Get("client_id")]
	if !ok || c.ClientSecret == nil {
		t.Fatalf("%s: client_id %q is not a client with a secret the README created", st, q.Get("client_id"))
	}
	username, password := w.theUser(st)
	browser := &http.Client{
		Transport:     w.trusting(st, certFile),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	send := func(method, u, bearer string, form url.Values) (int, string, http.Header) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatalf("%s: %s %s: %v", st, method, u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	// "The consent page names the client and the scopes"
	code, page, _ := send("GET", authURL.String(), "", nil)
	if code != 200 || !strings.Contains(page, html.EscapeString(c.Name)) {
		t.Fatalf("%s: consent page: %d, want 200 naming %q\n%s", st, code, c.Name, page)
	}
	scopes := strings.Fields(q.Get("scope"))
	slices.Sort(scopes)
	if diff := cmp.Diff(wantConsentScopes(t, scopes...), consentScopes(page)); diff != "" {
		t.Errorf("%s: consent page scopes (-want +got):\n%s", st, diff)
	}

	// "after "Allow" the browser lands on the redirect URI with a code"
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	form.Set("username", username)
	form.Set("password", password)
	form.Set("decision", "allow")
	code, body, hdr := send("POST", origin+"/oauth/authorize", "", form)
	if code != http.StatusSeeOther {
		t.Fatalf("%s: Allow: %d, want 303\n%s", st, code, body)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != q.Get("redirect_uri") ||
		loc.Query().Get("state") != q.Get("state") || loc.Query().Get("code") == "" {
		t.Fatalf("%s: Allow redirected to %q, want %s with the state and a code", st, hdr.Get("Location"), q.Get("redirect_uri"))
	}

	// "which the client redeems at /oauth/token with its PKCE verifier
	// (for example with golang.org/x/oauth2's Config.Exchange and
	// VerifierOption). The token it gets reads /v1/user/profile."
	conf := oauth2.Config{
		ClientID: c.ClientID, ClientSecret: *c.ClientSecret, RedirectURL: q.Get("redirect_uri"),
		Endpoint: oauth2.Endpoint{AuthURL: origin + "/oauth/authorize", TokenURL: origin + "/oauth/token"},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, browser)
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(w.verifier))
	if err != nil {
		t.Fatalf("%s: redeeming the code: %v", st, err)
	}
	code, body, _ = send("GET", origin+"/v1/user/profile", tok.AccessToken, nil)
	var profile struct {
		Username string `json:"username"`
	}
	if json.Unmarshal([]byte(body), &profile); code != 200 || profile.Username != username {
		t.Errorf("%s: /v1/user/profile with the token: %d %s, want %s's profile", st, code, body, username)
	}
}

// theUser returns the one user the README added, who signs in in the
// browser steps.
func (w *walk) theUser(st readmeStep) (username, password string) {
	w.t.Helper()
	if len(w.users) != 1 {
		w.t.Fatalf("%s: signing in needs the one user the README adds; have %d", st, len(w.users))
	}
	for u, p := range w.users {
		username, password = u, p
	}
	return username, password
}

// trusting returns a transport that trusts the certificate in certFile,
// as the README's browser does.
func (w *walk) trusting(st readmeStep, certFile string) *http.Transport {
	w.t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(w.dir, certFile))
	if err != nil {
		w.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		w.t.Fatalf("%s: no certificate in %s", st, certFile)
	}
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
}

// openPortal does what the reader does in the portal the README sends
// them to: sign in as the user it added, find the keys and applications
// created with --owner for that user (and not the operator's), and
// generate a key, which works at /v1/data and which the next audit names.
func (w *walk) openPortal(st readmeStep, certFile string, u *url.URL) {
	t := w.t
	t.Helper()
	if w.server == nil || u.Scheme+"://"+u.Host != w.server.url {
		t.Fatalf("%s: %s is not the server serve started", st, u)
	}
	username, password := w.theUser(st)
	pc := newPortalClientFor(t, w.server.url, w.trusting(st, certFile))
	pg := pc.get(u.RequestURI())
	if pg.status != 200 || pg.path != "/portal/signin" {
		t.Fatalf("%s: %d at %s, want the sign-in page", st, pg.status, pg.path)
	}
	pg = pc.submit(pg, "/portal/signin", url.Values{"username": {username}, "password": {password}})
	if pg.status != 200 || pg.path != "/portal/keys" {
		t.Fatalf("%s: signing in as %s: %d at %s\n%s", st, username, pg.status, pg.path, pg.body)
	}
	// "The keys and applications created with --owner ann are in her
	// portal; the operator's, created without --owner, are in none."
	apps := pc.get("/portal/apps")
	for id, owner := range w.owners {
		page := pg
		if _, ok := w.clients[id]; ok {
			page = apps
		}
		if listed := strings.Contains(page.body, "<code>"+id+"</code>"); listed != (owner == username) {
			t.Errorf("%s: %s (owner %q) listed in %s's portal: %v", st, id, owner, username, listed)
		}
	}
	// "generate one there"
	pg = pc.submit(pc.follow(pg, "/portal/keys/new"), "/portal/keys", url.Values{
		"name": {"from the portal"}, "scope": {"data:read"}, "expires": {"30"}})
	key := pageSecret(pg.body)
	if pg.status != 200 || key == "" {
		t.Fatalf("%s: generating a key in the portal: %d\n%s", st, pg.status, pg.body)
	}
	if code, body, _ := w.server.do(t, "GET", "/v1/data", key, nil); code != 200 {
		t.Errorf("%s: /v1/data with the key generated in the portal: %d %s", st, code, body)
	}
	w.portalKey, w.portalActor = mustMatch(t, st.String(), keyIDRE, pg.body), "portal:"+username
}

// runCurl runs a curl line and returns the response body; the status must
// be 2xx (the README shows no failing call).
func (w *walk) runCurl(st readmeStep, args []string) result {
	t := w.t
	t.Helper()
	// Parsed also when curl runs, so every line the README has can also
	// be sent without it.
	req, err := parseCurl(args)
	if err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	var body string
	var status int
	if w.curl != "" {
		full := append([]string{"-q"}, args...)
		full = append(full, "--silent", "--show-error", "--noproxy", "*", "--max-time", "30", "--write-out", "\n%{http_code}")
		r := w.exec(st, w.curl, full, "")
		if r.code != 0 {
			t.Fatalf("%s: curl exit %d: %s", st, r.code, r.stderr)
		}
		i := strings.LastIndex(r.stdout, "\n")
		body = r.stdout[:i]
		status, _ = strconv.Atoi(r.stdout[i+1:])
	} else {
		t.Logf("%s: sent from Go: curl is not installed", st)
		body, status = w.sendCurl(st, req)
	}
	if status/100 != 2 {
		t.Fatalf("%s: HTTP %d %s; the README shows it succeeding", st, status, body)
	}
	if strings.Contains(body, `"access_token"`) {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("%s: token response: %v %s", st, err, body)
		}
		w.vars["YOUR_ACCESS_TOKEN"] = tok.AccessToken
	}
	return result{stdout: body}
}

// sendCurl sends r from Go, as curl would.
func (w *walk) sendCurl(st readmeStep, r curlRequest) (string, int) {
	t := w.t
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{}} // no proxy, as --noproxy
	if r.cacert != "" {
		pemBytes, err := os.ReadFile(filepath.Join(w.dir, r.cacert))
		if err != nil {
			t.Fatalf("%s: --cacert: %v", st, err)
		}
		tr.TLSClientConfig.RootCAs = x509.NewCertPool()
		if !tr.TLSClientConfig.RootCAs.AppendCertsFromPEM(pemBytes) {
			t.Fatalf("%s: --cacert %s: no certificate", st, r.cacert)
		}
	}
	var body io.Reader
	if r.data != "" {
		body = strings.NewReader(r.data)
	}
	req, err := http.NewRequest(r.method, r.url, body)
	if err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	req.Header = r.header
	// curl follows no redirects without -L.
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", st, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}
