package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/portal/portaltest"
)

// seed gives alice a key and a web application, and returns their IDs.
func seed(t *testing.T, h *harness) (keyID, appID string) {
	t.Helper()
	b := h.browser()
	b.signIn("alice", "alice-password")
	wantStatus(t, "seed key", b.post("/portal/keys", url.Values{"name": {"alice key"}, "scope": {"data:read"}, "expires": {"30"}}), http.StatusOK)
	wantStatus(t, "seed app", b.post("/portal/apps", url.Values{"name": {"alice app"}, "type": {"web"},
		"redirect_uri": {"https://alice.example/cb"}, "scope": {"data:read"}}), http.StatusOK)
	ctx := context.Background()
	keys, err := h.st.ListKeys(ctx, h.alice.ID)
	k := only(t, keys, err)
	apps, err := h.st.ListApps(ctx, h.alice.ID)
	a := only(t, apps, err)
	return k.ID, a.ID
}

// postForms are every form of the portal with a body that would work,
// for a signed-in alice who owns keyID and appID.
func postForms(keyID, appID string) []struct {
	path string
	form url.Values
} {
	return []struct {
		path string
		form url.Values
	}{
		{"/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}}},
		{"/portal/signout", url.Values{}},
		{"/portal/signout-everywhere", url.Values{}},
		{"/portal/keys", url.Values{"name": {"k"}, "scope": {"data:read"}, "expires": {"90"}}},
		{"/portal/keys/" + keyID + "/rotate", url.Values{"grace": {"1h"}}},
		{"/portal/keys/" + keyID + "/revoke", url.Values{"confirm": {"yes"}}},
		{"/portal/apps", url.Values{"name": {"a"}, "type": {"server"}, "scope": {"data:read"}}},
		{"/portal/apps/" + appID + "/rotate", url.Values{"confirm": {"yes"}}},
		{"/portal/apps/" + appID + "/delete", url.Values{"confirm": {"yes"}}},
		{"/portal/account/password", url.Values{"current": {"alice-password"}, "password": {"new-password-1"}, "confirm": {"new-password-1"}}},
	}
}

// TestCrossSiteForms: every form posted from another site is refused with
// 403 and changes nothing; the same form from the portal's own pages
// works (so the refusal is about the origin, not the form).
func TestCrossSiteForms(t *testing.T) {
	hostile := []struct {
		name   string
		header http.Header
	}{
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		// A sibling subdomain is same-site but not same-origin.
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		// An older browser sends only Origin.
		{"Origin of another host", http.Header{"Origin": {"https://evil.example"}}},
	}
	for _, hs := range hostile {
		t.Run(hs.name, func(t *testing.T) {
			h := newHarness(t, nil)
			keyID, appID := seed(t, h)
			before := h.st.Actions()
			b := h.browser()
			b.signIn("alice", "alice-password")
			cookie := b.cookie()
			b.header = hs.header
			for _, f := range postForms(keyID, appID) {
				pg := b.noRedirects().post(f.path, f.form)
				if pg.status != http.StatusForbidden || !strings.Contains(pg.body, "came from another site") {
					t.Errorf("POST %s: got %d, want 403\n%s", f.path, pg.status, pg.body)
				}
				if pg.header.Get("Set-Cookie") != "" {
					t.Errorf("POST %s: set a cookie", f.path)
				}
			}
			if got := h.st.Actions(); len(got) != len(before)+1 { // alice's sign-in
				t.Errorf("actions after cross-site posts: %v", got[len(before):])
			}
			if b.cookie() != cookie {
				t.Error("the session cookie changed")
			}
		})
	}
	t.Run("same origin", func(t *testing.T) {
		h := newHarness(t, nil)
		keyID, appID := seed(t, h)
		b := h.browser()
		b.signIn("alice", "alice-password")
		b.header = http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {h.srv.URL}}
		for _, f := range postForms(keyID, appID) {
			if f.path == "/portal/signout" || f.path == "/portal/signout-everywhere" {
				continue
			}
			if pg := b.noRedirects().post(f.path, f.form); pg.status != http.StatusOK && pg.status != http.StatusSeeOther {
				t.Errorf("POST %s from the portal: got %d\n%s", f.path, pg.status, pg.body)
			}
		}
	})
}

