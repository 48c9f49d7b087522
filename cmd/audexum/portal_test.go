package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/sqlstore"
)

// The Developer Portal through the built binary, in the README's order:
// serve first, then the account with the CLI, then the portal. These
// tests use plain HTTP forms with a cookie jar, as a script would, so
// they also prove that no page needs JavaScript; the browser tests
// (portal_browser_test.go) walk the same journey in Chromium.

// usageFlush bounds how long serve takes to write request and failure
// counts (it flushes every 10 s) and the portal to show them.
const usageFlush = 20 * time.Second

// portalClient is a browser without JavaScript: a cookie jar, redirects
// followed, and only what the pages hold (their forms and links).
type portalClient struct {
	t    *testing.T
	base string // https://HOST:PORT
	c    *http.Client
}

// newPortalClient returns a portalClient for s, trusting its certificate.
func newPortalClient(t *testing.T, s *server) *portalClient {
	t.Helper()
	return newPortalClientFor(t, s.url, s.client.Transport)
}

func newPortalClientFor(t *testing.T, base string, tr http.RoundTripper) *portalClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	return &portalClient{t: t, base: base, c: c}
}

// portalPage is a response, read, and where it was answered after
// redirects.
type portalPage struct {
	status int
	path   string
	body   string
}

func (pc *portalClient) do(req *http.Request) portalPage {
	pc.t.Helper()
	resp, err := pc.c.Do(req)
	if err != nil {
		pc.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		pc.t.Fatal(err)
	}
	return portalPage{status: resp.StatusCode, path: resp.Request.URL.Path, body: string(b)}
}

func (pc *portalClient) get(path string) portalPage {
	pc.t.Helper()
	req, err := http.NewRequest(http.MethodGet, pc.base+path, nil)
	if err != nil {
		pc.t.Fatal(err)
	}
	return pc.do(req)
}

// follow opens the link to href that pg has.
func (pc *portalClient) follow(pg portalPage, href string) portalPage {
	pc.t.Helper()
	if !strings.Contains(pg.body, `href="`+html.EscapeString(href)+`"`) {
		pc.t.Fatalf("%s has no link to %s:\n%s", pg.path, href, pg.body)
	}
	return pc.get(href)
}

var (
	formRE  = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
	fieldRE = regexp.MustCompile(`<(?:input|select|textarea|button)\b[^>]*>`)
	attrRE  = regexp.MustCompile(`\s([a-z-]+)(?:="([^"]*)")?`)
)

