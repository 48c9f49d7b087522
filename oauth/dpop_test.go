package oauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// withDPoP gives the fixture's server a DPoP checker on its clock.
func withDPoP(t testing.TB, cfg dpop.Config) fixtureOption {
	return func(c *oauth.Config) {
		if cfg.Now == nil {
			cfg.Now = c.Now
		}
		ch, err := dpop.NewChecker(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.DPoP = ch
	}
}

func newSigner(t testing.TB, now func() time.Time) *dpop.Signer {
	t.Helper()
	var key crypto.Signer
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(dpop.SignerConfig{Key: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withProof adds a proof by s for the token endpoint to r.
func withProof(t testing.TB, s *dpop.Signer, r *http.Request, nonce string) *http.Request {
	t.Helper()
	p, err := s.Proof("POST", testIssuer+"/oauth/token", "", nonce)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("DPoP", p)
	return r
}

// mobileDPoPClient registers a mobile client that requires DPoP.
func (f *fixture) mobileDPoPClient(t testing.TB) string {
	t.Helper()
	c, _, err := f.srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name: "Bank app", Type: oauth.ClientMobile, RedirectURIs: []string{mobileRedirect},
		Scopes: auth.MustScopes("read"), RequireDPoP: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (f *fixture) mobileValues(clientID, jkt string) url.Values {
	v := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {mobileRedirect},
		"scope": {"read"}, "code_challenge": {testChallenge}, "code_challenge_method": {"S256"},
	}
	if jkt != "" {
		v.Set("dpop_jkt", jkt)
	}
	return v
}

func mobileExchange(clientID, code string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {mobileRedirect}, "code_verifier": {testVerifier},
	}
}

func refreshValues(clientID, refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {refresh}}
}

var jwtB64 = base64.RawURLEncoding

// tokenClaims decodes the claims of an access token.
func tokenClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := jwtB64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func cnfJKT(t testing.TB, tok string) string {
	c, _ := tokenClaims(t, tok)["cnf"].(map[string]any)
	s, _ := c["jkt"].(string)
	return s
}

// TestTokenEndpointDPoP: the token endpoint's DPoP rules, each with the
// error code the client sees and the reason the hook gets.
func TestTokenEndpointDPoP(t *testing.T) {
	f := newFixture(t, withDPoP(t, dpop.Config{}))
	key := newSigner(t, f.clock.Now)
	other := newSigner(t, f.clock.Now)
	mob := f.mobileDPoPClient(t)

	// A mobile client, code bound with dpop_jkt, redeemed with a proof.
	code := f.code(t, f.mobileValues(mob, key.Thumbprint()))
	w := f.serve(withProof(t, key, form("/oauth/token", mobileExchange(mob, code)), ""))
	tb := decodeToken(t, w)
	if w.Code != 200 || tb.TokenType != "DPoP" || cnfJKT(t, tb.AccessToken) != key.Thumbprint() || tb.RefreshToken == "" {
		t.Fatalf("exchange: %d %+v", w.Code, tb)
	}
	refresh := tb.RefreshToken

	tests := []struct {
		name   string
		req    func() *http.Request
		code   string // the RFC 6749 error code, "" for success
		reason error
	}{
		// RFC 9449 §5: a bound refresh token needs a proof by its key.
		{"refresh without a proof", func() *http.Request { return form("/oauth/token", refreshValues(mob, refresh)) }, "invalid_dpop_proof", oauth.ErrDPoPRequired},
		{"refresh with another key", func() *http.Request {
			return withProof(t, other, form("/oauth/token", refreshValues(mob, refresh)), "")
		}, "invalid_grant", oauth.ErrDPoPKey},
		{"refresh with a broken proof", func() *http.Request {
			r := form("/oauth/token", refreshValues(mob, refresh))
			r.Header.Set("DPoP", "a.b.c")
			return r
		}, "invalid_dpop_proof", dpop.ErrMalformed},
		{"refresh with a proof for another URI", func() *http.Request {
			r := form("/oauth/token", refreshValues(mob, refresh))
			p, _ := key.Proof("POST", "https://evil.example/oauth/token", "", "")
			r.Header.Set("DPoP", p)
			return r
		}, "invalid_dpop_proof", dpop.ErrURI},
		// None of the above spent the refresh token: the real client
		// refreshes.
		{"refresh with the key", func() *http.Request {
			return withProof(t, key, form("/oauth/token", refreshValues(mob, refresh)), "")
		}, "", nil},
		// A client that requires DPoP gets nothing without a proof.
		{"code without a proof, client requires DPoP", func() *http.Request {
			return form("/oauth/token", mobileExchange(mob, f.code(t, f.mobileValues(mob, ""))))
		}, "invalid_dpop_proof", oauth.ErrDPoPRequired},
		// RFC 9449 §10: the code is bound to dpop_jkt's key.
		{"code bound to another key", func() *http.Request {
			return withProof(t, other, form("/oauth/token", mobileExchange(mob, f.code(t, f.mobileValues(mob, key.Thumbprint())))), "")
		}, "invalid_grant", oauth.ErrDPoPKey},
		{"client credentials with a proof", func() *http.Request {
			return withProof(t, key, basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), f.svcID, f.svcSecret), "")
		}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.events = nil
			f.mu.Unlock()
			w := f.serve(tc.req())
			b := decodeToken(t, w)
			if b.Error != tc.code {
				t.Fatalf("got %d %+v, want error %q", w.Code, b, tc.code)
			}
			if tc.code == "" {
				if b.TokenType != "DPoP" || cnfJKT(t, b.AccessToken) != key.Thumbprint() {
					t.Errorf("got token_type %q, cnf.jkt %q; want DPoP bound to the proof's key", b.TokenType, cnfJKT(t, b.AccessToken))
				}
				if tc.name == "refresh with the key" {
					refresh = b.RefreshToken
				}
				return
			}
			if w.Code != 400 {
				t.Errorf("status %d, want 400", w.Code)
			}
			if errs := f.eventErrs(); len(errs) != 1 || !errors.Is(errs[0], tc.reason) {
				t.Errorf("hook: got %v, want %v", errs, tc.reason)
			}
		})
	}

	// The confidential web client's tokens: the access token is bound,
	// the refresh token is not (its client authentication binds it).
	w = f.serve(withProof(t, key, basic(form("/oauth/token", f.exchangeValues(f.webCode(t))), f.webID, f.webSecret), ""))
	tb = decodeToken(t, w)
	if w.Code != 200 || tb.TokenType != "DPoP" {
		t.Fatalf("web exchange: %d %+v", w.Code, tb)
	}
	if w := f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), f.webID, f.webSecret)); w.Code != 200 || decodeToken(t, w).TokenType != "Bearer" {
		t.Errorf("web refresh without a proof: %d %s, want 200 Bearer", w.Code, w.Body)
	}

	// A public client that does not require DPoP but used it: its bound
	// code and its bound refresh token still need a proof by the key
	// (checkBinding, not the client's RequireDPoP, refuses them).
	opt, _, err := f.srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name: "Optional DPoP app", Type: oauth.ClientMobile, RedirectURIs: []string{mobileRedirect},
		Scopes: auth.MustScopes("read"),
	})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, r *http.Request) {
		t.Helper()
		f.mu.Lock()
		f.events = nil
		f.mu.Unlock()
		w := f.serve(r)
		if b := decodeToken(t, w); w.Code != 400 || b.Error != "invalid_dpop_proof" {
			t.Errorf("%s: %d %+v, want 400 invalid_dpop_proof", what, w.Code, b)
		}
		if errs := f.eventErrs(); len(errs) != 1 || !errors.Is(errs[0], oauth.ErrDPoPRequired) {
			t.Errorf("%s: hook got %v, want ErrDPoPRequired", what, errs)
		}
	}
	refused("bound code without a proof", form("/oauth/token", mobileExchange(opt.ID, f.code(t, f.mobileValues(opt.ID, key.Thumbprint())))))
	w = f.serve(withProof(t, key, form("/oauth/token", mobileExchange(opt.ID, f.code(t, f.mobileValues(opt.ID, key.Thumbprint())))), ""))
	if tb = decodeToken(t, w); w.Code != 200 || tb.RefreshToken == "" {
		t.Fatalf("optional client's exchange with a proof: %d %+v", w.Code, tb)
	}
	refused("bound refresh token without a proof", form("/oauth/token", refreshValues(opt.ID, tb.RefreshToken)))

	// Metadata (RFC 9449 §5.1).
	mw := f.serve(httptest.NewRequest("GET", "https://as.example"+oauth.MetadataPath, nil))
	var md struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	if json.Unmarshal(mw.Body.Bytes(), &md) != nil || strings.Join(md.Algs, " ") != "ES256 EdDSA RS256 PS256" {
		t.Errorf("metadata: %s", mw.Body)
	}
}