// TestPageHeaders: every response, pages, redirects and failures alike,
// carries the policy headers.
func TestPageHeaders(t *testing.T) {
	h := newHarness(t, nil)
	keyID, appID := seed(t, h)
	anon := h.browser().noRedirects()
	b := h.browser()
	b.signIn("alice", "alice-password")
	nb := b.noRedirects()
	evil := h.browser().noRedirects()
	evil.header = http.Header{"Origin": {"https://evil.example"}}
	check := func(what string, pg page) {
		t.Helper()
		want := map[string]*regexp.Regexp{
			"Content-Security-Policy": regexp.MustCompile(`^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]{43}='; script-src 'sha256-[A-Za-z0-9+/]{43}='; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$`),
			"Cache-Control":           regexp.MustCompile(`^no-store$`),
			"Referrer-Policy":         regexp.MustCompile(`^no-referrer$`),
			"X-Frame-Options":         regexp.MustCompile(`^DENY$`),
			"X-Content-Type-Options":  regexp.MustCompile(`^nosniff$`),
		}
		for name, re := range want {
			if v := pg.header.Values(name); len(v) != 1 || !re.MatchString(v[0]) {
				t.Errorf("%s: %s is %q", what, name, v)
			}
		}
	}
	for _, path := range []string{"/portal/", "/portal/signin", "/portal/keys", "/portal/keys/new", "/portal/keys/" + keyID,
		"/portal/keys/" + keyID + "/rotate", "/portal/keys/" + keyID + "/revoke", "/portal/apps", "/portal/apps/new",
		"/portal/apps/" + appID, "/portal/apps/" + appID + "/rotate", "/portal/apps/" + appID + "/delete",
		"/portal/monitoring", "/portal/monitoring/keys/" + keyID, "/portal/monitoring/apps/" + appID, "/portal/account",
		"/portal/nothing", "/portal/keys/nothing", "/portal/signup"} {
		check("GET "+path, nb.get(path))
		check("anonymous GET "+path, anon.get(path))
	}
	check("POST key", nb.post("/portal/keys", url.Values{"name": {"k"}, "scope": {"data:read"}, "expires": {"7"}}))
	check("POST refused key form", nb.post("/portal/keys", url.Values{"name": {""}}))
	check("POST malformed", nb.post("/portal/keys", url.Values{"name": {"a", "b"}}))
	check("POST revoke", nb.post("/portal/keys/"+keyID+"/revoke", url.Values{"confirm": {"yes"}}))
	check("POST revoked again", nb.post("/portal/keys/"+keyID+"/revoke", url.Values{"confirm": {"yes"}}))
	check("cross-site POST", evil.post("/portal/keys", url.Values{}))
	check("wrong password", anon.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"wrong"}}))
	check("sign in", anon.post("/portal/signin", url.Values{"username": {"bob"}, "password": {"bob-password"}}))
	check("sign out", nb.post("/portal/signout", url.Values{}))
	for range 6 {
		anon.post("/portal/signin", url.Values{"username": {"carol"}, "password": {"wrong"}})
	}
	pg := anon.post("/portal/signin", url.Values{"username": {"carol"}, "password": {"wrong"}})
	wantStatus(t, "throttled", pg, http.StatusTooManyRequests)
	check("throttled", pg)
	h.st.SetError(errors.New("database down"))
	check("store down", nb.get("/portal/keys"))
}

