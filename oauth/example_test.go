package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// scopeCatalog declares the server's scopes once. The same catalog goes
// to the apikey package's ManagerConfig and describes scopes on the
// consent page.
var scopeCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "create and change your data"},
})

// newExampleServer builds a server with memory stores and an ES256 key
// set, as a small deployment would.
func newExampleServer(consent func(http.ResponseWriter, *http.Request, *oauth.AuthorizeRequest)) *oauth.Server {
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	if err != nil {
		panic(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: keys})
	if err != nil {
		panic(err)
	}
	srv, err := oauth.NewServer(oauth.Config{
		Issuer:       "https://auth.example.com",
		Signer:       signer,
		JWKS:         keys.JWKSHandler(),
		Clients:      oauth.NewMemoryClientStore(),
		Grants:       oauth.NewMemoryGrantStore(),
		ScopeCatalog: scopeCatalog, // no client, code or token gets a scope outside it
		Audience:     []string{"https://api.example.com"},
		Consent:      consent,
	})
	if err != nil {
		panic(err)
	}
	return srv
}

// A server-to-server client obtains a token with the client credentials
// grant, exactly as in the product documentation: a form POST with the
// client ID and secret. Register such clients as oauth.ClientServer; the
// secret is shown once and only its hash is stored.
func Example_clientCredentials() {
	srv := newExampleServer(nil)
	client, secret, err := srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name:   "Billing service",
		Type:   oauth.ClientServer,
		Scopes: auth.MustScopes("data:read"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("secret prefix:", strings.SplitN(secret, "_", 2)[0], "length:", len(secret))

	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "client_secret": {secret}}
	r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/oauth/token", strings.NewReader(body.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)

	var resp struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	}
	json.Unmarshal(w.Body.Bytes(), &resp)
	fmt.Println(w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Pragma"))
	fmt.Println(resp.TokenType, resp.ExpiresIn)
	// Output:
	// secret prefix: adxcs length: 55
	// 200 no-store no-cache
	// Bearer 3600
}

// Give the server the scope catalog, declared once for the whole
// application. Registering a client with a scope outside it fails with
// auth.ErrUnknownScope, naming the scope; scopes are case-sensitive. The
// authorization and token endpoints answer invalid_scope to a request for
// a scope outside it, even from a client stored before the scope left the
// catalog.
func ExampleConfig_scopeCatalog() {
	srv := newExampleServer(nil)
	for _, scope := range []string{"data:raed", "Data:Read", "data:read"} {
		_, _, err := srv.ClientManager().Register(context.Background(), oauth.Registration{
			Name:   "Billing service",
			Type:   oauth.ClientServer,
			Scopes: auth.MustScopes(scope),
		})
		fmt.Println(errors.Is(err, auth.ErrUnknownScope), err)
	}
	// Output:
	// true oauth: invalid client registration: auth: unknown scope "data:raed"; known scopes: data:read, data:write
	// true oauth: invalid client registration: auth: unknown scope "Data:Read"; scopes are case-sensitive; did you mean data:read?
	// false <nil>
}

// Errors are RFC 6749 §5.2 JSON with constant text: a wrong secret and an
// unknown client look the same, and nothing from the request is echoed.
// A failed Basic attempt carries the Basic challenge.
func Example_errors() {
	srv := newExampleServer(nil)
	r := httptest.NewRequest(http.MethodPost, "https://auth.example.com/oauth/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("adxc_unknown", "adxcs_guess")
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Println(w.Body)
	// Output:
	// 401 Basic realm="oauth"
	// {"error":"invalid_client","error_description":"Client authentication failed."}
}

// The authorization code flow: the package validates the request and
// issues the code; the application logs the user in and asks for consent
// in Config.Consent, then calls Approve (or Deny). The redirect carries
// the code, the client's state and the issuer (RFC 9207).
func ExampleServer_Approve() {
	var srv *oauth.Server
	srv = newExampleServer(func(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest) {
		// A real application authenticates the user here and shows
		// req.Client.Name and req.Scopes on a consent page.
		srv.Approve(w, r, req, "user-123", req.Scopes)
	})
	client, _, err := srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name:         "Web app",
		Type:         oauth.ClientWeb,
		RedirectURIs: []string{"https://app.example.com/callback"},
		Scopes:       auth.MustScopes("data:read", "data:write"),
	})
	if err != nil {
		panic(err)
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client.ID},
		"redirect_uri":          {"https://app.example.com/callback"},
		"scope":                 {"data:read"},
		"state":                 {"af0ifjsldkj"},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
	}
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://auth.example.com/oauth/authorize?"+q.Encode(), nil))
	loc, _ := url.Parse(w.Header().Get("Location"))
	fmt.Println(w.Code, loc.Host+loc.Path)
	fmt.Println("code:", strings.HasPrefix(loc.Query().Get("code"), "adxac_"))
	fmt.Println("state:", loc.Query().Get("state"))
	fmt.Println("iss:", loc.Query().Get("iss"))
	fmt.Println(w.Header().Get("X-Frame-Options"), w.Header().Get("Referrer-Policy"))
	// Output:
	// 303 app.example.com/callback
	// code: true
	// state: af0ifjsldkj
	// iss: https://auth.example.com
	// DENY no-referrer
}

