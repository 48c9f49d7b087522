package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// eventually polls check until it returns true or the deadline passes:
// changes made by another process reach the server's caches within about
// a second, and the contract is two.
func eventually(t *testing.T, within time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, within)
		}
		<-tick.C
	}
}

// suite runs the end-to-end tests against one database: the data dir's
// SQLite file, or PostgreSQL when AUDEXUM_TEST_POSTGRES_DSN is set.
func runServeSuite(t *testing.T, newEnv func(t *testing.T) *env) {
	t.Run("APIKeys", func(t *testing.T) { testServeAPIKeys(t, newEnv(t)) })
	t.Run("ClientCredentials", func(t *testing.T) { testServeClientCredentials(t, newEnv(t)) })
	t.Run("AuthorizationCode", func(t *testing.T) { testServeAuthorizationCode(t, newEnv(t)) })
	t.Run("DPoP", func(t *testing.T) { testServeDPoP(t, newEnv(t)) })
}

func TestServeSQLite(t *testing.T) { runServeSuite(t, newEnv) }

func TestServePostgres(t *testing.T) {
	if os.Getenv("AUDEXUM_TEST_POSTGRES_DSN") == "" {
		t.Skip("AUDEXUM_TEST_POSTGRES_DSN is not set; run scripts/postgres-for-tests.sh to test against PostgreSQL")
	}
	runServeSuite(t, newPostgresEnv)
}