// TestPlainHTTPRefused: the portal serves HTTPS only; over plain HTTP a
// password or a session cookie would cross the network in clear.
func TestPlainHTTPRefused(t *testing.T) {
	h := newHarness(t, nil)
	p, err := portal.New(portal.Config{Accounts: h.st, Sessions: h.st, Keys: h.st, Applications: h.st, Usage: h.st,
		ScopeCatalog: catalog, WithActor: func(ctx context.Context, _ string) context.Context { return ctx }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, srv.URL+"/portal/signin", strings.NewReader("username=alice&password=alice-password"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Location") != "" {
			t.Errorf("%s over HTTP: got %d %v, want 403 without cookie or redirect", method, resp.StatusCode, resp.Header)
		}
	}
}

// TestSessionCookie: the session cookie is __Host-, Secure, HttpOnly,
// SameSite=Lax, Path=/, without Domain or Max-Age, holds 256 random bits,
// and the store holds only its SHA-256.
func TestSessionCookie(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser().noRedirects()
	pg := b.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, "sign in", pg, http.StatusSeeOther)
	if loc := pg.header.Get("Location"); loc != "/portal/keys" {
		t.Errorf("sign in: Location %q", loc)
	}
	raw := pg.header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie: %q", raw)
	}
	c, err := http.ParseSetCookie(raw[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "__Host-portal-session" || c.Path != "/" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("session cookie: %q", raw[0])
	}
	id, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(id) != 32 {
		t.Errorf("session ID %q: not 32 bytes of base64url", c.Value)
	}
	sessions := h.st.Sessions()
	if len(sessions) != 1 || sessions[0].Hash != sha256.Sum256([]byte(c.Value)) || sessions[0].AccountID != h.alice.ID {
		t.Errorf("stored sessions: %+v", sessions)
	}
	for _, s := range sessions {
		if strings.Contains(string(s.Hash[:]), c.Value) {
			t.Error("the store holds the session ID")
		}
	}
	// Signing out deletes the cookie the same way.
	b.setCookie(c.Value)
	pg = b.post("/portal/signout", url.Values{})
	d, err := http.ParseSetCookie(pg.header.Get("Set-Cookie"))
	if err != nil || d.Name != c.Name || d.MaxAge >= 0 || !d.Secure || !d.HttpOnly || d.Path != "/" {
		t.Errorf("sign out: Set-Cookie %q", pg.header.Get("Set-Cookie"))
	}
	if len(h.st.Sessions()) != 0 {
		t.Error("sign out left the session in the store")
	}
}

// TestFixation: whatever session cookie a browser had before signing in
// (a made-up one, or an attacker's own live session planted in it), the
// signed-in session is a new one, and the planted one is dead.
func TestFixation(t *testing.T) {
	h := newHarness(t, nil)
	mallory := h.browser()
	mallory.signIn("bob", "bob-password") // bob plays the attacker
	planted := mallory.cookie()

	for _, pre := range []struct{ name, value string }{
		{"made up", strings.Repeat("A", 43)},
		{"attacker's live session", planted},
	} {
		t.Run(pre.name, func(t *testing.T) {
			victim := h.browser()
			victim.setCookie(pre.value)
			victim.signIn("alice", "alice-password")
			got := victim.cookie()
			if got == pre.value || got == "" {
				t.Fatalf("session after sign-in is the one set before it")
			}
			// The value set before is not alice's session.
			fixed := h.browser()
			fixed.setCookie(pre.value)
			pg := fixed.get("/portal/account")
			if strings.Contains(pg.body, "alice") {
				t.Errorf("the pre-set cookie signs in as alice")
			}
		})
	}
	// The attacker's planted session was ended by the victim's sign-in.
	if pg := mallory.get("/portal/keys"); pg.url.Path != "/portal/signin" {
		t.Errorf("planted session still alive: at %s", pg.url.Path)
	}
}

