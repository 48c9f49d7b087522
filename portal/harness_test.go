package portal_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/portal/portaltest"
)

// The tests drive the portal as a script would: a real http.Client with a
// cookie jar against an httptest TLS server, following redirects, posting
// the forms the pages hold. No page needs a script to work, or these
// tests could not pass.

var catalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "change your data"},
	{Name: "profile:read", Description: "read your profile"},
})

// start is the test clock's start: a Tuesday at 10:20:30 UTC, so the hour
// and day windows are partly over.
var start = time.Date(2026, 3, 10, 10, 20, 30, 0, time.UTC)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is a portal on an httptest TLS server with a portaltest store.
type harness struct {
	t          *testing.T
	st         *portaltest.Store
	alice, bob portal.Account
	clock      *clock
	srv        *httptest.Server

	mu   sync.Mutex
	errs []error
}

// newHarness starts a portal with alice and bob (passwords
// "alice-password", "bob-password"); edit changes the Config first.
func newHarness(t *testing.T, edit func(*portal.Config)) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: start}}
	h.st = portaltest.New(h.clock.Now)
	h.alice = h.st.AddAccount("alice", "alice-password")
	h.bob = h.st.AddAccount("bob", "bob-password")
	counter, err := auth.NewAttemptCounter(auth.AttemptCounterConfig{
		Name:               "password",
		PerNetwork:         auth.AttemptLimit{Max: 30, Window: 15 * time.Minute},
		PerIdentityNetwork: auth.AttemptLimit{Max: 5, Window: 15 * time.Minute},
		Now:                h.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := portal.Config{
		Accounts: h.st, Sessions: h.st, Keys: h.st, Applications: h.st, Usage: h.st,
		ScopeCatalog:   catalog,
		WithActor:      portaltest.WithActor,
		SignInAttempts: counter,
		Now:            h.clock.Now,
		OnError: func(r *http.Request, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.errs = append(h.errs, err)
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	p, err := portal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(portal.MountPath, p)
	h.srv = httptest.NewTLSServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) errors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.errs...)
}

// browser is one client with its own cookies.
type browser struct {
	t      *testing.T
	h      *harness
	c      *http.Client
	header http.Header // added to every request
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	// A copy: srv.Client() is one client shared by every caller.
	c := *h.srv.Client()
	c.Jar = jar
	return &browser{t: h.t, h: h, c: &c, header: http.Header{}}
}

// noRedirects makes the browser stop at redirects, to look at them.
func (b *browser) noRedirects() *browser {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: b.t, h: b.h, c: &c, header: b.header}
}

// page is a response, read.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // after redirects
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), url: resp.Request.URL}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.send(http.MethodPost, path, form)
}

func (b *browser) send(method, path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(method, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in and checks it worked.
func (b *browser) signIn(username, password string) {
	b.t.Helper()
	pg := b.post("/portal/signin", url.Values{"username": {username}, "password": {password}})
	if pg.status != http.StatusOK || pg.url.Path != "/portal/keys" {
		b.t.Fatalf("sign in as %s: got %d at %s, want 200 at /portal/keys\n%s", username, pg.status, pg.url.Path, pg.body)
	}
}

// cookie returns the browser's session cookie value, or "".
func (b *browser) cookie() string {
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == portal.CookieName {
			return c.Value
		}
	}
	return ""
}

// setCookie puts a session cookie value in the browser's jar.
func (b *browser) setCookie(value string) {
	u, _ := url.Parse(b.h.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: portal.CookieName, Value: value, Path: "/", Secure: true}})
}

var (
	titleRE  = regexp.MustCompile(`<title>([^<]*)</title>`)
	secretRE = regexp.MustCompile(`id="new-secret">([^<]+)<`)
)

func title(body string) string {
	m := titleRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// secret returns the secret a page shows once, or "".
func secret(body string) string {
	m := secretRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// only returns the one record of list, failing the test otherwise.
func only[T any](t *testing.T, list []T, err error) T {
	t.Helper()
	if err != nil || len(list) != 1 {
		t.Fatalf("got %d records (%v), want 1", len(list), err)
	}
	return list[0]
}

func wantStatus(t *testing.T, what string, pg page, want int) {
	t.Helper()
	if pg.status != want {
		t.Fatalf("%s: got status %d, want %d\n%s", what, pg.status, want, pg.body)
	}
}

func wantContains(t *testing.T, what string, pg page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(pg.body, s) {
			t.Errorf("%s: page does not contain %q\n%s", what, s, pg.body)
		}
	}
}

func wantNotContains(t *testing.T, what string, pg page, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(pg.body, s) {
			t.Errorf("%s: page contains %q", what, s)
		}
	}
}
