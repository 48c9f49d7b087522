package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/audexum/auth/portal"
)

// TestKeyFormRefused: a refused key form comes back with the fields as
// entered and a message next to each wrong one; nothing is created.
func TestKeyFormRefused(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	tests := []struct {
		name string
		form url.Values
		want []string
	}{
		{"no scope", url.Values{"name": {"k"}, "expires": {"90"}}, []string{`id="scope-error">Choose at least one scope.`}},
		{"no name", url.Values{"name": {"   "}, "scope": {"data:read"}, "expires": {"90"}}, []string{`id="name-error">A name is 1 to 200`, `aria-invalid="true"`}},
		{"name with a line break", url.Values{"name": {"a\nb"}, "scope": {"data:read"}, "expires": {"90"}}, []string{`id="name-error">`}},
		// A tampered form: the catalog's own words name the scope.
		{"unknown scope", url.Values{"name": {"k"}, "scope": {"admin"}, "expires": {"90"}}, []string{`unknown scope &#34;admin&#34;; known scopes: data:read, data:write, profile:read`}},
		{"case", url.Values{"name": {"k"}, "scope": {"Data:Read"}, "expires": {"90"}}, []string{`did you mean data:read?`}},
		{"no expiry", url.Values{"name": {"k"}, "scope": {"data:read"}, "expires": {"never"}}, []string{`id="expires-error">`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg := b.post("/portal/keys", tt.form)
			wantStatus(t, tt.name, pg, http.StatusUnprocessableEntity)
			wantContains(t, tt.name, pg, append(tt.want, "The key was not generated.")...)
			if secret(pg.body) != "" {
				t.Error("a key is shown")
			}
		})
	}
	// The entered values come back; chosen scopes stay checked.
	pg := b.post("/portal/keys", url.Values{"name": {""}, "description": {"kept"}, "scope": {"data:write"}, "expires": {"30"}})
	wantContains(t, "kept values", pg, `value="kept"`, `value="data:write" checked`, `<option value="30" selected>`)
	if keys, _ := h.st.ListKeys(context.Background(), h.alice.ID); len(keys) != 0 {
		t.Errorf("refused forms created %d keys", len(keys))
	}
	// A field sent twice is no form of the portal's.
	wantStatus(t, "duplicate field", b.post("/portal/keys", url.Values{"name": {"a", "b"}, "scope": {"data:read"}, "expires": {"90"}}), http.StatusBadRequest)
	wantStatus(t, "grace not offered", b.post("/portal/keys/K00000000000/rotate", url.Values{"grace": {"1000h"}}), http.StatusNotFound)
}