// TestSessionTimeouts: a session ends after 30 minutes without a request,
// and 12 hours after sign-in however active.
func TestSessionTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		h := newHarness(t, nil)
		b := h.browser()
		b.signIn("alice", "alice-password")
		h.clock.Advance(29 * time.Minute)
		if pg := b.get("/portal/keys"); pg.url.Path != "/portal/keys" {
			t.Fatalf("after 29 idle minutes: at %s", pg.url.Path)
		}
		h.clock.Advance(29 * time.Minute) // activity 29 minutes ago
		if pg := b.get("/portal/keys"); pg.url.Path != "/portal/keys" {
			t.Fatalf("29 minutes after the last request: at %s", pg.url.Path)
		}
		h.clock.Advance(30 * time.Minute)
		if pg := b.get("/portal/keys"); pg.url.Path != "/portal/signin" {
			t.Fatalf("after 30 idle minutes: at %s, want the sign-in page", pg.url.Path)
		}
		if len(h.st.Sessions()) != 0 {
			t.Error("the expired session is still stored")
		}
	})
	t.Run("absolute", func(t *testing.T) {
		h := newHarness(t, nil)
		b := h.browser()
		b.signIn("alice", "alice-password")
		for i := 1; i < 12*3; i++ { // a request every 20 minutes
			h.clock.Advance(20 * time.Minute)
			if pg := b.get("/portal/keys"); pg.url.Path != "/portal/keys" {
				t.Fatalf("after %v of activity: at %s", time.Duration(i)*20*time.Minute, pg.url.Path)
			}
		}
		h.clock.Advance(20 * time.Minute) // 12 h after sign-in
		if pg := b.get("/portal/keys"); pg.url.Path != "/portal/signin" {
			t.Fatalf("12 hours after sign-in: at %s, want the sign-in page", pg.url.Path)
		}
	})
	// The portal judges both ends itself, whatever the store answers:
	// CreatedAt plus AbsoluteTimeout even when the store keeps no
	// ExpiresAt, and the store's ExpiresAt when it is earlier (a session
	// signed in before a restart that lengthened AbsoluteTimeout).
	for _, tc := range []struct {
		name   string
		expiry func(portal.Session) time.Time
		after  time.Duration
	}{
		{"store keeps no ExpiresAt", func(portal.Session) time.Time { return time.Time{} }, 12 * time.Hour},
		{"store's ExpiresAt earlier", func(s portal.Session) time.Time { return s.CreatedAt.Add(time.Hour) }, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *portal.Config) { c.Sessions = expirySessions{c.Sessions, tc.expiry} })
			b := h.browser()
			b.signIn("alice", "alice-password")
			for at := 20 * time.Minute; at < tc.after; at += 20 * time.Minute {
				h.clock.Advance(20 * time.Minute)
				if pg := b.get("/portal/keys"); pg.url.Path != "/portal/keys" {
					t.Fatalf("after %v of activity: at %s", at, pg.url.Path)
				}
			}
			h.clock.Advance(20 * time.Minute)
			if pg := b.get("/portal/keys"); pg.url.Path != "/portal/signin" {
				t.Fatalf("%v after sign-in: at %s, want the sign-in page", tc.after, pg.url.Path)
			}
		})
	}
	t.Run("configured", func(t *testing.T) {
		h := newHarness(t, func(c *portal.Config) { c.IdleTimeout, c.AbsoluteTimeout = 5*time.Minute, time.Hour })
		b := h.browser()
		b.signIn("alice", "alice-password")
		h.clock.Advance(5 * time.Minute)
		if pg := b.get("/portal/keys"); pg.url.Path != "/portal/signin" {
			t.Fatalf("after 5 idle minutes: at %s", pg.url.Path)
		}
	})
}

// expirySessions answers sessions with the ExpiresAt expiry gives.
type expirySessions struct {
	portal.Sessions
	expiry func(portal.Session) time.Time
}

func (e expirySessions) Session(ctx context.Context, h portal.SessionHash) (portal.Session, error) {
	s, err := e.Sessions.Session(ctx, h)
	s.ExpiresAt = e.expiry(s)
	return s, err
}

// TestRevokedSessions: signing out ends the session (its cookie, replayed,
// no longer works); signing out everywhere ends every session of the
// account; changing the password ends every other one.
func TestRevokedSessions(t *testing.T) {
	h := newHarness(t, nil)
	laptop, phone, tablet, bobs := h.browser(), h.browser(), h.browser(), h.browser()
	for _, b := range []*browser{laptop, phone, tablet} {
		b.signIn("alice", "alice-password")
	}
	bobs.signIn("bob", "bob-password")
	alive := func(b *browser) bool { return b.get("/portal/keys").url.Path == "/portal/keys" }

	old := tablet.cookie()
	if pg := tablet.post("/portal/signout", url.Values{}); pg.url.Path != "/portal/signin" {
		t.Errorf("sign out: at %s", pg.url.Path)
	}
	replay := h.browser()
	replay.setCookie(old)
	if alive(replay) {
		t.Error("a signed-out session's cookie still works")
	}

	pg := laptop.post("/portal/account/password", url.Values{"current": {"alice-password"}, "password": {"a new password"}, "confirm": {"a new password"}})
	wantContains(t, "password change", pg, "Your password was changed")
	if !alive(laptop) || alive(phone) {
		t.Errorf("after a password change: laptop alive %v (want true), phone alive %v (want false)", alive(laptop), alive(phone))
	}
	phone.signIn("alice", "a new password")
	if _, err := h.st.Authenticate(context.Background(), "alice", "alice-password"); err == nil {
		t.Error("the old password still works")
	}

	if pg := phone.post("/portal/signout-everywhere", url.Values{}); pg.url.Path != "/portal/signin" {
		t.Errorf("sign out everywhere: at %s", pg.url.Path)
	}
	if alive(laptop) || alive(phone) {
		t.Error("a session survived signing out everywhere")
	}
	if !alive(bobs) {
		t.Error("signing alice out everywhere ended bob's session")
	}
	// A deleted account's sessions end.
	h.st.DeleteAccount(h.bob.ID)
	if alive(bobs) {
		t.Error("a deleted account's session still works")
	}
}

