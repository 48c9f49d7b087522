package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binary is the audexum binary built once for the whole test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "audexum-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "audexum")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building audexum:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one data dir (or PostgreSQL database) the commands share.
type env struct {
	t       *testing.T
	dataDir string
	db      string // --db value; "" for the data dir's SQLite file
	// environ is added to the commands' environment, as "NAME=value".
	environ []string
}

// newEnv returns an env whose data directory has a database, as after a
// first `serve`: only serve creates one, and most tests drive the
// management commands first.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newBareEnv(t)
	if err := createDatabase(t.Context(), filepath.Join(e.dataDir, "audexum.db")); err != nil {
		t.Fatal(err)
	}
	return e
}

// newBareEnv returns an env with an empty data directory: no database
// until serve makes one.
func newBareEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	// As the commands would create it: t.TempDir leaves it open to
	// others (0777 less the umask), which the commands refuse.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dataDir: dir}
}

func (e *env) flags() []string {
	f := []string{"--data-dir", e.dataDir}
	if e.db != "" {
		f = append(f, "--db", e.db)
	}
	return f
}

// cmdEnv is the environment of the commands: the test's, without a
// key-encryption key the developer may have set (each test chooses its
// own), and e.environ.
func (e *env) cmdEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envKEK+"=") {
			out = append(out, kv)
		}
	}
	return append(out, e.environ...)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with args followed by the env's common flags. A
// command still running after two minutes (a serve that should have
// refused to start, say) is killed and fails the test.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, e.flags()...)...)
	cmd.Env = e.cmdEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		e.t.Fatalf("%v: still running after 2 minutes; stderr %q", args, errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// ok runs a command that must succeed.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 {
		e.t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

func (e *env) jsonOK(v any, args ...string) {
	e.t.Helper()
	out := e.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("%v: output is not the JSON expected: %v\n%s", args, err, out)
	}
}

var keyRE = regexp.MustCompile(`^adx_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$`)

func TestUsageErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"unknown subcommand", []string{"apikey", "frob"}, 2},
		{"missing subcommand", []string{"client"}, 2},
		{"create without name", []string{"apikey", "create"}, 2},
		{"bad duration", []string{"apikey", "create", "--name", "x", "--expires-in", "soon"}, 2},
		{"bad scope", []string{"apikey", "create", "--name", "x", "--scope", `a"b`}, 2},
		{"unknown flag", []string{"apikey", "list", "--colour"}, 2},
		{"revoke without id", []string{"apikey", "revoke"}, 2},
		{"client bad type", []string{"client", "create", "--name", "x", "--type", "desktop"}, 2},
		{"cert without key", []string{"serve", "--tls-cert", "x.pem"}, 2},
		{"issuer not https", []string{"serve", "--issuer", "http://example.com"}, 2},
		{"user without stdin flag", []string{"user", "add", "--username", "ann"}, 2},
		// Well-formed, but the key does not exist: an error, not a usage error.
		{"revoke unknown", []string{"apikey", "revoke", "nosuchkey123"}, 1},
		{"rotate unknown", []string{"apikey", "rotate", "nosuchkey123"}, 1},
		{"delete unknown client", []string{"client", "delete", "nosuchclient"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r result
			if tt.args == nil {
				cmd := exec.Command(binary)
				var errb bytes.Buffer
				cmd.Stderr = &errb
				err := cmd.Run()
				ee, _ := err.(*exec.ExitError)
				r = result{stderr: errb.String()}
				if ee != nil {
					r.code = ee.ExitCode()
				}
			} else {
				r = e.run("", tt.args...)
			}
			if r.code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tt.code, r.stderr)
			}
			if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n"); lines != 0 || !strings.HasPrefix(r.stderr, "audexum: ") {
				t.Errorf("stderr = %q, want one line starting with \"audexum: \"", r.stderr)
			}
		})
	}
}

type createdKey struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

type listedKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Revoked    bool       `json:"revoked"`
}