// A redirect URI that is not registered exactly is never redirected to:
// the user sees a 400 page instead, so a code can never be sent to an
// attacker's address.
func ExampleServer_ParseAuthorizeRequest() {
	srv := newExampleServer(nil)
	client, _, _ := srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name:         "Web app",
		Type:         oauth.ClientWeb,
		RedirectURIs: []string{"https://app.example.com/callback"},
	})
	q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {"https://app.example.com/callback/../evil"}}
	r := httptest.NewRequest(http.MethodGet, "https://auth.example.com/oauth/authorize?"+q.Encode(), nil)
	_, err := srv.ParseAuthorizeRequest(r)
	var ae *oauth.AuthorizeError
	if errors.As(err, &ae) {
		fmt.Println("redirects:", ae.Redirects())
	}
	w := httptest.NewRecorder()
	srv.WriteAuthorizeError(w, r, err)
	fmt.Println(w.Code, w.Header().Get("Location") == "", w.Header().Get("Content-Type"))
	// Output:
	// redirects: false
	// 400 true text/html; charset=utf-8
}

// Resource servers refuse revoked tokens when their verifier asks the
// authorization server: give it Server.IsRevoked (in the same process) as
// jwt.Config.Revoked.
func ExampleServer_IsRevoked() {
	srv := newExampleServer(nil)
	keys, _ := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	verifier, err := jwt.NewVerifier(jwt.Config{
		Issuer:     srv.Issuer(),
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.ES256},
		KeyManager: keys,
		Revoked:    srv.IsRevoked,
	})
	if err != nil {
		panic(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{verifier}})
	fmt.Println(authn != nil, err)
	revoked, err := srv.IsRevoked(context.Background(), "some-jti")
	fmt.Println(revoked, err)
	// Output:
	// true <nil>
	// false <nil>
}

// A resource server in the authorization server's process refuses the
// tokens of a deleted client: access tokens are self-contained JWTs, so
// deleting the client cannot revoke them one by one. Wrap the token
// verifier in a ClientGate, and give the gate, not the verifier, to the
// Authenticator and to Config.AccessTokenVerifier. Tell the gate of every
// client change: here by hand after ClientManager.Delete; with sqlstore,
// Store.Follow does it for changes made by any process.
func ExampleClientGate() {
	ctx := context.Background()
	const issuer, api = "https://auth.example.com", "https://api.example.com"
	keys, _ := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: keys})
	tokens, err := jwt.NewVerifier(jwt.Config{Issuer: issuer, Audiences: []string{api},
		Algorithms: []string{jwt.ES256}, KeyManager: keys})
	if err != nil {
		panic(err)
	}
	clients := oauth.NewMemoryClientStore()
	gate, err := oauth.NewClientGate(oauth.ClientGateConfig{Verifier: tokens, Clients: clients})
	if err != nil {
		panic(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{gate}})
	if err != nil {
		panic(err)
	}
	handler := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprint(w, "hello ", p.Subject)
	}))

	registry, _ := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: clients})
	client, _, _ := registry.Register(ctx, oauth.Registration{Name: "Billing", Type: oauth.ClientServer})
	tok, _ := signer.Sign(ctx, jwt.Claims{Subject: client.ID, ClientID: client.ID, Audience: []string{api}})
	call := func() {
		r := httptest.NewRequest(http.MethodGet, api+"/v1/data", nil)
		r.Header.Set("Authorization", "Bearer "+tok.Value)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.Replace(w.Body.String(), client.ID, "CLIENT", 1))
	}
	call()

	registry.Delete(ctx, client.ID)
	gate.Invalidate(client.ID)
	call()
	// Output:
	// 200 hello CLIENT
	// 401 {"error":"invalid_token","message":"Authentication failed"}
}

// Checking every access token for revocation need not cost a query per
// request: a RevocationCache answers from memory. Give it to the Server as
// Config.Grants, so that every revocation the server makes invalidates the
// cached answers at once, and its IsRevoked method to the verifier.
// MaxAge bounds how late a revocation made by another instance is seen.
func ExampleRevocationCache() {
	ctx := context.Background()
	const issuer, api = "https://auth.example.com", "https://api.example.com"
	grants, err := oauth.NewRevocationCache(oauth.RevocationCacheConfig{
		Grants: oauth.NewMemoryGrantStore(),
		MaxAge: time.Second,
	})
	if err != nil {
		panic(err)
	}
	keys, _ := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: keys})
	tokens, _ := jwt.NewVerifier(jwt.Config{Issuer: issuer, Audiences: []string{api},
		Algorithms: []string{jwt.ES256}, KeyManager: keys, Revoked: grants.IsRevoked})
	// oauth.Config{Grants: grants, AccessTokenVerifier: tokens, …}

	tok, _ := signer.Sign(ctx, jwt.Claims{Subject: "svc", ClientID: "svc", Audience: []string{api}})
	_, err = tokens.Verify(ctx, tok.Value)
	fmt.Println(err)
	// What the revocation endpoint does.
	grants.RevokeAccessToken(ctx, tok.ID, tok.ExpiresAt)
	_, err = tokens.Verify(ctx, tok.Value)
	fmt.Println(errors.Is(err, auth.ErrRevoked))
	// Output:
	// <nil>
	// true
}