// TestTokenEndpointNonce: with nonces required, the first proof gets 400
// use_dpop_nonce and a DPoP-Nonce; the proof with it gets tokens.
func TestTokenEndpointNonce(t *testing.T) {
	f := newFixture(t, withDPoP(t, dpop.Config{RequireNonce: true}))
	key := newSigner(t, f.clock.Now)
	req := func(nonce string) *http.Request {
		return withProof(t, key, basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), f.svcID, f.svcSecret), nonce)
	}
	w := f.serve(req(""))
	nonce := w.Header().Get("DPoP-Nonce")
	if b := decodeToken(t, w); w.Code != 400 || b.Error != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("no nonce: %d %+v nonce %q", w.Code, b, nonce)
	}
	if errs := f.eventErrs(); len(errs) != 1 || !errors.Is(errs[0], dpop.ErrNonce) {
		t.Errorf("hook: %v", errs)
	}
	if w := f.serve(req("stale")); w.Code != 400 || decodeToken(t, w).Error != "use_dpop_nonce" {
		t.Errorf("stale nonce: %d %s", w.Code, w.Body)
	}
	w = f.serve(req(nonce))
	if b := decodeToken(t, w); w.Code != 200 || b.TokenType != "DPoP" || w.Header().Get("DPoP-Nonce") == "" {
		t.Errorf("with the nonce: %d %+v", w.Code, b)
	}
}