func TestAPIKeyCommands(t *testing.T) {
	e := newEnv(t)
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "reporting", "--scope", "data:read", "--scope", "data:write", "--json")
	if !keyRE.MatchString(k.Key) || !strings.Contains(k.Key, "_"+k.ID+"_") {
		t.Errorf("key %q does not have the documented shape or id %q", k.Key, k.ID)
	}
	if k.Name != "reporting" || strings.Join(k.Scopes, " ") != "data:read data:write" {
		t.Errorf("created = %+v", k)
	}
	if k.ExpiresAt == nil || k.ExpiresAt.Sub(k.CreatedAt).Round(time.Hour) != 90*24*time.Hour {
		t.Errorf("expires_at = %v, want created_at + 90 days", k.ExpiresAt)
	}
	var forever createdKey
	e.jsonOK(&forever, "apikey", "create", "--name", "forever", "--scope", "data:read", "--expires-in", "0", "--json")
	if forever.ExpiresAt != nil {
		t.Errorf("--expires-in 0: expires_at = %v, want null", forever.ExpiresAt)
	}
	var short createdKey
	e.jsonOK(&short, "apikey", "create", "--name", "short", "--scope", "data:read", "--expires-in", "7d", "--json")
	if short.ExpiresAt == nil || short.ExpiresAt.Sub(short.CreatedAt).Round(time.Hour) != 7*24*time.Hour {
		t.Errorf("--expires-in 7d: expires_at = %v", short.ExpiresAt)
	}

	// Text output shows the key once, on its own line.
	text := e.ok("apikey", "create", "--name", "texty", "--scope", "profile:read")
	if !regexp.MustCompile(`(?m)^\s+adx_live_\S+$`).MatchString(text) || !strings.Contains(text, "shown only once") {
		t.Errorf("text create output:\n%s", text)
	}

	// The key is never listed, in either format.
	listJSON := e.ok("apikey", "list", "--json")
	listText := e.ok("apikey", "list")
	for _, out := range []string{listJSON, listText} {
		if strings.Contains(out, k.Key) || strings.Contains(out, k.Key[len(k.Key)-38:]) {
			t.Fatalf("list output contains the key or its secret:\n%s", out)
		}
	}
	var listed []listedKey
	if err := json.Unmarshal([]byte(listJSON), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 4 {
		t.Fatalf("listed %d keys, want 4", len(listed))
	}

	var rotated createdKey
	e.jsonOK(&rotated, "apikey", "rotate", k.ID, "--grace", "1h", "--json")
	if rotated.ID == k.ID || !keyRE.MatchString(rotated.Key) || rotated.Name != k.Name {
		t.Errorf("rotated = %+v", rotated)
	}
	// A key can be rotated once.
	if r := e.run("", "apikey", "rotate", k.ID); r.code != 1 {
		t.Errorf("second rotation: exit %d, want 1", r.code)
	}
	e.ok("apikey", "revoke", rotated.ID)
	e.jsonOK(&listed, "apikey", "list", "--json")
	revoked := map[string]bool{}
	for _, l := range listed {
		revoked[l.ID] = l.Revoked
	}
	if !revoked[rotated.ID] || revoked[k.ID] {
		t.Errorf("revoked flags = %v, want only %s", revoked, rotated.ID)
	}
	if r := e.run("", "apikey", "revoke", rotated.ID); r.code != 1 {
		t.Errorf("second revoke: exit %d, want 1", r.code)
	}
}