// TestAppFormRefused: each redirect URI's error is shown next to it in
// the registry's words; the rules of the whole registration (none for a
// server application, one at least for the others) next to the list.
func TestAppFormRefused(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	tests := []struct {
		name string
		form url.Values
		want []string
	}{
		{"fragment and http", url.Values{"name": {"a"}, "type": {"web"}, "scope": {"data:read"},
			"redirect_uri": {"https://ok.example/cb", "https://a.example/cb#x", "http://a.example/cb"}},
			[]string{
				`id="redirect-2-error">invalid redirect URI &#34;https://a.example/cb#x&#34;: has a fragment (RFC 6749 §3.1.2)</p>`,
				`id="redirect-3-error">invalid redirect URI &#34;http://a.example/cb&#34;: uses http on a host that is not loopback`,
				`value="https://ok.example/cb">`,
			}},
		{"wildcard", url.Values{"name": {"a"}, "type": {"web"}, "scope": {"data:read"}, "redirect_uri": {"https://*.example/cb"}},
			[]string{`has a wildcard in the host; redirect URIs match exactly, register each one`}},
		{"relative", url.Values{"name": {"a"}, "type": {"mobile"}, "scope": {"data:read"}, "redirect_uri": {"/cb"}},
			[]string{`is not an absolute URI with a host`}},
		{"twice", url.Values{"name": {"a"}, "type": {"web"}, "scope": {"data:read"}, "redirect_uri": {"https://a.example/cb", "https://a.example/cb"}},
			[]string{`id="redirect-2-error">This redirect URI is listed twice.`}},
		{"server with a redirect URI", url.Values{"name": {"a"}, "type": {"server"}, "scope": {"data:read"}, "redirect_uri": {"https://a.example/cb"}},
			[]string{`id="redirect-error">A server-to-server application has no redirect URIs`}},
		{"web without", url.Values{"name": {"a"}, "type": {"web"}, "scope": {"data:read"}},
			[]string{`id="redirect-error">A web or mobile application needs at least one redirect URI.`}},
		{"no type", url.Values{"name": {"a"}, "scope": {"data:read"}, "redirect_uri": {"https://a.example/cb"}},
			[]string{`id="type-error">Choose the type of application.`}},
		{"no scope", url.Values{"name": {"a"}, "type": {"web"}, "redirect_uri": {"https://a.example/cb"}},
			[]string{`id="scope-error">Choose at least one scope.`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg := b.post("/portal/apps", tt.form)
			wantStatus(t, tt.name, pg, http.StatusUnprocessableEntity)
			wantContains(t, tt.name, pg, append(tt.want, "The application was not registered.")...)
		})
	}
	if apps, _ := h.st.ListApps(context.Background(), h.alice.ID); len(apps) != 0 {
		t.Errorf("refused forms registered %d apps", len(apps))
	}
	// "Add another redirect URI" keeps what was entered and adds a field,
	// without registering anything.
	pg := b.post("/portal/apps", url.Values{"name": {"a"}, "type": {"mobile"}, "action": {"add-uri"},
		"redirect_uri": {"http://127.0.0.1/cb", "http://[::1]/cb", ""}})
	wantStatus(t, "add a field", pg, http.StatusOK)
	wantContains(t, "add a field", pg, `id="redirect-1" name="redirect_uri" maxlength="2000" value="http://127.0.0.1/cb"`,
		`id="redirect-2" name="redirect_uri" maxlength="2000" value="http://[::1]/cb"`, `id="redirect-3" name="redirect_uri" maxlength="2000" value=""`,
		`value="mobile" aria-describedby="type-1-hint" checked`)
	wantNotContains(t, "add a field", pg, `class="field-error"`, `id="redirect-4"`)
	if apps, _ := h.st.ListApps(context.Background(), h.alice.ID); len(apps) != 0 {
		t.Error("adding a field registered an app")
	}
}

// TestSignUp: there is no sign-up page unless Config.SignUp is set.
func TestSignUp(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	wantStatus(t, "GET signup, off", b.get("/portal/signup"), http.StatusNotFound)
	wantStatus(t, "POST signup, off", b.post("/portal/signup", url.Values{"username": {"carol"}, "password": {"carol-password"}, "confirm": {"carol-password"}}), http.StatusNotFound)
	wantNotContains(t, "sign-in page, off", b.get("/portal/signin"), "/portal/signup")

	h = newHarness(t, withSignUp)
	b = h.browser()
	wantContains(t, "sign-in page, on", b.get("/portal/signin"), `href="/portal/signup"`)
	pg := b.post("/portal/signup", url.Values{"username": {"carol"}, "password": {"carol-password"}, "confirm": {"carol-passwrod"}})
	wantStatus(t, "mistyped confirmation", pg, http.StatusUnprocessableEntity)
	wantContains(t, "mistyped confirmation", pg, `id="confirm-error">The two passwords differ.`, `value="carol"`)
	pg = b.post("/portal/signup", url.Values{"username": {"alice"}, "password": {"carol-password"}, "confirm": {"carol-password"}})
	wantContains(t, "taken", pg, "This username is taken.")
	pg = b.post("/portal/signup", url.Values{"username": {"c a"}, "password": {"short"}, "confirm": {"short"}})
	wantContains(t, "invalid", pg, `id="username-error">A username is`, `id="password-error">A password is 8 to 1024 characters.`)
	pg = b.post("/portal/signup", url.Values{"username": {"carol"}, "password": {"carol-password"}, "confirm": {"carol-password"}})
	if pg.status != http.StatusOK || pg.url.Path != "/portal/keys" {
		t.Fatalf("sign up: got %d at %s", pg.status, pg.url.Path)
	}
	wantContains(t, "signed up", pg, "Signed in as <strong>carol</strong>")
	h.browser().signIn("carol", "carol-password")
}