// racingAccounts changes the password right after the first successful
// Authenticate verified the old one: a password change, made in another
// browser, that commits between the check and the session's creation.
type racingAccounts struct {
	*portaltest.Store
	next string
	once *sync.Once
}

func (r racingAccounts) Authenticate(ctx context.Context, username, password string) (portal.Account, error) {
	a, err := r.Store.Authenticate(ctx, username, password)
	if err == nil {
		r.once.Do(func() {
			if err := r.Store.ChangePassword(ctx, a.ID, password, r.next); err != nil {
				panic(err) // the test's own store: a bug in the test
			}
		})
	}
	return a, err
}

// TestSignInRacingPasswordChange: a sign-in whose password is changed
// between its check and its session gets the wrong-password page and no
// session (a change of password ends every other session, and one
// started with the old password must not escape that); the attempt
// counts as a failure; the new password signs in.
func TestSignInRacingPasswordChange(t *testing.T) {
	h := newHarness(t, func(c *portal.Config) {
		c.Accounts = racingAccounts{Store: c.Accounts.(*portaltest.Store), next: "the new password", once: new(sync.Once)}
	})
	b := h.browser()
	pg := b.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, "sign-in racing a password change", pg, http.StatusUnprocessableEntity)
	wantContains(t, "sign-in racing a password change", pg, "Wrong username or password.")
	if b.cookie() != "" || len(h.st.Sessions()) != 0 {
		t.Errorf("a session was started with the old password: cookie %q, %d stored", b.cookie(), len(h.st.Sessions()))
	}
	// Counted: 4 more failures for alice from this network, and the 6th
	// attempt is refused.
	for range 4 {
		b.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"wrong password"}})
	}
	wantStatus(t, "after 5 failures", b.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"the new password"}}), http.StatusTooManyRequests)
	h.clock.Advance(16 * time.Minute)
	b.signIn("alice", "the new password")
}

// TestIsolation: bob reaching for alice's key or application, by every
// route that takes an ID and with every method, gets exactly what he gets
// for an ID that does not exist (a 404 for GET and POST), and nothing of
// alice's changes. His lists show nothing of hers.
func TestIsolation(t *testing.T) {
	h := newHarness(t, nil)
	keyID, appID := seed(t, h)
	h.st.Record(portal.Credential{Kind: portal.KindKey, ID: keyID}, start, 5, 0, nil)
	before := h.st.Actions()
	bob := h.browser()
	bob.signIn("bob", "bob-password")
	bob = bob.noRedirects()

	forms := map[string]url.Values{
		"rotate": {"grace": {"0s"}, "confirm": {"yes"}},
		"revoke": {"confirm": {"yes"}},
		"delete": {"confirm": {"yes"}},
		"":       {},
	}
	routes := []struct{ pattern, real, fake string }{
		{"/portal/keys/%s", keyID, "K00000000000"},
		{"/portal/keys/%s/rotate", keyID, "K00000000000"},
		{"/portal/keys/%s/revoke", keyID, "K00000000000"},
		{"/portal/monitoring/keys/%s", keyID, "K00000000000"},
		{"/portal/apps/%s", appID, "adxc_0000000000000000"},
		{"/portal/apps/%s/rotate", appID, "adxc_0000000000000000"},
		{"/portal/apps/%s/delete", appID, "adxc_0000000000000000"},
		{"/portal/monitoring/apps/%s", appID, "adxc_0000000000000000"},
	}
	for _, rt := range routes {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			form := forms[rt.pattern[strings.LastIndexByte(rt.pattern, '/')+1:]]
			theirs := bob.send(method, strings.Replace(rt.pattern, "%s", rt.real, 1), form)
			none := bob.send(method, strings.Replace(rt.pattern, "%s", rt.fake, 1), form)
			name := method + " " + rt.pattern
			if theirs.status != none.status || theirs.body != none.body {
				t.Errorf("%s: alice's ID answers %d, an unknown ID %d; bodies equal: %v", name, theirs.status, none.status, theirs.body == none.body)
			}
			if theirs.status != http.StatusNotFound {
				t.Errorf("%s: got %d, want 404", name, theirs.status)
			}
			for _, hd := range []string{"Content-Type", "Content-Length", "Retry-After", "Set-Cookie", "Location"} {
				if theirs.header.Get(hd) != none.header.Get(hd) {
					t.Errorf("%s: header %s differs: %q and %q", name, hd, theirs.header.Get(hd), none.header.Get(hd))
				}
			}
		}
	}
	if got := h.st.Actions(); len(got) != len(before)+1 { // bob's sign-in
		t.Errorf("bob changed something: %v", got[len(before)+1:])
	}
	for _, path := range []string{"/portal/keys", "/portal/apps", "/portal/monitoring"} {
		pg := bob.get(path)
		wantStatus(t, path, pg, http.StatusOK)
		wantNotContains(t, "bob's "+path, pg, keyID, appID, "alice key", "alice app")
	}
}

