package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

const (
	testIssuer   = "https://as.example"
	testAudience = "https://api.example"
	webRedirect  = "https://app.example/callback"
	// A registered URI with a query of its own, kept in redirects.
	webRedirectQuery = "https://app.example/cb2?tenant=a%20b"
	mobileRedirect   = "http://127.0.0.1/cb"
	testVerifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

var testChallenge = func() string {
	s := sha256.Sum256([]byte(testVerifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}()

// clock is a settable clock shared by the server, the signer and the
// verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testCatalog is the fixture server's scope catalog.
var testCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "read", Description: "read your data"},
	{Name: "write", Description: "change your data"},
	{Name: "admin", Description: "administer your account"},
})

// fixture is a server with three registered clients.
type fixture struct {
	cfg      oauth.Config // the server's, after the options
	srv      *oauth.Server
	h        http.Handler
	clock    *clock
	clients  *oauth.MemoryClientStore
	grants   *oauth.MemoryGrantStore
	keys     *jwt.KeyManager
	verifier *jwt.Verifier

	svcID, svcSecret string // server client: client_credentials
	webID, webSecret string // web client: authorization_code, refresh_token
	mobID            string // mobile client: public

	mu     sync.Mutex
	events []oauth.Event
}

type fixtureOption func(*oauth.Config)

func newFixture(t testing.TB, opts ...fixtureOption) *fixture {
	t.Helper()
	c := newClock()
	return newFixtureAt(t, testIssuer, c, c.Now, opts...)
}

// newFixtureAt is newFixture with another issuer and clock.
func newFixtureAt(t testing.TB, issuer string, clk *clock, now func() time.Time, opts ...fixtureOption) *fixture {
	t.Helper()
	f := &fixture{clock: clk, clients: oauth.NewMemoryClientStore(), grants: oauth.NewMemoryGrantStore()}
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Now: now})
	if err != nil {
		t.Fatalf("NewKeyManager: %v", err)
	}
	f.keys = ks
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: ks, Now: now})
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	f.verifier, err = jwt.NewVerifier(jwt.Config{
		Issuer:     issuer,
		Audiences:  []string{testAudience},
		Algorithms: []string{jwt.ES256},
		KeyManager: ks,
		Now:        now,
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	cfg := oauth.Config{
		Issuer:              issuer,
		Signer:              signer,
		JWKS:                ks.JWKSHandler(),
		AccessTokenVerifier: f.verifier,
		Clients:             f.clients,
		Grants:              f.grants,
		ScopeCatalog:        testCatalog,
		Audience:            []string{testAudience},
		Now:                 now,
		OnEvent: func(e oauth.Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
		Consent: func(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest) {
			// The test application: the user "alice" approves what
			// was asked, unless the request says deny=1.
			if r.URL.Query().Get("deny") == "1" {
				f.srv.Deny(w, r, req)
				return
			}
			f.srv.Approve(w, r, req, "alice", req.Scopes)
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.cfg = cfg
	f.srv, err = oauth.NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	f.h = f.srv.Handler()
	ctx := context.Background()
	reg := f.srv.ClientManager()
	c, secret, err := reg.Register(ctx, oauth.Registration{Name: "Billing service", Type: oauth.ClientServer, Scopes: auth.MustScopes("read", "write"), DefaultScopes: auth.MustScopes("read")})
	if err != nil {
		t.Fatalf("Register server: %v", err)
	}
	f.svcID, f.svcSecret = c.ID, secret
	c, secret, err = reg.Register(ctx, oauth.Registration{Name: "Web app", Type: oauth.ClientWeb, RedirectURIs: []string{webRedirect, webRedirectQuery}, Scopes: auth.MustScopes("read", "write")})
	if err != nil {
		t.Fatalf("Register web: %v", err)
	}
	f.webID, f.webSecret = c.ID, secret
	c, _, err = reg.Register(ctx, oauth.Registration{Name: "Phone app", Type: oauth.ClientMobile, RedirectURIs: []string{mobileRedirect}, Scopes: auth.MustScopes("read")})
	if err != nil {
		t.Fatalf("Register mobile: %v", err)
	}
	f.mobID = c.ID
	return f
}

func (f *fixture) eventErrs() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []error
	for _, e := range f.events {
		if e.Err != nil {
			out = append(out, e.Err)
		}
	}
	return out
}

// serve runs r through the handler.
func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// form builds a form POST to path.
func form(path string, v url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://as.example"+path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// basic sets RFC 6749 §2.3.1 Basic credentials on r.
func basic(r *http.Request, id, secret string) *http.Request {
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r
}

// authorizeURL is a valid authorization request for the web client.
func (f *fixture) authorizeValues() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {f.webID},
		"redirect_uri":          {webRedirect},
		"scope":                 {"read write"},
		"state":                 {"xyz"},
		"code_challenge":        {testChallenge},
		"code_challenge_method": {"S256"},
	}
}

func authorizeRequest(v url.Values) *http.Request {
	return httptest.NewRequest(http.MethodGet, "https://as.example/oauth/authorize?"+v.Encode(), nil)
}

// code runs the authorization flow for v and returns the code.
func (f *fixture) code(t testing.TB, v url.Values) string {
	t.Helper()
	w := f.serve(authorizeRequest(v))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("authorize: got status %d, want 303", w.Code)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("authorize: no code in %s", loc.Redacted())
	}
	return code
}

// webCode returns a code for the web client with the default request.
func (f *fixture) webCode(t testing.TB) string { return f.code(t, f.authorizeValues()) }

func (f *fixture) exchangeValues(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {webRedirect},
		"code_verifier": {testVerifier},
	}
}

// tokens exchanges a web code and returns the token response.
func (f *fixture) tokens(t testing.TB) tokenBody {
	t.Helper()
	w := f.serve(basic(form("/oauth/token", f.exchangeValues(f.webCode(t))), f.webID, f.webSecret))
	if w.Code != http.StatusOK {
		t.Fatalf("code exchange: got %d %s, want 200", w.Code, w.Body)
	}
	return decodeToken(t, w)
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func decodeToken(t testing.TB, w *httptest.ResponseRecorder) tokenBody {
	t.Helper()
	var b tokenBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("decoding %q: %v", w.Body, err)
	}
	return b
}

// fakeSigner stands in where no token is signed.
type fakeSigner struct{}

func (fakeSigner) Sign(context.Context, jwt.Claims) (jwt.Token, error) {
	return jwt.Token{}, errors.New("fake signer: not for signing")
}