// submit posts the form of pg whose action is action, as a browser would:
// its hidden fields, and fields set by the person, each of which must be
// a control of that form (so the test cannot post what the page does not
// offer).
func (pc *portalClient) submit(pg portalPage, action string, fields url.Values) portalPage {
	pc.t.Helper()
	var form string
	for _, m := range formRE.FindAllStringSubmatch(pg.body, -1) {
		if html.UnescapeString(m[1]) == action {
			form = m[2]
			break
		}
	}
	if form == "" {
		pc.t.Fatalf("%s has no form posting to %s:\n%s", pg.path, action, pg.body)
	}
	names := map[string]bool{}
	values := url.Values{}
	for _, tag := range fieldRE.FindAllString(form, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if name := attrs["name"]; name != "" {
			names[name] = true
			if attrs["type"] == "hidden" {
				values.Add(name, attrs["value"])
			}
		}
	}
	for name, vs := range fields {
		if !names[name] {
			pc.t.Fatalf("the form posting to %s on %s has no field %q", action, pg.path, name)
		}
		values[name] = vs
	}
	req, err := http.NewRequest(http.MethodPost, pc.base+action, strings.NewReader(values.Encode()))
	if err != nil {
		pc.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return pc.do(req)
}

// signIn signs in from the portal's front door.
func (pc *portalClient) signIn(username, password string) {
	pc.t.Helper()
	pg := pc.get("/portal/")
	if pg.path != "/portal/signin" {
		pc.t.Fatalf("/portal/ without a session: at %s, want /portal/signin", pg.path)
	}
	pg = pc.submit(pg, "/portal/signin", url.Values{"username": {username}, "password": {password}})
	if pg.status != 200 || pg.path != "/portal/keys" {
		pc.t.Fatalf("sign in as %s: %d at %s, want 200 at /portal/keys\n%s", username, pg.status, pg.path, pg.body)
	}
}

var (
	newSecretRE = regexp.MustCompile(`id="new-secret">([^<]+)<`)
	clientIDRE  = regexp.MustCompile(`id="client-id">([^<]+)<`)
	keyIDRE     = regexp.MustCompile(`<dt>Key ID</dt><dd><code>([^<]+)</code>`)
	barRE       = regexp.MustCompile(`<rect [^>]*data-series="([^"]*)" data-value="(\d+)"`)
)

// pageSecret returns the secret a page shows once, or "".
func pageSecret(body string) string {
	if m := newSecretRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func mustMatch(t *testing.T, what string, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s: no match for %s in\n%s", what, re, body)
	}
	return html.UnescapeString(m[1])
}

// chartTotals sums the bars of the chart with the given ID on a
// monitoring page, by series.
func chartTotals(body, id string) map[string]int64 {
	out := map[string]int64{}
	for _, fig := range strings.Split(body, `<figure class="chart">`)[1:] {
		if !strings.Contains(fig, `id="`+id+`-title"`) {
			continue
		}
		for _, m := range barRE.FindAllStringSubmatch(fig, -1) {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			out[html.UnescapeString(m[1])] += n
		}
	}
	return out
}

// call sends a request with a bearer credential from client c and
// returns the status.
func call(t *testing.T, c *http.Client, method, u, bearer string) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// portalAuditEvent is one row of `audit --json` the portal made.
type portalAuditEvent struct {
	Kind, Action, SubjectID string
}

// auditByActor returns the audit trail's events of actor.
func auditByActor(t *testing.T, e *env, actor string) []portalAuditEvent {
	t.Helper()
	var out auditJSON
	e.jsonOK(&out, "audit", "--since", "1h", "--json")
	var evs []portalAuditEvent
	for _, ev := range out.Events {
		if ev.Actor == actor {
			evs = append(evs, portalAuditEvent{ev.Kind, ev.Action, ev.SubjectID})
		}
	}
	return evs
}

// TestPortalWithoutBrowser: the journey with forms and links
// only. ann (added with the CLI while serve runs) signs in, generates a
// key and reads it once, calls the API with it, registers a web
// application with two redirect URIs and a server one, gets a
// client-credentials token that reads /v1/data and her profile at once,
// sees her failed calls in the Monitoring charts, revokes the key (refused
// within 2 s), changes her password and signs out; every change is in
// `audexum audit` as portal:ann.
func TestPortalWithoutBrowser(t *testing.T) {
	e := newBareEnv(t)
	s := e.startServer()
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	pc := newPortalClient(t, s)
	pc.signIn("ann", "correct horse battery")

	// Generate a key; it is on the page that answers the form, once.
	pg := pc.follow(pc.get("/portal/keys"), "/portal/keys/new")
	pg = pc.submit(pg, "/portal/keys", url.Values{"name": {"reporting"}, "scope": {"data:read", "profile:read"}, "expires": {"90"}})
	key := pageSecret(pg.body)
	if pg.status != 200 || !keyRE.MatchString(key) {
		t.Fatalf("generate: %d, key %q\n%s", pg.status, key, pg.body)
	}
	keyID := mustMatch(t, "generate", keyIDRE, pg.body)
	for _, path := range []string{"/portal/keys", "/portal/keys/" + keyID, "/portal/monitoring"} {
		if pg := pc.get(path); pg.status != 200 || !strings.Contains(pg.body, keyID) || strings.Contains(pg.body, key) {
			t.Errorf("%s after generating: %d, want 200 with the key ID and without the key", path, pg.status)
		}
	}
	// The key works at once: the portal's Manager is the API's.
	if code, body, _ := s.do(t, "GET", "/v1/data", key, nil); code != 200 {
		t.Fatalf("/v1/data with the portal's key: %d %s", code, body)
	}
	if code, body, _ := s.do(t, "GET", "/v1/user/profile", key, nil); code != 200 || !strings.Contains(body, `"username":"ann"`) {
		t.Errorf("/v1/user/profile with the portal's key: %d %s, want ann's", code, body)
	}

	// A web application with two redirect URIs: its ID and secret, once.
	pg = pc.follow(pc.get("/portal/apps"), "/portal/apps/new")
	pg = pc.submit(pg, "/portal/apps", url.Values{"name": {"Photo Printer"}, "type": {"web"}, "action": {"register"},
		"redirect_uri": {"https://printer.example/callback", "http://127.0.0.1:8080/callback"}, "scope": {"profile:read"}})
	webID, webSecret := mustMatch(t, "register web", clientIDRE, pg.body), pageSecret(pg.body)
	if pg.status != 200 || !strings.HasPrefix(webSecret, "adxcs_") {
		t.Fatalf("register web application: %d, secret %q\n%s", pg.status, webSecret, pg.body)
	}
	var listed []ownedClient
	e.jsonOK(&listed, "client", "list", "--json")
	if i := slices.IndexFunc(listed, func(c ownedClient) bool { return c.ClientID == webID }); i < 0 ||
		!slices.Equal(listed[i].RedirectURIs, []string{"https://printer.example/callback", "http://127.0.0.1:8080/callback"}) ||
		!strings.HasPrefix(listed[i].Owner, "usr_") {
		t.Errorf("client list has the web application as %+v", listed)
	}

	// A server application: a client-credentials token reads the data
	// and ann's profile at once, without a restart.
	pg = pc.follow(pc.get("/portal/apps"), "/portal/apps/new")
	pg = pc.submit(pg, "/portal/apps", url.Values{"name": {"backend"}, "type": {"server"}, "action": {"register"},
		"scope": {"data:read", "profile:read"}})
	srvID, srvSecret := mustMatch(t, "register server", clientIDRE, pg.body), pageSecret(pg.body)
	code, body := post(t, s.client, s.url+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {srvID}, "client_secret": {srvSecret}})
	if code != 200 {
		t.Fatalf("client-credentials token for the portal's server application: %d %s", code, body)
	}
	tok := accessToken(body)
	if code, body, _ := s.do(t, "GET", "/v1/data", tok, nil); code != 200 {
		t.Errorf("/v1/data with the server application's token: %d %s", code, body)
	}
	if code, body, _ := s.do(t, "GET", "/v1/user/profile", tok, nil); code != 200 || !strings.Contains(body, `"username":"ann"`) {
		t.Errorf("/v1/user/profile with the server application's token: %d %s, want ann's", code, body)
	}

	// Failed calls, from a network of their own: writing with read-only
	// credentials.
	other := s.from("127.0.0.31")
	for range 3 {
		if code := call(t, other, "POST", s.url+"/v1/data", key); code != 403 {
			t.Fatalf("POST /v1/data with a data:read key: %d, want 403", code)
		}
	}
	for range 2 {
		if code := call(t, other, "POST", s.url+"/v1/data", tok); code != 403 {
			t.Fatalf("POST /v1/data with a data:read token: %d, want 403", code)
		}
	}
	// Requests are those the credential authenticated: the refused ones
	// too (2 + 3 with the key, 2 + 2 with the token).
	checkMonitoring(t, pc, "/portal/monitoring/keys/"+keyID, 5, 3)
	checkMonitoring(t, pc, "/portal/monitoring/apps/"+srvID, 4, 2)

	// Revoke, after the confirmation page. The issue asks for 2 s; the
	// API's verifier is told by the Manager the portal revokes with, so
	// the very next request is refused (other instances take the change
	// log's bound: TestPortalReachesOtherInstances).
	pg = pc.follow(pc.get("/portal/keys/"+keyID), "/portal/keys/"+keyID+"/revoke")
	// Used just before, so the verifier's cache holds the key.
	if code, body, _ := s.do(t, "GET", "/v1/data", key, nil); code != 200 {
		t.Fatalf("/v1/data with the key before revoking it: %d %s", code, body)
	}
	pg = pc.submit(pg, "/portal/keys/"+keyID+"/revoke", nil)
	if pg.status != 200 || !strings.Contains(pg.body, "Revoked") {
		t.Fatalf("revoke: %d at %s\n%s", pg.status, pg.path, pg.body)
	}
	if code, body, _ := s.do(t, "GET", "/v1/data", key, nil); code != 401 {
		t.Errorf("the next request with the revoked key: %d %s, want 401", code, body)
	}

	// Account: a new password, then sign out.
	pg = pc.get("/portal/account")
	pg = pc.submit(pg, "/portal/account/password", url.Values{"current": {"correct horse battery"},
		"password": {"a longer passphrase"}, "confirm": {"a longer passphrase"}})
	if !strings.Contains(pg.body, "Your password was changed") {
		t.Fatalf("change password: %d at %s\n%s", pg.status, pg.path, pg.body)
	}
	if pg = pc.submit(pg, "/portal/signout", nil); pg.path != "/portal/signin" {
		t.Errorf("sign out: at %s", pg.path)
	}
	if pg = pc.get("/portal/keys"); pg.path != "/portal/signin" {
		t.Errorf("after signing out, /portal/keys is at %s", pg.path)
	}
	pc.signIn("ann", "a longer passphrase")

	// Who did what: the portal, as ann.
	annID := listed[slices.IndexFunc(listed, func(c ownedClient) bool { return c.ClientID == webID })].Owner
	got := auditByActor(t, e, "portal:ann")
	for _, want := range []portalAuditEvent{
		{"api_key", "created", keyID},
		{"oauth_client", "created", webID},
		{"oauth_client", "created", srvID},
		{"api_key", "revoked", keyID},
		{"user", "password_changed", annID},
	} {
		if !slices.Contains(got, want) {
			t.Errorf("audit: no %+v by portal:ann; portal:ann did %+v", want, got)
		}
	}
}

