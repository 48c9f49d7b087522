package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/audexum/auth"
)

// staticKeys is a toy Verifier for the examples: real code uses the
// apikey and jwt packages' verifiers.
func staticKeys() auth.Verifier {
	keys := map[string]*auth.Principal{
		"key-reader": {Subject: "reporting-app", Method: auth.MethodAPIKey, CredentialID: "k1", Scopes: auth.MustScopes("data:read")},
		"key-writer": {Subject: "ingest-app", Method: auth.MethodAPIKey, CredentialID: "k2", Scopes: auth.MustScopes("data:read", "data:write")},
	}
	return auth.VerifierFunc(func(ctx context.Context, cred string) (*auth.Principal, error) {
		if p, ok := keys[cred]; ok {
			return p, nil
		}
		return nil, auth.ErrUnknownCredential
	})
}

// do sends a request over "TLS" to h and prints what the caller sees.
func do(h http.Handler, method, target, authorization string) {
	r := httptest.NewRequest(method, target, nil)
	r.TLS = &tls.ConnectionState{} // as a TLS-terminating http.Server sets it
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
}

// Wrap a handler with an Authenticator. Every failure gets the same
// generic answer; the reason goes to OnFailure only.
func ExampleNew() {
	authn, err := auth.New(auth.Config{
		Verifiers: []auth.Verifier{staticKeys()},
		OnFailure: func(e auth.Event) { fmt.Println("hook:", e.Err) },
	})
	if err != nil {
		panic(err)
	}
	h := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", p.Subject)
	}))

	do(h, "GET", "/v1/data", "Bearer key-reader")
	do(h, "GET", "/v1/data", "Bearer key-unknown")
	do(h, "GET", "/v1/data", "")
	// Output:
	// 200  hello reporting-app
	// hook: auth: unknown credential
	// 401 Bearer realm="api", error="invalid_token" {"error":"invalid_token","message":"Authentication failed"}
	// hook: auth: no credential
	// 401 Bearer realm="api" {"error":"unauthorized","message":"Authentication failed"}
}

// Put scope checks in route definitions, after the Authenticator. A
// missing scope is 403 insufficient_scope naming what the route needs.
// Matching is by whole token: "data:read" does not grant "data:write".
func ExampleRequireScopes() {
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{staticKeys()}})
	if err != nil {
		panic(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /v1/data", auth.RequireScopes("data:read")(ok))
	mux.Handle("POST /v1/data", auth.RequireScopes("data:write")(ok))
	h := authn.Handler(mux)

	do(h, "GET", "/v1/data", "Bearer key-reader")
	do(h, "POST", "/v1/data", "Bearer key-reader")
	do(h, "POST", "/v1/data", "Bearer key-writer")
	// Output:
	// 200  ok
	// 403 Bearer realm="api", error="insufficient_scope", scope="data:write" {"error":"insufficient_scope","message":"Insufficient scope"}
	// 200  ok
}

// A route that acts for a person's account (a profile) decides which
// account each credential acts for. Here the ingest app's key belongs to
// the account usr_ann and the reporting app's key to nobody (the
// operator's): the unowned key gets the constant insufficient_scope answer,
// and the reason goes to OnFailure. Servers on the oauth package use its
// AccountResolver, which also follows a client-credentials token to the
// client's owner.
func ExampleRequireAccount() {
	authn, err := auth.New(auth.Config{
		Verifiers: []auth.Verifier{staticKeys()},
		OnFailure: func(e auth.Event) { fmt.Println("hook:", e.Err) },
	})
	if err != nil {
		panic(err)
	}
	owners := map[string]string{"ingest-app": "usr_ann"}
	accounts := func(ctx context.Context, p *auth.Principal) (string, error) {
		if id, ok := owners[p.Subject]; ok {
			return id, nil
		}
		return "", fmt.Errorf("%w: %s has no owner", auth.ErrNoAccount, p.Subject)
	}
	profile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.AccountFromContext(r.Context())
		fmt.Fprintf(w, "profile of %s", id)
	})
	h := authn.Handler(auth.RequireScopes("data:read")(auth.RequireAccount(accounts)(profile)))

	do(h, "GET", "/v1/user/profile", "Bearer key-writer")
	do(h, "GET", "/v1/user/profile", "Bearer key-reader")
	// Output:
	// 200  profile of usr_ann
	// hook: auth: principal acts for no account: reporting-app has no owner
	// 403 Bearer realm="api", error="insufficient_scope" {"error":"insufficient_scope","message":"Insufficient scope"}
}