// leakyKeys is a Keys store that gets the owner filter wrong: it lists
// the keys of every owner in owners, whoever asks.
type leakyKeys struct {
	*portaltest.Store
	owners *[]string
}

func (l leakyKeys) ListKeys(ctx context.Context, _ string) ([]portal.Key, error) {
	var all []portal.Key
	for _, owner := range *l.owners {
		ks, err := l.Store.ListKeys(ctx, owner)
		if err != nil {
			return nil, err
		}
		all = append(all, ks...)
	}
	return all, nil
}

// TestIsolationLeakyStore: a store that lists another account's records
// leaks none of them through the portal.
func TestIsolationLeakyStore(t *testing.T) {
	var owners []string
	h := newHarness(t, func(c *portal.Config) { c.Keys = leakyKeys{c.Keys.(*portaltest.Store), &owners} })
	owners = []string{h.alice.ID, h.bob.ID}
	h.st.PutKey(portal.Key{ID: "K11111111111", Owner: h.alice.ID, Name: "stray", CreatedAt: start})
	bob := h.browser()
	bob.signIn("bob", "bob-password")
	for _, path := range []string{"/portal/keys", "/portal/monitoring"} {
		wantNotContains(t, "bob's "+path, bob.get(path), "K11111111111", "stray")
	}
}

// TestEscaping: names, descriptions and failure reasons with markup and
// control or format characters are escaped on every page and in every
// chart label; none of them can add an element or hide a character.
func TestEscaping(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	const markup = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`
	// Through the forms: markup is a valid name, stored as it is.
	wantStatus(t, "key with markup", b.post("/portal/keys", url.Values{"name": {markup}, "description": {markup}, "scope": {"data:read"}, "expires": {"90"}}), http.StatusOK)
	wantStatus(t, "app with markup", b.post("/portal/apps", url.Values{"name": {markup}, "type": {"server"}, "scope": {"data:read"}}), http.StatusOK)
	// Control and format characters are refused by the forms: stored by
	// an older version or another tool.
	hostile := "evil\x1b[2J\u202egnp.exe\u200b\n" + markup
	h.st.PutKey(portal.Key{ID: "K22222222222", Owner: h.alice.ID, Name: hostile, Description: hostile, CreatedAt: start, ExpiresAt: start.Add(time.Hour)})
	h.st.PutApp(portal.App{ID: "adxc_2222222222222222", Owner: h.alice.ID, Name: hostile, Type: "web", RedirectURIs: []string{"https://x.example/" + markup}, CreatedAt: start})
	for _, c := range []portal.Credential{{Kind: portal.KindKey, ID: "K22222222222"}, {Kind: portal.KindApp, ID: "adxc_2222222222222222"}} {
		h.st.Record(c, start, 1, 1, map[string]int64{hostile: 20, markup: 3})
		h.st.AddFailure(c, portal.Failure{At: start, Reason: hostile})
	}
	ctx := context.Background()
	keys, _ := h.st.ListKeys(ctx, h.alice.ID)
	apps, _ := h.st.ListApps(ctx, h.alice.ID)
	paths := []string{"/portal/keys", "/portal/apps", "/portal/monitoring"}
	for _, k := range keys {
		paths = append(paths, "/portal/keys/"+k.ID, "/portal/keys/"+k.ID+"/rotate", "/portal/keys/"+k.ID+"/revoke", "/portal/monitoring/keys/"+k.ID)
	}
	for _, a := range apps {
		paths = append(paths, "/portal/apps/"+a.ID, "/portal/apps/"+a.ID+"/rotate", "/portal/apps/"+a.ID+"/delete", "/portal/monitoring/apps/"+a.ID)
	}
	control := regexp.MustCompile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u0080-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
	for _, path := range paths {
		pg := b.get(path)
		wantStatus(t, path, pg, http.StatusOK)
		wantNotContains(t, path, pg, "<script>alert", "<img")
		if loc := control.FindStringIndex(pg.body); loc != nil {
			t.Errorf("%s: control or format character %q in the page", path, pg.body[loc[0]:loc[1]])
		}
		// The only script is the portal's own.
		if n := strings.Count(pg.body, "<script"); n > 1 {
			t.Errorf("%s: %d script elements", path, n)
		}
	}
	pg := b.get("/portal/monitoring/keys/K22222222222")
	// Shown escaped, in the chart's labels and legend as in the table.
	wantContains(t, "chart", pg, `&#34;evil\x1b[2J\u202egnp.exe\u200b\n&lt;script&gt;alert(1)&lt;/script&gt;`,
		`&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#34;&#39;`)
}