// checkMonitoring waits for the monitoring page at path to show requests
// and insufficient_scope failures, as serve records them off the request
// path.
func checkMonitoring(t *testing.T, pc *portalClient, path string, requests, failures int64) {
	t.Helper()
	var day, fails map[string]int64
	var pg portalPage
	eventually(t, usageFlush, path+" shows the calls", func() bool {
		pg = pc.get(path)
		day, fails = chartTotals(pg.body, "day-requests"), chartTotals(pg.body, "day-failures")
		return day["requests"] >= requests && fails["insufficient_scope"] >= failures
	})
	if day["requests"] != requests || fails["insufficient_scope"] != failures {
		t.Errorf("%s charts: requests %v, failures %v; want %d requests and %d insufficient_scope", path, day, fails, requests, failures)
	}
	if month := chartTotals(pg.body, "month-failures"); month["insufficient_scope"] != failures {
		t.Errorf("%s: 30-day failures %v, want %d insufficient_scope", path, month, failures)
	}
	if !strings.Contains(pg.body, "<td>insufficient_scope</td><td><code>127.0.0.31/32</code></td>") {
		t.Errorf("%s: recent failures do not list insufficient_scope from 127.0.0.31\n%s", path, pg.body)
	}
}

// TestPortalMounted: /portal/ is served by serve, and only over HTTPS
// with the portal's headers.
func TestPortalMounted(t *testing.T) {
	e := newBareEnv(t)
	s := e.startServer()
	code, body, h := s.do(t, "GET", "/portal/signin", "", nil)
	if code != 200 || !strings.Contains(body, "<title>Sign in · Developer Portal</title>") {
		t.Fatalf("GET /portal/signin: %d\n%s", code, body)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("portal headers: %v", h)
	}
	if code, _, h := s.do(t, "GET", portal.MountPath, "", nil); code != http.StatusSeeOther || h.Get("Location") != "/portal/signin" {
		t.Errorf("GET /portal/: %d to %q, want 303 to /portal/signin", code, h.Get("Location"))
	}
	// Sign-up is off unless asked for.
	if code, _, _ := s.do(t, "GET", "/portal/signup", "", nil); code != 404 {
		t.Errorf("GET /portal/signup without --allow-signup: %d, want 404", code)
	}
}