func testServeAPIKeys(t *testing.T, e *env) {
	var reader, writer createdKey
	e.jsonOK(&reader, "apikey", "create", "--name", "reader", "--scope", "data:read", "--json")
	e.jsonOK(&writer, "apikey", "create", "--name", "writer", "--scope", "data:read", "--scope", "data:write", "--json")
	s := e.startServer()

	if code, body, _ := s.do(t, "GET", "/healthz", "", nil); code != 200 {
		t.Fatalf("healthz: %d %s", code, body)
	}
	code, body, hdr := s.do(t, "GET", "/v1/data", reader.Key, nil)
	if code != 200 || !strings.Contains(body, `"sub":"reader"`) || hdr.Get("Strict-Transport-Security") == "" {
		t.Fatalf("GET /v1/data with key: %d %s", code, body)
	}
	if code, body, hdr := s.do(t, "POST", "/v1/data", reader.Key, strings.NewReader(`{}`)); code != 403 ||
		hdr.Get("WWW-Authenticate") != `Bearer realm="api", error="insufficient_scope", scope="data:write"` {
		t.Errorf("POST with read-only key: %d %q %s", code, hdr.Get("WWW-Authenticate"), body)
	}
	if code, _, _ := s.do(t, "POST", "/v1/data", writer.Key, strings.NewReader(`{"v":1}`)); code != 201 {
		t.Errorf("POST with writer key: %d", code)
	}
	// An API key is not a user.
	if code, _, _ := s.do(t, "GET", "/v1/user/profile", writer.Key, nil); code != 403 {
		t.Errorf("profile with API key: %d, want 403", code)
	}
	wrong := reader.Key[:len(reader.Key)-10] + "0000000000"
	if code, body, _ := s.do(t, "GET", "/v1/data", wrong, nil); code != 401 || body != `{"error":"invalid_token","message":"Authentication failed"}` {
		t.Errorf("tampered key: %d %s", code, body)
	}

	// Revoked with the CLI, in another process, while serve runs.
	e.ok("apikey", "revoke", reader.ID)
	eventually(t, 2*time.Second, "revoked key refused", func() bool {
		code, _, _ := s.do(t, "GET", "/v1/data", reader.Key, nil)
		return code == 401
	})

	// Rotation: the old key works inside the grace period, then stops.
	var next createdKey
	e.jsonOK(&next, "apikey", "rotate", writer.ID, "--grace", "3s", "--json")
	if code, _, _ := s.do(t, "GET", "/v1/data", next.Key, nil); code != 200 {
		t.Errorf("new key after rotation: %d", code)
	}
	if code, _, _ := s.do(t, "GET", "/v1/data", writer.Key, nil); code != 200 {
		t.Errorf("old key inside grace: %d, want 200", code)
	}
	eventually(t, 6*time.Second, "old key refused after grace", func() bool {
		code, _, _ := s.do(t, "GET", "/v1/data", writer.Key, nil)
		return code == 401
	})

	// The seed's request, verbatim but for the host and --cacert.
	if curl, err := exec.LookPath("curl"); err != nil {
		t.Log("curl not installed: skipping the verbatim seed request")
	} else {
		out, err := exec.Command(curl, "-sS", "--cacert", filepath.Join(e.dataDir, "tls-cert.pem"), "-X", "GET",
			s.url+"/v1/data", "-H", "Authorization: Bearer "+next.Key, "-H", "Content-Type: application/json").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"data"`) {
			t.Errorf("seed curl: %v %s", err, out)
		}
	}

	// Plain HTTP to the HTTPS port is refused before any handler.
	resp, err := http.Get(strings.Replace(s.url, "https://", "http://", 1) + "/v1/data")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("plain HTTP: %d, want 400", resp.StatusCode)
		}
	}

	// Keys persist across a restart.
	s.stop(t)
	s = e.startServer()
	if code, _, _ := s.do(t, "GET", "/v1/data", next.Key, nil); code != 200 {
		t.Errorf("after restart: %d", code)
	}
	if code, _, _ := s.do(t, "GET", "/v1/data", reader.Key, nil); code != 401 {
		t.Errorf("revoked key after restart: %d", code)
	}
	s.stop(t)
	// Last-used is flushed on shutdown.
	var listed []listedKey
	e.jsonOK(&listed, "apikey", "list", "--json")
	for _, l := range listed {
		if l.ID == next.ID && l.LastUsedAt == nil {
			t.Errorf("last_used_at of a used key is null after shutdown")
		}
	}
}

func testServeClientCredentials(t *testing.T, e *env) {
	var c client
	e.jsonOK(&c, "client", "create", "--name", "Backend", "--type", "server", "--scope", "data:read", "--json")
	s := e.startServer()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: *c.ClientSecret, TokenURL: s.url + "/oauth/token"}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials token: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Errorf("token = %+v", tok)
	}
	if code, body, _ := s.do(t, "GET", "/v1/data", tok.AccessToken, nil); code != 200 || !strings.Contains(body, `"method":"client_credentials"`) {
		t.Errorf("/v1/data with token: %d %s", code, body)
	}
	if code, _, _ := s.do(t, "GET", "/v1/user/profile", tok.AccessToken, nil); code != 403 {
		t.Errorf("profile with a client token: %d, want 403", code)
	}

	// The seed's token request, verbatim but for the host and --cacert.
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--cacert", filepath.Join(e.dataDir, "tls-cert.pem"), "-X", "POST",
			s.url+"/oauth/token", "-H", "Content-Type: application/x-www-form-urlencoded",
			"-d", "grant_type=client_credentials&client_id="+c.ClientID+"&client_secret="+*c.ClientSecret).CombinedOutput()
		var tr struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err != nil || json.Unmarshal(out, &tr) != nil || tr.AccessToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 {
			t.Errorf("seed token curl: %v %s", err, out)
		}
	} else {
		t.Log("curl not installed: skipping the verbatim seed request")
	}

	// Rotating the signing key (CLI, another process): tokens signed
	// before keep working, new tokens carry the new key ID.
	oldKid := tokenKid(t, tok.AccessToken)
	unused, err := cc.Token(ctx) // never verified before the rotation
	if err != nil {
		t.Fatal(err)
	}
	e.ok("signing-key", "rotate")
	eventually(t, 2*time.Second, "new tokens signed with the rotated key", func() bool {
		fresh, err := cc.Token(ctx)
		return err == nil && tokenKid(t, fresh.AccessToken) != oldKid
	})
	if code, _, _ := s.do(t, "GET", "/v1/data", unused.AccessToken, nil); code != 200 {
		t.Errorf("token signed before the rotation: %d, want 200", code)
	}
	fresh, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := s.do(t, "GET", "/v1/data", fresh.AccessToken, nil); code != 200 {
		t.Errorf("token signed after the rotation: %d, want 200", code)
	}

	// Revoked at /oauth/revoke: the API refuses it at once.
	form := url.Values{"token": {tok.AccessToken}, "client_id": {c.ClientID}, "client_secret": {*c.ClientSecret}}
	if code, body, _ := s.do(t, "POST", "/oauth/revoke", "", strings.NewReader(form.Encode())); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _, _ := s.do(t, "GET", "/v1/data", tok.AccessToken, nil); code != 401 {
		t.Errorf("revoked token: %d, want 401", code)
	}

	// A deleted client gets no more tokens, and the tokens it has stop
	// working within the change log's delay.
	live, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.ok("client", "delete", c.ClientID)
	eventually(t, 2*time.Second, "deleted client's token refused", func() bool {
		code, _, _ := s.do(t, "GET", "/v1/data", live.AccessToken, nil)
		return code == 401
	})
	if _, err := cc.Token(ctx); err == nil {
		t.Error("deleted client got a token")
	}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func testServeAuthorizationCode(t *testing.T, e *env) {
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	var c client
	e.jsonOK(&c, "client", "create", "--name", "Photo Printer", "--type", "web",
		"--redirect-uri", "https://printer.example/callback", "--scope", "profile:read", "--scope", "data:read", "--json")
	s := e.startServer()
	conf := oauth2.Config{
		ClientID: c.ClientID, ClientSecret: *c.ClientSecret, RedirectURL: "https://printer.example/callback",
		Scopes:   []string{"profile:read"},
		Endpoint: oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize", TokenURL: s.url + "/oauth/token"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("xyz-state", oauth2.S256ChallengeOption(verifier))
	path := strings.TrimPrefix(authURL, s.url)

	code, page, hdr := s.do(t, "GET", path, "", nil)
	if code != 200 || !strings.Contains(page, "Photo Printer") {
		t.Fatalf("consent page: %d\n%s", code, page)
	}
	// Scopes are described in the catalog's words.
	if diff := cmp.Diff(wantConsentScopes(t, "profile:read"), consentScopes(page)); diff != "" {
		t.Errorf("consent page scopes (-want +got):\n%s", diff)
	}
	both := conf
	both.Scopes = []string{"profile:read", "data:read"}
	if code, page, _ := s.do(t, "GET", strings.TrimPrefix(both.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)), s.url), "", nil); code != 200 {
		t.Errorf("consent page for two scopes: %d\n%s", code, page)
	} else if diff := cmp.Diff(wantConsentScopes(t, "data:read", "profile:read"), consentScopes(page)); diff != "" {
		t.Errorf("consent page scopes for two scopes (-want +got):\n%s", diff)
	}
	if hdr.Get("X-Frame-Options") != "DENY" || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("consent page framing headers: %v", hdr)
	}
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	form.Set("username", "ann")

	// A wrong password shows the page again, with a generic message.
	form.Set("password", "wrong password")
	form.Set("decision", "allow")
	code, body, _ := s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode()))
	if code != 200 || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", code, body)
	}

	form.Set("password", "correct horse battery")
	code, _, hdr = s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode()))
	if code != 303 {
		t.Fatalf("approve: %d, want 303", code)
	}
	loc, err := url.Parse(hdr.Get("Location"))
	if err != nil || loc.Host != "printer.example" || loc.Query().Get("state") != "xyz-state" || loc.Query().Get("iss") != s.issuer {
		t.Fatalf("redirect = %q", hdr.Get("Location"))
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token from the code flow")
	}
	code, body, _ = s.do(t, "GET", "/v1/user/profile", tok.AccessToken, nil)
	var profile struct{ Sub, Username string }
	if code != 200 || json.Unmarshal([]byte(body), &profile) != nil || profile.Username != "ann" || !strings.HasPrefix(profile.Sub, "usr_") {
		t.Fatalf("profile: %d %s", code, body)
	}
	// Not granted data:read.
	if code, _, _ := s.do(t, "GET", "/v1/data", tok.AccessToken, nil); code != 403 {
		t.Errorf("/v1/data without the scope: %d, want 403", code)
	}
	// Refresh gives a new working access token.
	refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken {
		t.Error("refresh did not rotate")
	}
	if code, _, _ := s.do(t, "GET", "/v1/user/profile", refreshed.AccessToken, nil); code != 200 {
		t.Errorf("profile with refreshed token: %d", code)
	}

	// The code is single-use, and a replay revokes what it issued
	// (RFC 6749 §4.1.2): the grant's tokens stop working.
	if _, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("code redeemed twice")
	}
	if code, _, _ := s.do(t, "GET", "/v1/user/profile", refreshed.AccessToken, nil); code != 401 {
		t.Errorf("token of a replayed code's grant: %d, want 401", code)
	}

	// Deny goes back to the client with access_denied.
	form.Set("decision", "deny")
	code, _, hdr = s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode()))
	if loc, _ := url.Parse(hdr.Get("Location")); code != 303 || loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Errorf("deny: %d %q", code, hdr.Get("Location"))
	}

	// A cross-origin POST of the form is refused.
	req, _ := http.NewRequest("POST", s.url+"/oauth/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("cross-origin POST: %d, want 403", resp.StatusCode)
	}

	// Guessing passwords is throttled per username: after 5 failures (the
	// wrong password above and 4 more) the page answers 429 without
	// checking the password, even a right one.
	form.Set("decision", "allow")
	for i := range 4 {
		form.Set("password", fmt.Sprintf("guess %d", i))
		if code, _, _ := s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode())); code != 200 {
			t.Fatalf("guess %d: %d, want 200 (the page again)", i, code)
		}
	}
	form.Set("password", "correct horse battery")
	if code, body, _ := s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode())); code != 429 || !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("after 5 failures: %d, want 429", code)
	}

	// A redirect URI that is not registered exactly: a 400 page, no redirect.
	bad := strings.Replace(authURL, url.QueryEscape("https://printer.example/callback"), url.QueryEscape("https://printer.example/callback/"), 1)
	code, _, hdr = s.do(t, "GET", strings.TrimPrefix(bad, s.url), "", nil)
	if code != 400 || hdr.Get("Location") != "" {
		t.Errorf("unregistered redirect URI: %d %q", code, hdr.Get("Location"))
	}
}

// tokenKid returns the "kid" of a JWS's header.
func tokenKid(t *testing.T, token string) string {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return hdr.Kid
}