// Declare the server's scopes once, in a catalog, and give the same
// catalog to everything that issues credentials (apikey.ManagerConfig,
// oauth.Config): a key, client or token with a scope outside it is
// refused, and consent pages describe scopes with its descriptions. Scopes
// are case-sensitive; the error says so for a near miss.
func ExampleScopeCatalog() {
	catalog, err := auth.NewScopeCatalog([]auth.ScopeInfo{
		{Name: "data:read", Description: "read your data"},
		{Name: "data:write", Description: "create and change your data"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(catalog.Check(auth.MustScopes("data:read")))
	fmt.Println(catalog.Check(auth.MustScopes("data:raed")))
	fmt.Println(catalog.Check(auth.MustScopes("Data:Read")))
	d, _ := catalog.Describe("data:write")
	fmt.Println(d)
	// Output:
	// <nil>
	// auth: unknown scope "data:raed"; known scopes: data:read, data:write
	// auth: unknown scope "Data:Read"; scopes are case-sensitive; did you mean data:read?
	// create and change your data
}

// Put RequireHTTPS first. Plain HTTP is refused with 403, never
// redirected: by the time a redirect could be sent the credential has
// crossed the network in clear, and a redirect teaches clients that it
// works. Behind a TLS-terminating proxy, name the proxy's network, and
// only then is its X-Forwarded-Proto believed.
func ExampleRequireHTTPS() {
	requireHTTPS := auth.RequireHTTPS(auth.HTTPSConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	h := requireHTTPS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	for _, c := range []struct {
		remote, proto string
	}{
		{"10.0.0.7:41000", "https"},    // our proxy terminated TLS
		{"203.0.113.9:41000", "https"}, // anyone can send the header
		{"203.0.113.9:41000", ""},      // plain HTTP
	} {
		r := httptest.NewRequest("GET", "http://api.example/v1/data", nil)
		r.RemoteAddr = c.remote
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Strict-Transport-Security"), w.Body.String())
	}
	// Output:
	// 200 max-age=63072000; includeSubDomains ok
	// 403  {"error":"https_required","message":"HTTPS is required"}
	// 403  {"error":"https_required","message":"HTTPS is required"}
}

// Read the principal in a handler. A client acting for itself (an API key
// or a client-credentials token) is never a user: check IsUser before
// treating the subject as a person.
func ExampleFromContext() {
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{staticKeys()}})
	if err != nil {
		panic(err)
	}
	h := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "subject=%s method=%s key=%s user=%v scopes=%q",
			p.Subject, p.Method, p.CredentialID, p.IsUser(), p.Scopes)
	}))
	do(h, "GET", "/v1/data", "Bearer key-writer")
	// Output:
	// 200  subject=ingest-app method=api_key key=k2 user=false scopes="data:read data:write"
}

// With Optional, a request without a credential reaches the handler
// anonymously, while a request with a bad credential is still refused:
// presenting an invalid credential never downgrades to anonymous.
func ExampleConfig_optional() {
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{staticKeys()}, Optional: true})
	if err != nil {
		panic(err)
	}
	h := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "hello %s", p.Subject)
			return
		}
		fmt.Fprint(w, "hello stranger")
	}))
	do(h, "GET", "/", "")
	do(h, "GET", "/", "Bearer key-reader")
	do(h, "GET", "/", "Bearer key-stolen")
	// Output:
	// 200  hello stranger
	// 200  hello reporting-app
	// 401 Bearer realm="api", error="invalid_token" {"error":"invalid_token","message":"Authentication failed"}
}

// Throttle failed attempts so that guessing credentials is slow and cheap
// to refuse: after MaxFailures failures in a window, the address (an IPv6
// /64 counts as one) gets 429 before any verifier or store work. Behind a
// proxy, give its network so X-Forwarded-For is believed from it alone.
func ExampleThrottle() {
	throttle, err := auth.NewThrottle(auth.ThrottleConfig{MaxFailures: 3, FailureWindow: time.Minute})
	if err != nil {
		panic(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{staticKeys()}, Throttle: throttle})
	if err != nil {
		panic(err)
	}
	h := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	for _, cred := range []string{"guess-1", "guess-2", "guess-3", "guess-4", "key-reader"} {
		r := httptest.NewRequest("GET", "/v1/data", nil)
		r.RemoteAddr = "203.0.113.9:41000"
		r.Header.Set("Authorization", "Bearer "+cred)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s %d Retry-After=%q\n", cred, w.Code, w.Header().Get("Retry-After"))
	}
	// Output:
	// guess-1 401 Retry-After=""
	// guess-2 401 Retry-After=""
	// guess-3 401 Retry-After=""
	// guess-4 429 Retry-After="60"
	// key-reader 429 Retry-After="60"
}

// Count sign-in attempts with the password policy: an attempt is reserved
// before the password is checked (so a burst cannot outrun the count) and
// only failures are recorded. The guesser is stopped on its own network;
// the account's owner, elsewhere, still signs in.
func ExampleAttemptCounter() {
	counter, err := auth.NewAttemptCounter(auth.PasswordAttempts(nil))
	if err != nil {
		panic(err)
	}
	signIn := func(remoteAddr, username, password string) string {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = remoteAddr
		ctx := r.Context()
		a, err := counter.Reserve(ctx, auth.ClientNetwork(r, nil), username)
		if err != nil {
			var te *auth.ThrottledError
			errors.As(err, &te)
			return fmt.Sprintf("429, retry in %v", te.RetryAfter.Round(time.Minute))
		}
		if password != "correct horse battery" { // an argon2id check in real life
			a.Fail(ctx)
			return "wrong password"
		}
		a.Release()
		return "signed in"
	}
	for i := range 6 {
		fmt.Println("attacker:", signIn("203.0.113.7:5000", "ann", fmt.Sprint("guess ", i)))
	}
	fmt.Println("attacker:", signIn("203.0.113.7:5000", "ann", "correct horse battery"))
	fmt.Println("owner:   ", signIn("198.51.100.2:4000", "ann", "correct horse battery"))
	// Output:
	// attacker: wrong password
	// attacker: wrong password
	// attacker: wrong password
	// attacker: wrong password
	// attacker: wrong password
	// attacker: 429, retry in 15m0s
	// attacker: 429, retry in 15m0s
	// owner:    signed in
}