// TestSignInThrottled: after 5 failures for one username from one network
// the 6th attempt is refused with 429 and Retry-After before the password
// is checked, whether the username exists or not, with the same page.
func TestSignInThrottled(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	attempt := func(user, pass string) page {
		return b.post("/portal/signin", url.Values{"username": {user}, "password": {pass}})
	}
	var wrongBodies, throttledBodies []string
	for _, user := range []string{"alice", "nobody"} {
		for i := range 5 {
			pg := attempt(user, "wrong password")
			wantStatus(t, user+" wrong password", pg, http.StatusUnprocessableEntity)
			wantContains(t, user+" wrong password", pg, "Wrong username or password.")
			if i == 0 {
				wrongBodies = append(wrongBodies, strings.ReplaceAll(pg.body, user, "USER"))
			}
		}
		pg := attempt(user, "wrong password")
		wantStatus(t, user+" 6th attempt", pg, http.StatusTooManyRequests)
		if ra := pg.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("%s throttled: Retry-After %q", user, ra)
		}
		wantContains(t, user+" throttled", pg, "Too many attempts")
		throttledBodies = append(throttledBodies, pg.body)
	}
	if wrongBodies[0] != wrongBodies[1] {
		t.Error("a wrong password and an unknown username get different pages")
	}
	if throttledBodies[0] != throttledBodies[1] {
		t.Error("throttled pages differ between a known and an unknown username")
	}
	// Refused before the password is checked: the right one too, from
	// this network.
	wantStatus(t, "right password while throttled", attempt("alice", "alice-password"), http.StatusTooManyRequests)
	// bob, from the same network, is not affected.
	b2 := h.browser()
	b2.signIn("bob", "bob-password")
	// After the window, alice signs in.
	h.clock.Advance(16 * time.Minute)
	b.signIn("alice", "alice-password")
	// A malformed username never reaches the store and counts as a
	// failure.
	wantStatus(t, "malformed username", attempt("<script>", "x"), http.StatusUnprocessableEntity)
}

// TestSessionStoreAnswersAnother: a session store answering with a
// session other than the one asked for (a store bug) signs nobody in: the
// request gets the 503 page, not the account's pages.
func TestSessionStoreAnswersAnother(t *testing.T) {
	h := newHarness(t, func(c *portal.Config) { c.Sessions = otherSession{c.Sessions} })
	b := h.browser()
	pg := b.noRedirects().post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, "sign-in", pg, http.StatusSeeOther)
	pg = b.get("/portal/keys")
	wantStatus(t, "keys with another session's answer", pg, http.StatusServiceUnavailable)
	if strings.Contains(pg.body, "alice") {
		t.Error("the page names alice")
	}
}

// otherSession answers every session with its hash changed.
type otherSession struct{ portal.Sessions }

func (o otherSession) Session(ctx context.Context, h portal.SessionHash) (portal.Session, error) {
	s, err := o.Sessions.Session(ctx, h)
	s.Hash[0] ^= 1
	return s, err
}

// TestSignInMalformedCounted: a malformed username never reaches the
// store but is a failed attempt of the network: 30 of them throttle the
// network, the right password included.
func TestSignInMalformedCounted(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	for i := range 30 {
		pg := b.post("/portal/signin", url.Values{"username": {"<script>"}, "password": {"x"}})
		wantStatus(t, fmt.Sprintf("malformed username %d", i+1), pg, http.StatusUnprocessableEntity)
	}
	pg := b.post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}})
	wantStatus(t, "right password after 30 malformed attempts", pg, http.StatusTooManyRequests)
}