// TestDPoPJKTParameter: dpop_jkt must be a thumbprint; a malformed one is
// sent back to the client as invalid_request.
func TestDPoPJKTParameter(t *testing.T) {
	f := newFixture(t, withDPoP(t, dpop.Config{}))
	for _, jkt := range []string{"short", strings.Repeat("+", 43), strings.Repeat("A", 42) + "="} {
		w := f.serve(authorizeRequest(f.mobileValues(f.mobID, jkt)))
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != 303 || loc.Query().Get("error") != "invalid_request" {
			t.Errorf("dpop_jkt %q: got %d %s", jkt, w.Code, w.Header().Get("Location"))
		}
	}
}

// TestTokenEndpointWithoutDPoP: a server without a checker ignores DPoP
// headers (RFC 9449 §5: the token is a bearer token), and cannot serve a
// client that requires DPoP.
func TestTokenEndpointWithoutDPoP(t *testing.T) {
	f := newFixture(t)
	key := newSigner(t, f.clock.Now)
	w := f.serve(withProof(t, key, basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), f.svcID, f.svcSecret), ""))
	if b := decodeToken(t, w); w.Code != 200 || b.TokenType != "Bearer" || cnfJKT(t, b.AccessToken) != "" {
		t.Errorf("proof ignored: %d %+v", w.Code, b)
	}
	mob := f.mobileDPoPClient(t)
	w = f.serve(withProof(t, key, form("/oauth/token", mobileExchange(mob, f.code(t, f.mobileValues(mob, "")))), ""))
	if b := decodeToken(t, w); b.Error != "invalid_dpop_proof" {
		t.Errorf("client requiring DPoP on a server without it: %d %+v", w.Code, b)
	}
}

