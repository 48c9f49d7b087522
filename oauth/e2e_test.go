package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestEndToEnd drives the server with golang.org/x/oauth2 over real TLS
// connections (httptest.NewRequest fills fields a real server leaves
// empty, so recorder tests alone are not enough), then sends the tokens
// through auth + jwt.Verifier to a protected handler: client credentials,
// authorization code with PKCE, refresh, revocation and introspection.
func TestEndToEnd(t *testing.T) {
	// The issuer is the TLS server's URL, known only once it runs; the
	// handler is set right after, before any request.
	var handler atomic.Pointer[http.Handler]
	as := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	defer as.Close()
	f := newFixtureAt(t, as.URL, nil, time.Now)
	h := f.srv.Handler()
	handler.Store(&h)

	// The resource server: HTTPS only, tokens verified with the server's
	// keys and its revocation list.
	verifier, err := jwt.NewVerifier(jwt.Config{
		Issuer:     as.URL,
		Audiences:  []string{testAudience},
		Algorithms: []string{jwt.ES256},
		JWKSURLs:   []string{as.URL + "/.well-known/jwks.json"},
		HTTPClient: as.Client(),
		Revoked:    f.srv.IsRevoked,
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	defer verifier.Close()
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{verifier}})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	api := httptest.NewTLSServer(auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(auth.RequireScopes("read")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := auth.FromContext(r.Context())
			fmt.Fprintf(w, "%s %s %s", p.Method, p.Subject, p.ClientID)
		})))))
	defer api.Close()

	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, as.Client())
	callAPI := func(t *testing.T, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/v1/data", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := api.Client().Do(req)
		if err != nil {
			t.Fatalf("API call: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	postForm := func(t *testing.T, path, id, secret string, v url.Values) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, as.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		resp, err := as.Client().Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	t.Run("client credentials", func(t *testing.T) {
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := clientcredentials.Config{
				ClientID:     f.svcID,
				ClientSecret: f.svcSecret,
				TokenURL:     as.URL + "/oauth/token",
				Scopes:       []string{"read"},
				AuthStyle:    style,
			}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("Token (auth style %d): %v", style, err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || time.Until(tok.Expiry) < 59*time.Minute {
				t.Errorf("token: got type %q, refresh %q, expiry %v; want Bearer, none, in 1h", tok.TokenType, tok.RefreshToken, tok.Expiry)
			}
			status, body := callAPI(t, tok.AccessToken)
			if want := "client_credentials " + f.svcID + " " + f.svcID; status != 200 || body != want {
				t.Errorf("API: got %d %q, want 200 %q", status, body, want)
			}
		}
		// A wrong secret is a RetrieveError with the RFC 6749 code.
		cc := clientcredentials.Config{ClientID: f.svcID, ClientSecret: f.webSecret, TokenURL: as.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cc.Token(ctx)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Errorf("wrong secret: got %v, want a 401 invalid_client RetrieveError", err)
		}
	})

	conf := &oauth2.Config{
		ClientID:     f.webID,
		ClientSecret: f.webSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   as.URL + "/oauth/authorize",
			TokenURL:  as.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: webRedirect,
		Scopes:      []string{"read", "write"},
	}
	// authorize follows the authorization request to its 303 and returns
	// the redirect's parameters.
	authorize := func(t *testing.T, authURL string) url.Values {
		t.Helper()
		c := as.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(authURL)
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("authorize: got %d, want 303", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc.Query()
	}

	var tok *oauth2.Token
	t.Run("authorization code with PKCE", func(t *testing.T) {
		verifierS := oauth2.GenerateVerifier()
		q := authorize(t, conf.AuthCodeURL("state-42", oauth2.S256ChallengeOption(verifierS)))
		if q.Get("state") != "state-42" || q.Get("iss") != as.URL {
			t.Fatalf("authorization response: state %q iss %q; want state-42 and %s", q.Get("state"), q.Get("iss"), as.URL)
		}
		// Without the verifier the code is refused (and burnt).
		if _, err := conf.Exchange(ctx, q.Get("code")); err == nil {
			t.Fatalf("Exchange without verifier: got a token, want invalid_grant")
		}
		q = authorize(t, conf.AuthCodeURL("state-43", oauth2.S256ChallengeOption(verifierS)))
		var err error
		tok, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifierS))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Fatalf("no refresh token")
		}
		status, body := callAPI(t, tok.AccessToken)
		if want := "authorization_code alice " + f.webID; status != 200 || body != want {
			t.Errorf("API: got %d %q, want 200 %q", status, body, want)
		}
	})
	if tok == nil {
		t.FailNow()
	}

	var refreshed *oauth2.Token
	t.Run("refresh", func(t *testing.T) {
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute) // make the source refresh
		var err error
		refreshed, err = conf.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if refreshed.AccessToken == tok.AccessToken || refreshed.RefreshToken == tok.RefreshToken || refreshed.RefreshToken == "" {
			t.Errorf("refresh did not rotate both tokens")
		}
		if status, _ := callAPI(t, refreshed.AccessToken); status != 200 {
			t.Errorf("API with the refreshed token: got %d, want 200", status)
		}
	})
	if refreshed == nil {
		t.FailNow()
	}

	t.Run("introspect", func(t *testing.T) {
		status, body := postForm(t, "/oauth/introspect", f.svcID, f.svcSecret, url.Values{"token": {refreshed.AccessToken}})
		var got struct {
			Active   bool   `json:"active"`
			Subject  string `json:"sub"`
			ClientID string `json:"client_id"`
		}
		if err := json.Unmarshal(body, &got); status != 200 || err != nil || !got.Active || got.Subject != "alice" || got.ClientID != f.webID {
			t.Errorf("introspection: got %d %s, want active for alice via the web client", status, body)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		status, _ := postForm(t, "/oauth/revoke", f.webID, f.webSecret, url.Values{"token": {refreshed.RefreshToken}, "token_type_hint": {"refresh_token"}})
		if status != 200 {
			t.Fatalf("revoke: got %d, want 200", status)
		}
		// Revoking the refresh token revoked the grant's access tokens:
		// the resource server refuses them now.
		if status, _ := callAPI(t, refreshed.AccessToken); status != 401 {
			t.Errorf("API after revocation: got %d, want 401", status)
		}
		_, body := postForm(t, "/oauth/introspect", f.svcID, f.svcSecret, url.Values{"token": {refreshed.AccessToken}})
		if string(body) != `{"active":false}` {
			t.Errorf("introspection after revocation: got %s, want {\"active\":false}", body)
		}
		expired := *refreshed
		expired.Expiry = time.Now().Add(-time.Minute)
		if _, err := conf.TokenSource(ctx, &expired).Token(); err == nil {
			t.Errorf("refresh after revocation: got a token, want invalid_grant")
		}
	})
}