// TestChangePasswordRefused: the current password is required, the new
// one must follow the rule and be typed twice alike.
func TestChangePasswordRefused(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	tests := []struct {
		name                     string
		current, password, again string
		want                     string
	}{
		{"wrong current", "nope", "a new password", "a new password", `id="current-error">This is not your current password.`},
		{"short", "alice-password", "short", "short", `id="password-error">A password is 8 to 1024 characters.`},
		{"differ", "alice-password", "a new password", "a new passw0rd", `id="confirm-error">The two passwords differ.`},
		{"store refuses", "alice-password", "password123", "password123", `id="password-error">This password is not allowed.`},
	}
	for _, tt := range tests {
		pg := b.post("/portal/account/password", url.Values{"current": {tt.current}, "password": {tt.password}, "confirm": {tt.again}})
		wantStatus(t, tt.name, pg, http.StatusUnprocessableEntity)
		wantContains(t, tt.name, pg, tt.want)
	}
	b.signIn("alice", "alice-password")
}

var (
	inputRE = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE    = regexp.MustCompile(`\bid="([^"]+)"`)
	typeRE  = regexp.MustCompile(`\btype="([^"]+)"`)
)

// TestEveryInputLabelled: on every page with a form, each control a
// person fills in has a <label for> naming its id, and ids are unique.
func TestEveryInputLabelled(t *testing.T) {
	h := newHarness(t, nil)
	keyID, appID := seed(t, h)
	b := h.browser()
	b.signIn("alice", "alice-password")
	pages := map[string]page{
		"signin":     h.browser().get("/portal/signin"),
		"key form":   b.get("/portal/keys/new"),
		"key errors": b.post("/portal/keys", url.Values{"name": {""}}),
		"rotate":     b.get("/portal/keys/" + keyID + "/rotate"),
		"revoke":     b.get("/portal/keys/" + keyID + "/revoke"),
		"app form":   b.get("/portal/apps/new"),
		"app errors": b.post("/portal/apps", url.Values{"name": {""}, "redirect_uri": {"x", "y"}}),
		"app rotate": b.get("/portal/apps/" + appID + "/rotate"),
		"app delete": b.get("/portal/apps/" + appID + "/delete"),
		"account":    b.get("/portal/account"),
	}
	hs := newHarness(t, withSignUp)
	pages["signup"] = hs.browser().get("/portal/signup")
	for name, pg := range pages {
		ids := map[string]bool{}
		for _, m := range idRE.FindAllStringSubmatch(pg.body, -1) {
			if ids[m[1]] {
				t.Errorf("%s: id %q twice", name, m[1])
			}
			ids[m[1]] = true
		}
		n := 0
		for _, tag := range inputRE.FindAllString(pg.body, -1) {
			if ty := typeRE.FindStringSubmatch(tag); ty != nil && ty[1] == "hidden" {
				continue
			}
			n++
			id := idRE.FindStringSubmatch(tag)
			if id == nil || !strings.Contains(pg.body, `<label for="`+id[1]+`">`) {
				t.Errorf("%s: no label for %s", name, tag)
			}
		}
		if n == 0 && name != "revoke" && name != "app rotate" && name != "app delete" {
			t.Errorf("%s: no input found", name)
		}
	}
}

// withSignUp turns sign-up on, with the harness's store.
func withSignUp(c *portal.Config) { c.SignUp = c.Accounts.(portal.AccountCreator) }

// TestConfirmationRequired: revoking, deleting and issuing a new secret
// need the confirmation page's button (confirm=yes); a bare POST does
// nothing.
func TestConfirmationRequired(t *testing.T) {
	h := newHarness(t, nil)
	keyID, appID := seed(t, h)
	before := len(h.st.Actions())
	b := h.browser()
	b.signIn("alice", "alice-password")
	for _, path := range []string{"/portal/keys/" + keyID + "/revoke", "/portal/apps/" + appID + "/delete", "/portal/apps/" + appID + "/rotate"} {
		for _, form := range []url.Values{{}, {"confirm": {"no"}}, {"confirm": {"yes", "yes"}}} {
			wantStatus(t, "POST "+path+" "+form.Encode(), b.post(path, form), http.StatusBadRequest)
		}
	}
	if got := h.st.Actions(); len(got) != before+1 { // the sign-in
		t.Errorf("unconfirmed posts changed: %v", got[before+1:])
	}
}