// recorder keeps the last request a transport sent, to replay it.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	last *http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.last = req.Clone(req.Context())
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// TestDPoPEndToEnd runs a mobile app's whole life with DPoP over real TLS
// connections, with golang.org/x/oauth2 and dpop.Transport: the
// authorization code flow with PKCE and dpop_jkt, an API call with a
// proof, a refresh with a proof, introspection showing the binding; and
// what an attacker with copies gets: a captured request replayed, the
// token as Bearer, the refresh token without the key.
func TestDPoPEndToEnd(t *testing.T) {
	var handler atomic.Pointer[http.Handler]
	as := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	defer as.Close()
	// One replay store for the authorization server and the API, as
	// one deployment would have.
	replay, err := dpop.NewMemoryReplayCache(0)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureAt(t, as.URL, nil, time.Now, withDPoP(t, dpop.Config{Replay: replay}))
	h := f.srv.Handler()
	handler.Store(&h)
	mob := f.mobileDPoPClient(t)

	verifier, err := jwt.NewVerifier(jwt.Config{
		Issuer: as.URL, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256},
		JWKSURLs: []string{as.URL + "/.well-known/jwks.json"}, HTTPClient: as.Client(),
		Revoked: f.srv.IsRevoked, CacheSize: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer verifier.Close()
	checker, err := dpop.NewChecker(dpop.Config{Replay: replay})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{verifier}, DPoP: checker})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewTLSServer(auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(auth.RequireDPoP(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			io.WriteString(w, p.Subject+" "+p.KeyThumbprint)
		})))))
	defer api.Close()

	// The app's key, and its HTTP client: proofs on every request.
	var key crypto.Signer
	_, key, _ = ed25519.GenerateKey(rand.Reader)
	signer, err := dpop.NewSigner(dpop.SignerConfig{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	asHTTP := &http.Client{Transport: &dpop.Transport{Signer: signer, Base: as.Client().Transport}}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, asHTTP)
	conf := oauth2.Config{
		ClientID: mob, RedirectURL: mobileRedirect, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{AuthURL: as.URL + "/oauth/authorize", TokenURL: as.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}

	// 1. Authorization code with PKCE, the code bound to the app's key.
	pkce := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce), oauth2.SetAuthURLParam("dpop_jkt", signer.Thumbprint()))
	noRedirect := &http.Client{Transport: as.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.Type() != "DPoP" || tok.RefreshToken == "" || cnfJKT(t, tok.AccessToken) != signer.Thumbprint() {
		t.Fatalf("exchange: token_type %q, cnf.jkt %q", tok.Type(), cnfJKT(t, tok.AccessToken))
	}

	// 2. API calls with proofs, through oauth2.Transport, which writes
	// "Authorization: DPoP <token>" for a DPoP token.
	rec := &recorder{base: &dpop.Transport{Signer: signer, Base: api.Client().Transport}}
	apiHTTP := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: rec}}
	get := func(c *http.Client) (int, string) {
		t.Helper()
		resp, err := c.Get(api.URL + "/v1/data")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(apiHTTP); code != 200 || body != "alice "+signer.Thumbprint() {
		t.Fatalf("API call: %d %q", code, body)
	}

	// 3. A captured request, proof and all, replayed: refused.
	captured := rec.last
	resp, err = api.Client().Transport.RoundTrip(captured)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), "\n"), `error="invalid_dpop_proof"`) {
		t.Errorf("replayed request: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	// The token alone, as Bearer: refused (RFC 9449 §7.2).
	bearer := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok.AccessToken}), Base: api.Client().Transport}}
	if code, _ := get(bearer); code != 401 {
		t.Errorf("bound token as Bearer: %d, want 401", code)
	}

	// 4. Refresh with a proof: new tokens, bound to the same key.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || cnfJKT(t, fresh.AccessToken) != signer.Thumbprint() {
		t.Errorf("refresh: did not rotate, or not bound")
	}
	// The new refresh token without the key: refused, and not spent.
	plain := context.WithValue(t.Context(), oauth2.HTTPClient, as.Client())
	stolen := &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	var re *oauth2.RetrieveError
	if _, err := conf.TokenSource(plain, stolen).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_dpop_proof" {
		t.Errorf("refresh token without the key: got %v, want invalid_dpop_proof", err)
	}
	if _, err := conf.TokenSource(ctx, stolen).Token(); err != nil {
		t.Errorf("refresh by the app after the attempt: %v", err)
	}

	// 5. Introspection shows the binding (RFC 9449 §6.2).
	v := url.Values{"token": {fresh.AccessToken}}
	req, _ := http.NewRequest("POST", as.URL+"/oauth/introspect", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(f.svcID), url.QueryEscape(f.svcSecret))
	resp, err = as.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var in struct {
		Active    bool   `json:"active"`
		TokenType string `json:"token_type"`
		Cnf       struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil || !in.Active || in.TokenType != "DPoP" || in.Cnf.JKT != signer.Thumbprint() {
		t.Errorf("introspection: %+v, %v", in, err)
	}
}