// TestPortalSignUp: with serve --allow-signup, anyone creates an account
// at /portal/signup and is signed in; it is a user like those of `user
// add` (the username is then taken for both) and its creation is audited
// as the new account's.
func TestPortalSignUp(t *testing.T) {
	e := newBareEnv(t)
	s := e.startServer("--allow-signup")
	pc := newPortalClient(t, s)
	pg := pc.follow(pc.get("/portal/signin"), "/portal/signup")
	pg = pc.submit(pg, "/portal/signup", url.Values{"username": {"newbie"}, "password": {"a fine passphrase"}, "confirm": {"a fine passphrase"}})
	if pg.status != 200 || pg.path != "/portal/keys" || !strings.Contains(pg.body, "Signed in as <strong>newbie</strong>") {
		t.Fatalf("sign up: %d at %s\n%s", pg.status, pg.path, pg.body)
	}
	if r := e.run("another passphrase\n", "user", "add", "--username", "newbie", "--password-stdin"); r.code != 1 {
		t.Errorf("user add of a username taken at sign-up: exit %d, want 1", r.code)
	}
	got := auditByActor(t, e, "portal:newbie")
	if len(got) != 1 || got[0].Kind != "user" || got[0].Action != "created" {
		t.Errorf("audit of the sign-up: %+v, want one user created by portal:newbie", got)
	}
}

