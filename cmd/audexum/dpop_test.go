package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/audexum/auth/dpop"
)

// capture keeps the last request a transport sent, to replay it.
type capture struct {
	base http.RoundTripper
	mu   sync.Mutex
	last *http.Request
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.last = r.Clone(r.Context())
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// jwtClaims decodes an access token's claims.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func boundTo(t *testing.T, token string) string {
	cnf, _ := jwtClaims(t, token)["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// issuerTransport returns a transport that reaches s by its issuer's
// name, and the issuer's URL: the server's own URL and transport when
// they are the same, else one that dials the server's address for any
// name and checks its certificate for 127.0.0.1.
func issuerTransport(t *testing.T, s *server) (http.RoundTripper, string) {
	t.Helper()
	if s.issuer == s.url {
		return s.client.Transport, s.url
	}
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	tr := s.client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = u.Hostname()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, u.Host)
	}
	return tr, s.issuer
}

// testServeDPoP runs a mobile app's life with DPoP against the built
// binary: `client create` makes mobile clients require DPoP unless told
// --require-dpop=false; the code flow with PKCE and dpop_jkt; API calls
// with proofs; a captured request replayed, the token as Bearer and the
// refresh token without the key, all refused; a refresh with the key;
// introspection showing the binding.
func testServeDPoP(t *testing.T, e *env) {
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	var app, optOut, backend struct {
		client
		RequireDPoP bool `json:"require_dpop"`
	}
	e.jsonOK(&app, "client", "create", "--name", "Bank app", "--type", "mobile", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "data:read", "--json")
	e.jsonOK(&optOut, "client", "create", "--name", "Old app", "--type", "mobile", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "data:read", "--require-dpop=false", "--json")
	e.jsonOK(&backend, "client", "create", "--name", "Backend", "--type", "server", "--scope", "data:read", "--json")
	if !app.RequireDPoP || optOut.RequireDPoP || backend.RequireDPoP {
		t.Fatalf("require_dpop: mobile %v, mobile --require-dpop=false %v, server %v; want true, false, false", app.RequireDPoP, optOut.RequireDPoP, backend.RequireDPoP)
	}
	if out := e.ok("client", "create", "--name", "Phone", "--type", "mobile", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "data:read"); !strings.Contains(out, "DPoP-bound") {
		t.Errorf("text output does not say the client's tokens are DPoP-bound:\n%s", out)
	}
	s := e.startServer()
	// Proofs name the URI the client uses, and the token endpoint's must
	// be the one the issuer publishes: on PostgreSQL, where the issuer is
	// https://audexum.test, the client uses that name, dialled to the
	// server's address.
	base, root := issuerTransport(t, s)

	code, body, _ := s.do(t, "GET", "/.well-known/oauth-authorization-server", "", nil)
	var md struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &md) != nil || len(md.Algs) == 0 {
		t.Fatalf("metadata: %d %s", code, body)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(dpop.SignerConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	withKey := &http.Client{Transport: &dpop.Transport{Signer: signer, Base: base}, Timeout: 30 * time.Second}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, withKey)
	conf := oauth2.Config{
		ClientID: app.ClientID, RedirectURL: "http://127.0.0.1/cb", Scopes: []string{"data:read"},
		Endpoint: oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize", TokenURL: root + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}

	// The code flow, the code bound to the app's key (RFC 9449 §10).
	pkce := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("dpop_jkt", signer.Thumbprint()))
	code, page, _ := s.do(t, "GET", strings.TrimPrefix(authURL, s.url), "", nil)
	if code != 200 {
		t.Fatalf("consent page: %d", code)
	}
	form := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if form.Get("dpop_jkt") != signer.Thumbprint() {
		t.Fatalf("the consent form does not carry dpop_jkt: %v", form)
	}
	form.Set("username", "ann")
	form.Set("password", "correct horse battery")
	form.Set("decision", "allow")
	code, _, hdr := s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode()))
	loc, err := url.Parse(hdr.Get("Location"))
	if code != 303 || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("approve: %d %q", code, hdr.Get("Location"))
	}
	// Without a proof the code is refused (the client requires DPoP)
	// and spent; a fresh one is redeemed with the key.
	plain := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: base, Timeout: 30 * time.Second})
	var re *oauth2.RetrieveError
	if _, err := conf.Exchange(plain, loc.Query().Get("code"), oauth2.VerifierOption(pkce)); !errors.As(err, &re) || re.ErrorCode != "invalid_dpop_proof" {
		t.Errorf("code without a proof: got %v, want invalid_dpop_proof", err)
	}
	code, _, hdr = s.do(t, "POST", "/oauth/authorize", "", strings.NewReader(form.Encode()))
	if loc, err = url.Parse(hdr.Get("Location")); code != 303 || err != nil {
		t.Fatalf("approve again: %d", code)
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.Type() != "DPoP" || tok.RefreshToken == "" || boundTo(t, tok.AccessToken) != signer.Thumbprint() {
		t.Fatalf("exchange: token_type %q, cnf.jkt %q", tok.Type(), boundTo(t, tok.AccessToken))
	}

	// API calls with proofs.
	rec := &capture{base: &dpop.Transport{Signer: signer, Base: base}}
	api := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: rec}, Timeout: 30 * time.Second}
	resp, err := api.Get(root + "/v1/data")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"sub":"usr_`) {
		t.Fatalf("API call with a proof: %d %s", resp.StatusCode, b)
	}
	// The captured request, replayed as it was: refused.
	resp, err = base.RoundTrip(rec.last.WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if www := strings.Join(resp.Header.Values("WWW-Authenticate"), "\n"); resp.StatusCode != 401 || !strings.Contains(www, `DPoP realm="api", error="invalid_dpop_proof"`) {
		t.Errorf("replayed request: %d %q", resp.StatusCode, www)
	}
	// The token alone, as Bearer: refused.
	if code, body, _ := s.do(t, "GET", "/v1/data", tok.AccessToken, nil); code != 401 || !strings.Contains(body, "invalid_token") {
		t.Errorf("bound token as Bearer: %d %s", code, body)
	}

	// The refresh token without the key: refused, and not spent; with
	// the key: new tokens, bound to it.
	stale := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	if _, err := conf.TokenSource(plain, stale).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_dpop_proof" {
		t.Errorf("refresh without the key: got %v, want invalid_dpop_proof", err)
	}
	fresh, err := conf.TokenSource(ctx, stale).Token()
	if err != nil {
		t.Fatalf("refresh with the key: %v", err)
	}
	if fresh.Type() != "DPoP" || fresh.RefreshToken == tok.RefreshToken || boundTo(t, fresh.AccessToken) != signer.Thumbprint() {
		t.Errorf("refresh: token_type %q, rotated %v", fresh.Type(), fresh.RefreshToken != tok.RefreshToken)
	}

	// Introspection by a confidential client shows the binding.
	in := url.Values{"token": {fresh.AccessToken}, "client_id": {backend.ClientID}, "client_secret": {*backend.ClientSecret}}
	code, body, _ = s.do(t, "POST", "/oauth/introspect", "", strings.NewReader(in.Encode()))
	var intro struct {
		Active    bool   `json:"active"`
		TokenType string `json:"token_type"`
		Cnf       struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &intro) != nil || !intro.Active || intro.TokenType != "DPoP" || intro.Cnf.JKT != signer.Thumbprint() {
		t.Errorf("introspection: %d %s", code, body)
	}
}
