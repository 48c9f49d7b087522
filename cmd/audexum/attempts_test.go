package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// The attacks of the attempt-limiter issue, tried against a running
// server the way an attacker would: each actor sends from its own loopback
// address (127.0.0.0/8 is all local on Linux), so each is its own client
// network.

// from returns a client of s whose connections come from the loopback
// address ip.
func (s *server) from(ip string) *http.Client {
	tr := s.client.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr.DialContext = d.DialContext
	tr.MaxIdleConnsPerHost = 200
	c := *s.client
	c.Transport = tr
	return &c
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Errorf("POST %s: %v", u, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricsURL reads serve's second stdout line.
func (s *server) metricsURL(t *testing.T) string {
	t.Helper()
	line := <-s.lines
	u, ok := strings.CutPrefix(line, "metrics on ")
	if !ok {
		t.Fatalf("second line = %q, want \"metrics on …\"", line)
	}
	return u + "/metrics"
}

// scrape returns the value of one sample of the metrics page.
func scrape(t *testing.T, metricsURL, sample string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signInForm registers a web client and a user and returns the consent
// form for them, filled in but for the password.
func signInForm(t *testing.T, e *env, s *server, username string) url.Values {
	t.Helper()
	if r := e.run("correct horse battery\n", "user", "add", "--username", username, "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	var c client
	e.jsonOK(&c, "client", "create", "--name", "Photo Printer", "--type", "web",
		"--redirect-uri", "https://printer.example/callback", "--scope", "profile:read", "--json")
	conf := oauth2.Config{
		ClientID: c.ClientID, RedirectURL: "https://printer.example/callback", Scopes: []string{"profile:read"},
		Endpoint: oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize"},
	}
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	var page string
	// The client was created after serve started: it may take the change
	// log's delay to be known.
	eventually(t, 3*time.Second, "consent page for a new client", func() bool {
		var code int
		code, page, _ = s.do(t, "GET", strings.TrimPrefix(authURL, s.url), "", nil)
		return code == 200
	})
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	form.Set("username", username)
	form.Set("decision", "allow")
	return form
}

// TestSignInBurst: 150 concurrent wrong passwords for one user from one
// network evaluate at most 5 (the limit), the right password after them
// is refused, and the same user from another network signs in at once.
func TestSignInBurst(t *testing.T) {
	e := newEnv(t)
	s := e.startServer("--metrics-addr", "127.0.0.1:0")
	metrics := s.metricsURL(t)
	form := signInForm(t, e, s, "ann")
	attacker, owner := s.from("127.0.0.2"), s.from("127.0.0.3")
	authorize := s.url + "/oauth/authorize"

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 150 {
		f := maps(form)
		f.Set("password", fmt.Sprintf("wrong guess %d", i))
		wg.Go(func() {
			code, _ := post(t, attacker, authorize, f)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	right := maps(form)
	right.Set("password", "correct horse battery")
	if code, body := post(t, attacker, authorize, right); code != 429 || !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("right password after the burst, same network: %d, want 429", code)
	}
	evaluated := scrape(t, metrics, `audexum_sign_ins_total{outcome="wrong"}`) + scrape(t, metrics, `audexum_sign_ins_total{outcome="ok"}`)
	if evaluated > 5 || evaluated < 1 {
		t.Errorf("passwords checked = %v, want 1 to 5 (responses: %v)", evaluated, codes)
	}
	if codes[200]+codes[429] != 150 || codes[200] > 5 {
		t.Errorf("responses to the burst = %v, want at most 5 pages and the rest 429", codes)
	}
	// The owner, elsewhere, is not locked out by the attacker.
	if code, _ := post(t, owner, authorize, right); code != 303 {
		t.Errorf("owner from another network: %d, want 303 (signed in)", code)
	}
}

// TestClientSecretGuessingLocksOutNobodyElse: ten wrong secrets for a
// client from network A throttle network A, and the real client on
// network B still gets tokens.
func TestClientSecretGuessingLocksOutNobodyElse(t *testing.T) {
	e := newEnv(t)
	s := e.startServer()
	var c client
	e.jsonOK(&c, "client", "create", "--name", "backend", "--type", "server", "--scope", "data:read", "--json")
	a, b := s.from("127.0.0.4"), s.from("127.0.0.5")
	token := func(hc *http.Client, secret string) int {
		code, _ := post(t, hc, s.url+"/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {secret},
		})
		return code
	}
	eventually(t, 3*time.Second, "new client gets tokens", func() bool { return token(b, *c.ClientSecret) == 200 })
	for i := range 10 {
		if code := token(a, fmt.Sprintf("adxcs_wrong%d", i)); code != 401 {
			t.Fatalf("wrong secret %d from A: %d, want 401", i, code)
		}
	}
	if code := token(a, *c.ClientSecret); code != 429 {
		t.Errorf("right secret from A after 10 failures: %d, want 429", code)
	}
	for i := range 3 {
		if code := token(b, *c.ClientSecret); code != 200 {
			t.Errorf("real client from B, request %d: %d, want 200", i, code)
		}
	}
}

func maps(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TestSignInMemoryBounded: 10 000 sign-ins with 60 KB usernames, each
// from its own network, leave the Go heap less than 64 MB larger: no
// username, and nothing else of unbounded size, is kept.
func TestSignInMemoryBounded(t *testing.T) {
	ctx := context.Background()
	sys, err := openServeSystem(ctx, common{dataDir: newEnv(t).dataDir}, signingFlags{})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(ctx, sys, "https://127.0.0.1:8443", logger, newMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	c, _, err := sys.registry.Register(ctx, oauth.Registration{
		Name: "Photo Printer", Type: oauth.ClientWeb, RedirectURIs: []string{"https://printer.example/callback"},
		Scopes: auth.MustScopes("profile:read"),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := a.consentHandler()
	form := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://printer.example/callback"},
		"scope": {"profile:read"}, "state": {"st"}, "code_challenge": {strings.Repeat("A", 43)},
		"code_challenge_method": {"S256"}, "decision": {"allow"}, "password": {"whatever password"},
	}
	sizeOf := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := sizeOf()
	codes := map[int]int{}
	for i := range 10_000 {
		form.Set("username", strings.Repeat(string(rune('a'+i%26)), 60_000)+strconv.Itoa(i))
		r := httptest.NewRequest("POST", "/oauth/authorize", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if i%2 == 0 {
			r.RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1).String()
		} else {
			r.RemoteAddr = fmt.Sprintf("[2001:db8:%x:%x::1]:1", i>>16, i&0xffff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		codes[w.Code]++
	}
	after := sizeOf()
	if codes[200] != 10_000 {
		t.Errorf("responses = %v, want 10000 × 200 (the page again, wrong username or password)", codes)
	}
	growth := int64(after) - int64(before)
	t.Logf("heap: %d MB before, %d MB after 10 000 sign-ins with 60 KB usernames", before>>20, after>>20)
	if growth > 64<<20 {
		t.Errorf("heap grew by %d MB, want under 64 MB", growth>>20)
	}
}

// TestFailuresSharedAcrossInstances: two serve instances on one
// PostgreSQL database count failures as one.
func TestFailuresSharedAcrossInstances(t *testing.T) {
	e := newPostgresEnv(t)
	e2 := &env{t: t, dataDir: e.dataDir, db: e.db, environ: e.environ}
	s1 := e.startServer()
	s2 := e2.startServer()
	form := signInForm(t, e, s1, "ann")
	// Five wrong passwords at instance 1...
	c1, c2 := s1.from("127.0.0.6"), s2.from("127.0.0.6")
	for i := range 5 {
		f := maps(form)
		f.Set("password", fmt.Sprintf("wrong %d", i))
		if code, _ := post(t, c1, s1.url+"/oauth/authorize", f); code != 200 {
			t.Fatalf("wrong password %d at instance 1: %d, want 200", i, code)
		}
	}
	// ...and instance 2 refuses that network for ann, the right password too.
	right := maps(form)
	right.Set("password", "correct horse battery")
	if code, _ := post(t, c2, s2.url+"/oauth/authorize", right); code != 429 {
		t.Errorf("instance 2 after 5 failures at instance 1: %d, want 429", code)
	}
	// Client authentication failures too.
	var c client
	e.jsonOK(&c, "client", "create", "--name", "backend", "--type", "server", "--scope", "data:read", "--json")
	token := func(hc *http.Client, u, secret string) int {
		code, _ := post(t, hc, u+"/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {secret},
		})
		return code
	}
	a1, a2 := s1.from("127.0.0.7"), s2.from("127.0.0.7")
	for i := range 10 {
		if code := token(a1, s1.url, fmt.Sprintf("adxcs_wrong%d", i)); code != 401 {
			t.Fatalf("wrong secret %d at instance 1: %d, want 401", i, code)
		}
	}
	if code := token(a2, s2.url, *c.ClientSecret); code != 429 {
		t.Errorf("instance 2, same network, after 10 failures at instance 1: %d, want 429", code)
	}
}