// TestPortalSignInsCountWithConsent: the portal's sign-in page and the
// consent page count failed passwords together, so a guesser gets no
// fresh allowance by switching pages: 3 wrong passwords for ann at the
// consent page and 2 in the portal, from one network, and the portal
// refuses that network the right one.
func TestPortalSignInsCountWithConsent(t *testing.T) {
	e := newBareEnv(t)
	s := e.startServer()
	form := signInForm(t, e, s, "ann")
	guesser := s.from("127.0.0.61")
	for i := range 3 {
		f := maps(form)
		f.Set("password", fmt.Sprintf("wrong %d", i))
		if code, _ := post(t, guesser, s.url+"/oauth/authorize", f); code != 200 {
			t.Fatalf("wrong password %d at the consent page: %d, want 200", i, code)
		}
	}
	pc := newPortalClientFor(t, s.url, guesser.Transport)
	for i := range 2 {
		pg := pc.submit(pc.get("/portal/signin"), "/portal/signin", url.Values{"username": {"ann"}, "password": {fmt.Sprintf("wrong %d", i)}})
		if pg.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password %d in the portal: %d, want 422", i, pg.status)
		}
	}
	pg := pc.submit(pc.get("/portal/signin"), "/portal/signin", url.Values{"username": {"ann"}, "password": {"correct horse battery"}})
	if pg.status != http.StatusTooManyRequests {
		t.Errorf("the right password after 5 failures on both pages: %d at %s, want 429", pg.status, pg.path)
	}
	// Another network is not affected.
	newPortalClientFor(t, s.url, s.from("127.0.0.62").Transport).signIn("ann", "correct horse battery")
}