// TestStoreDown: a store error is a constant 503 page with Retry-After,
// never a sign-in and never a refusal; the error goes to OnError.
func TestStoreDown(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	down := errors.New("database down: secret detail")
	h.st.SetError(down)
	for _, pg := range []page{
		b.get("/portal/keys"),
		b.noRedirects().post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}}),
	} {
		wantStatus(t, "store down", pg, http.StatusServiceUnavailable)
		wantNotContains(t, "store down", pg, "secret detail", "database")
		if pg.header.Get("Retry-After") == "" || pg.header.Get("Set-Cookie") != "" {
			t.Errorf("store down: headers %v", pg.header)
		}
	}
	if errs := h.errors(); len(errs) == 0 || !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, down) }) {
		t.Errorf("OnError got %v", errs)
	}
	// Back up: the session is still there.
	h.st.SetError(nil)
	wantStatus(t, "store back", b.get("/portal/keys"), http.StatusOK)

	// Only the key store down: a key's page is unavailable, not "not
	// found", and no list pretends to be empty.
	keyID, _ := seed(t, h)
	h2 := newHarness(t, func(c *portal.Config) { c.Keys = failingKeys{c.Keys, down} })
	b = h2.browser()
	wantStatus(t, "sign in", b.noRedirects().post("/portal/signin", url.Values{"username": {"alice"}, "password": {"alice-password"}}), http.StatusSeeOther)
	for _, path := range []string{"/portal/keys", "/portal/keys/" + keyID, "/portal/keys/" + keyID + "/revoke", "/portal/monitoring", "/portal/monitoring/keys/" + keyID} {
		wantStatus(t, path+" with the key store down", b.get(path), http.StatusServiceUnavailable)
	}
	for _, f := range postForms(keyID, "")[3:6] {
		wantStatus(t, f.path+" with the key store down", b.post(f.path, f.form), http.StatusServiceUnavailable)
	}
}

// failingKeys is a Keys store that is down.
type failingKeys struct {
	portal.Keys
	err error
}

func (f failingKeys) ListKeys(context.Context, string) ([]portal.Key, error) { return nil, f.err }
func (f failingKeys) Key(context.Context, string) (portal.Key, error)        { return portal.Key{}, f.err }
func (f failingKeys) CreateKey(context.Context, portal.KeyParams) (string, portal.Key, error) {
	return "", portal.Key{}, f.err
}
func (f failingKeys) RotateKey(context.Context, string, time.Duration) (string, portal.Key, error) {
	return "", portal.Key{}, f.err
}
func (f failingKeys) RevokeKey(context.Context, string) error { return f.err }

// TestConcurrentUse: many browsers at once, each signing in and creating
// keys, under -race. Each sees only its own keys.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, nil)
	const n = 8
	users := make([]string, n)
	for i := range users {
		users[i] = "user" + string(rune('a'+i))
		h.st.AddAccount(users[i], users[i]+"-password")
	}
	clients := make([]*browser, n)
	for i := range clients {
		clients[i] = h.browser()
	}
	errs := make(chan error, n)
	for i, u := range users {
		c := clients[i].c
		go func() {
			errs <- func() error {
				post := func(path string, form url.Values) (*http.Response, string, error) {
					resp, err := c.PostForm(h.srv.URL+path, form)
					if err != nil {
						return nil, "", err
					}
					defer resp.Body.Close()
					var sb strings.Builder
					_, err = io.Copy(&sb, resp.Body)
					return resp, sb.String(), err
				}
				if resp, _, err := post("/portal/signin", url.Values{"username": {u}, "password": {u + "-password"}}); err != nil || resp.Request.URL.Path != "/portal/keys" {
					return fmt.Errorf("%s: sign in: %v", u, err)
				}
				for j := range 3 {
					resp, body, err := post("/portal/keys", url.Values{"name": {fmt.Sprintf("%s key %d", u, j)}, "scope": {"data:read"}, "expires": {"7"}})
					if err != nil || resp.StatusCode != http.StatusOK || secret(body) == "" {
						return fmt.Errorf("%s: create key %d: %v %v", u, j, err, resp.StatusCode)
					}
				}
				resp, err := c.Get(h.srv.URL + "/portal/keys")
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if got := strings.Count(string(b), `<a href="/portal/keys/`); got != 3 {
					return fmt.Errorf("%s sees %d keys, want 3", u, got)
				}
				return nil
			}()
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