type client struct {
	ClientID     string   `json:"client_id"`
	ClientSecret *string  `json:"client_secret"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
}

func TestClientCommands(t *testing.T) {
	e := newEnv(t)
	var srv, web, mob client
	e.jsonOK(&srv, "client", "create", "--name", "Backend", "--type", "server", "--scope", "data:read", "--json")
	if srv.ClientSecret == nil || *srv.ClientSecret == "" || srv.Type != "server" || len(srv.RedirectURIs) != 0 {
		t.Errorf("server client = %+v", srv)
	}
	e.jsonOK(&web, "client", "create", "--name", "Web App", "--type", "web",
		"--redirect-uri", "https://app.example/cb", "--redirect-uri", "http://127.0.0.1:9000/cb", "--scope", "profile:read", "--json")
	if web.ClientSecret == nil || len(web.RedirectURIs) != 2 {
		t.Errorf("web client = %+v", web)
	}
	e.jsonOK(&mob, "client", "create", "--name", "Phone", "--type", "mobile", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "profile:read", "--json")
	if mob.ClientSecret != nil {
		t.Errorf("mobile client has a secret: %+v", mob)
	}
	// Redirect URIs must be exact, absolute https (or loopback http).
	if r := e.run("", "client", "create", "--name", "Bad", "--type", "web", "--redirect-uri", "http://evil.example/cb", "--scope", "data:read"); r.code != 1 {
		t.Errorf("http redirect URI: exit %d, want 1", r.code)
	}
	list := e.ok("client", "list", "--json")
	if strings.Contains(list, *srv.ClientSecret) || strings.Contains(list, *web.ClientSecret) {
		t.Fatal("client list shows a secret")
	}
	var listed []client
	json.Unmarshal([]byte(list), &listed)
	if len(listed) != 3 {
		t.Errorf("listed %d clients, want 3", len(listed))
	}
	var rot struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	e.jsonOK(&rot, "client", "rotate-secret", srv.ClientID, "--json")
	if rot.ClientID != srv.ClientID || rot.ClientSecret == "" || rot.ClientSecret == *srv.ClientSecret {
		t.Errorf("rotate-secret = %+v", rot)
	}
	if r := e.run("", "client", "rotate-secret", mob.ClientID); r.code != 1 {
		t.Errorf("rotate-secret of a public client: exit %d, want 1", r.code)
	}
	e.ok("client", "delete", web.ClientID)
	json.Unmarshal([]byte(e.ok("client", "list", "--json")), &listed)
	if len(listed) != 2 {
		t.Errorf("after delete: %d clients, want 2", len(listed))
	}
}

func TestUserAdd(t *testing.T) {
	e := newEnv(t)
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %d %q", r.code, r.stderr)
	}
	if r := e.run("another password\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 1 {
		t.Errorf("duplicate user: exit %d, want 1", r.code)
	}
	if r := e.run("short\n", "user", "add", "--username", "bob", "--password-stdin"); r.code != 1 {
		t.Errorf("short password: exit %d, want 1", r.code)
	}
}

// server is a running `audexum serve`.
type server struct {
	url      string
	issuer   string // the tokens' "iss": --issuer, or url
	certFile string // the certificate the client trusts
	client   *http.Client
	cmd      *exec.Cmd
	stderr   *bytes.Buffer
	done     chan struct{}
	lines    chan string // further stdout lines
}

// startServer runs serve on a free port and waits for its ready line.
func (e *env) startServer(extra ...string) *server {
	e.t.Helper()
	s := e.launchServer(extra...)
	if err := s.waitReady(60 * time.Second); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// launchServer starts serve on a free port without waiting for it, so
// tests can start several at the same moment; waitReady waits.
func (e *env) launchServer(extra ...string) *server {
	e.t.Helper()
	issuer := ""
	if strings.HasPrefix(e.db, "postgres") && !slices.Contains(extra, "--issuer") {
		// Required on PostgreSQL, where instances share one issuer.
		issuer = "https://audexum.test"
		extra = append(extra, "--issuer", issuer)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(binary, append(args, e.flags()...)...)
	cmd.Env = e.cmdEnv()
	return launchCmd(e.t, cmd, issuer, filepath.Join(e.dataDir, "tls-cert.pem"))
}

// startServerCmd starts cmd, a serve on a free port, and waits for its
// ready line. issuer is its --issuer, if any; certFile is the
// certificate its clients trust.
func startServerCmd(t *testing.T, cmd *exec.Cmd, issuer, certFile string) *server {
	t.Helper()
	s := launchCmd(t, cmd, issuer, certFile)
	if err := s.waitReady(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

// launchCmd starts cmd, a serve, and returns at once.
func launchCmd(t *testing.T, cmd *exec.Cmd, issuer, certFile string) *server {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{}), issuer: issuer, certFile: certFile}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	s.lines = lines
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// waitReady waits for serve's ready line and makes the server's client,
// which trusts its certificate file.
func (s *server) waitReady(within time.Duration) error {
	select {
	case line := <-s.lines:
		u, ok := strings.CutPrefix(line, "listening on ")
		if !ok || !strings.HasPrefix(u, "https://127.0.0.1:") {
			return fmt.Errorf("ready line = %q", line)
		}
		s.url = u
		if s.issuer == "" {
			s.issuer = u
		}
	case <-s.done:
		return fmt.Errorf("serve exited early: %s", s.stderr)
	case <-time.After(within):
		return fmt.Errorf("serve not ready after %v: %s", within, s.stderr)
	}
	pem, err := os.ReadFile(s.certFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s.client = &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	return nil
}

func (s *server) stop(t *testing.T) {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("serve did not stop within 20s of SIGTERM")
	}
}

func (s *server) do(t *testing.T, method, path, bearer string, body io.Reader) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), method, s.url+path, body)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