// TestPortalReachesOtherInstances: two instances on one PostgreSQL
// database; what the portal of one does, the other applies within the
// change log's bound, as it does the CLI's changes.
func TestPortalReachesOtherInstances(t *testing.T) {
	e := newPostgresEnv(t)
	e2 := &env{t: t, dataDir: e.dataDir, db: e.db, environ: e.environ}
	s1 := e.startServer()
	s2 := e2.startServer()
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	pc := newPortalClient(t, s1)
	pc.signIn("ann", "correct horse battery")
	pg := pc.submit(pc.get("/portal/keys/new"), "/portal/keys", url.Values{"name": {"k"}, "scope": {"data:read"}, "expires": {"30"}})
	key, keyID := pageSecret(pg.body), mustMatch(t, "generate", keyIDRE, pg.body)
	// Looked up at instance 2 first, so a stale cache would show.
	if code, _, _ := s2.do(t, "GET", "/v1/data", key, nil); code != 200 {
		t.Fatalf("instance 2, key made in instance 1's portal: %d, want 200", code)
	}
	pg = pc.submit(pc.get("/portal/apps/new"), "/portal/apps", url.Values{"name": {"backend"}, "type": {"server"},
		"action": {"register"}, "scope": {"data:read"}})
	appID, appSecret := mustMatch(t, "register", clientIDRE, pg.body), pageSecret(pg.body)
	code, body := post(t, s2.client, s2.url+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {appSecret}})
	if code != 200 {
		t.Fatalf("instance 2, token for an application registered in instance 1's portal: %d %s", code, body)
	}
	tok := accessToken(body)
	if code, _, _ := s2.do(t, "GET", "/v1/data", tok, nil); code != 200 {
		t.Fatalf("instance 2, its token: %d", code)
	}

	pc.submit(pc.get("/portal/keys/"+keyID+"/revoke"), "/portal/keys/"+keyID+"/revoke", nil)
	within(t, propagationBound, "instance 2 refuses the key revoked in instance 1's portal", func() bool {
		code, _, _ := s2.do(t, "GET", "/v1/data", key, nil)
		return code == 401
	})
	pc.submit(pc.get("/portal/apps/"+appID+"/delete"), "/portal/apps/"+appID+"/delete", nil)
	within(t, propagationBound, "instance 2 refuses the token of the application deleted in instance 1's portal", func() bool {
		code, _, _ := s2.do(t, "GET", "/v1/data", tok, nil)
		return code == 401
	})
}

// TestPortalGlue: the adapters of portal.go on a real SQLite store, for
// what the journey cannot reach: a sign-in whose password changed between
// its check and its session gets no session; the errors the portal
// chooses its answer by; usage with throttling counted apart, in the
// windows the portal asks for.
func TestPortalGlue(t *testing.T) {
	ctx := context.Background()
	sys, err := openSystem(ctx, common{dataDir: newEnv(t).dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	if _, err := sys.users.add(ctx, "ann", "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	accounts := portalAccounts{users: sys.users}
	sessions := &portalSessions{store: sys.store.Sessions(), idle: portal.DefaultIdleTimeout}

	for _, try := range []struct{ user, pass string }{{"ann", "wrong password"}, {"nobody", "correct horse battery"}} {
		if _, err := accounts.Authenticate(ctx, try.user, try.pass); !errors.Is(err, portal.ErrBadCredentials) {
			t.Errorf("Authenticate(%q, %q): %v, want ErrBadCredentials", try.user, try.pass, err)
		}
	}
	ann, err := accounts.Authenticate(ctx, "ann", "correct horse battery")
	if err != nil || ann.Username != "ann" || ann.PasswordStamp == "" {
		t.Fatalf("Authenticate: %+v, %v", ann, err)
	}
	now := time.Now()
	session := func(name string, stamp string) portal.Session {
		return portal.Session{Hash: sha256.Sum256([]byte(name)), AccountID: ann.ID, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(time.Hour), PasswordStamp: stamp}
	}
	laptop := session("laptop", ann.PasswordStamp)
	if err := sessions.CreateSession(ctx, laptop); err != nil {
		t.Fatalf("CreateSession with the verified password's stamp: %v", err)
	}
	if got, err := sessions.Session(ctx, laptop.Hash); err != nil || got.AccountID != ann.ID {
		t.Fatalf("Session: %+v, %v", got, err)
	}

	// A second sign-in checks the password; the password changes (in
	// the laptop's session) before that sign-in creates its session.
	phone, err := accounts.Authenticate(ctx, "ann", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		current, next string
		want          error
	}{
		{"wrong password", "a new passphrase", portal.ErrBadCredentials},
		{"correct horse battery", "short", portal.ErrInvalidPassword},
		{"correct horse battery", "a new passphrase", nil},
	} {
		if err := accounts.ChangePassword(sqlstore.WithActor(ctx, "portal:ann"), ann.ID, tt.current, tt.next); !errors.Is(err, tt.want) {
			t.Errorf("ChangePassword(%q, %q): %v, want %v", tt.current, tt.next, err, tt.want)
		}
	}
	if err := sessions.CreateSession(ctx, session("phone", phone.PasswordStamp)); !errors.Is(err, portal.ErrBadCredentials) {
		t.Errorf("CreateSession after a password change, with the old password's stamp: %v, want ErrBadCredentials", err)
	}
	if _, err := sessions.Session(ctx, sha256.Sum256([]byte("phone"))); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("the refused session: %v, want ErrNotFound", err)
	}
	// Sign-up's session has no stamp.
	if err := sessions.CreateSession(ctx, session("new", "")); err != nil {
		t.Errorf("CreateSession without a stamp: %v", err)
	}
	if err := sessions.DeleteOtherSessions(ctx, ann.ID, laptop.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Session(ctx, sha256.Sum256([]byte("new"))); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("another session after DeleteOtherSessions: %v, want ErrNotFound", err)
	}
	if _, err := sessions.Session(ctx, laptop.Hash); err != nil {
		t.Errorf("the kept session: %v", err)
	}
	if _, err := accounts.Account(ctx, "usr_nobody"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("Account of an unknown ID: %v, want ErrNotFound", err)
	}
	if _, err := accounts.CreateAccount(ctx, "ann", "another passphrase"); !errors.Is(err, portal.ErrUsernameTaken) {
		t.Errorf("CreateAccount of a taken username: %v, want ErrUsernameTaken", err)
	}

	// Usage: requests, failures and refusals for too many attempts in
	// this hour and the one before.
	audit := sys.store.AuditLog()
	hour := now.UTC().Truncate(time.Hour)
	if err := audit.AddRequests(ctx, []sqlstore.RequestCount{{Hour: hour, CredentialID: "K1", Count: 7}, {Hour: hour.Add(-time.Hour), CredentialID: "K1", Count: 2}}); err != nil {
		t.Fatal(err)
	}
	if err := audit.AddFailures(ctx, []sqlstore.FailureCount{
		{Minute: hour, KeyID: "K1", Reason: "insufficient_scope", Count: 3},
		{Minute: hour, KeyID: "K1", Reason: "throttled", Count: 4},
		{Minute: hour, KeyID: "K1", Reason: "rate_limited", Count: 5},
	}); err != nil {
		t.Fatal(err)
	}
	usage := portalUsage{audit: audit}
	c := portal.Credential{Kind: portal.KindKey, ID: "K1"}
	hourFrom := hour.Add(-23 * time.Hour)
	bs, err := usage.Buckets(ctx, c, hourFrom, time.Hour, 24)
	if err != nil || len(bs) != 24 || !bs[0].Start.Equal(hourFrom) {
		t.Fatalf("hourly Buckets: %d buckets from %v (%v), want 24 from %v", len(bs), bs[0].Start, err, hourFrom)
	}
	last := bs[23]
	if last.Requests != 7 || last.Throttled != 9 || len(last.Failures) != 1 || last.Failures["insufficient_scope"] != 3 || bs[22].Requests != 2 {
		t.Errorf("this hour: %+v (the hour before: %+v); want 7 requests, 9 throttled, 3 insufficient_scope", last, bs[22])
	}
	dayFrom := hour.Truncate(24*time.Hour).AddDate(0, 0, -29)
	bs, err = usage.Buckets(ctx, c, dayFrom, 24*time.Hour, 30)
	if err != nil || len(bs) != 30 || !bs[0].Start.Equal(dayFrom) {
		t.Fatalf("daily Buckets: %d (%v)", len(bs), err)
	}
	if _, err := usage.Buckets(ctx, c, hourFrom, time.Minute, 60); err == nil {
		t.Error("Buckets by the minute: no error")
	}

	for _, tt := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2::/64", "2001:db8:1:2::/64"},
		{"unknown", "invalid Prefix"},
	} {
		if got := parseNetwork(tt.in).String(); got != tt.want {
			t.Errorf("parseNetwork(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
