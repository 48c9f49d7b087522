package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stubVerifier claims credentials starting with "k_" and answers by name.
type stubVerifier struct{ calls atomic.Int64 }

func (v *stubVerifier) MatchShape(cred string) bool { return strings.HasPrefix(cred, "k_") }

func (v *stubVerifier) Verify(ctx context.Context, cred string) (*Principal, error) {
	v.calls.Add(1)
	switch cred {
	case "k_good", "k_good==":
		return &Principal{Subject: "app-1", Method: MethodAPIKey, CredentialID: "id1", Scopes: MustScopes("read", "write")}, nil
	case "k_readall":
		return &Principal{Subject: "app-2", Method: MethodAPIKey, Scopes: MustScopes("read:all")}, nil
	case "k_down":
		return nil, fmt.Errorf("store: %w", ErrUnavailable)
	case "k_expired":
		return nil, fmt.Errorf("stub: %w", ErrExpired)
	case "k_revoked":
		return nil, fmt.Errorf("stub: %w", ErrRevoked)
	case "k_nil":
		return nil, nil
	case "k_weird":
		return nil, errors.New("some internal failure with detail")
	}
	return nil, fmt.Errorf("stub: %w", ErrUnknownCredential)
}

func goodToken(n int) string { return "k_" + strings.Repeat("a", n-2) }

type result struct {
	Status  int
	WWWAuth string
	Body    string
	Called  bool // the protected handler ran
}

const (
	wantNoCred   = `{"error":"unauthorized","message":"Authentication failed"}`
	wantInvReq   = `{"error":"invalid_request","message":"Authentication failed"}`
	wantInvTok   = `{"error":"invalid_token","message":"Authentication failed"}`
	wantScope    = `{"error":"insufficient_scope","message":"Insufficient scope"}`
	wantUnavail  = `{"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}`
	hdrNoCred    = `Bearer realm="api"`
	hdrInvReq    = `Bearer realm="api", error="invalid_request"`
	hdrInvTok    = `Bearer realm="api", error="invalid_token"`
	hdrWriteOnly = `Bearer realm="api", error="insufficient_scope", scope="write"`
)

var (
	ok200      = result{Status: 200, Body: "ok", Called: true}
	noCred401  = result{Status: 401, WWWAuth: hdrNoCred, Body: wantNoCred}
	invTok401  = result{Status: 401, WWWAuth: hdrInvTok, Body: wantInvTok}
	invReq400  = result{Status: 400, WWWAuth: hdrInvReq, Body: wantInvReq}
	unavail503 = result{Status: 503, Body: wantUnavail}
)

func serve(h http.Handler, r *http.Request) result {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return result{
		Status:  rec.Code,
		WWWAuth: rec.Header().Get("WWW-Authenticate"),
		Body:    rec.Body.String(),
		Called:  rec.Body.String() == "ok",
	}
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
}

func newTestAuthenticator(t testing.TB, cfg Config) (*Authenticator, *stubVerifier) {
	t.Helper()
	v := &stubVerifier{}
	cfg.Verifiers = append(cfg.Verifiers, v)
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a, v
}

func TestHostileRequests(t *testing.T) {
	a, v := newTestAuthenticator(t, Config{})
	h := a.Handler(RequireScopes("read")(okHandler()))
	hw := a.Handler(RequireScopes("write")(okHandler()))
	hread := a.Handler(RequireScopes("read")(okHandler()))
	// No scope check behind it: a request let through unauthenticated
	// gets 200 here, where RequireScopes would still answer 401.
	hopen := a.Handler(okHandler())

	tests := []struct {
		name     string
		target   string
		headers  []string // "Name: value" pairs, added in order
		method   string
		handler  http.Handler
		want     result
		verified bool // whether the verifier must have been called
	}{
		// No Authorization at all: RFC 6750 §3.1 says no error code.
		{name: "no header", want: noCred401},
		// Another scheme is "no Bearer credential", answered like none.
		{name: "basic", headers: []string{"Authorization: Basic dXNlcjpwYXNz"}, want: noCred401},
		// Schemes are case-insensitive (RFC 9110 §11.1).
		{name: "bearer lowercase", headers: []string{"Authorization: bearer k_good"}, want: ok200, verified: true},
		{name: "BEARER uppercase", headers: []string{"Authorization: BEARER k_good"}, want: ok200, verified: true},
		// The scheme with no credential is a malformed Bearer credential.
		{name: "bearer no token", headers: []string{"Authorization: Bearer"}, want: invTok401},
		{name: "bearer space only", headers: []string{"Authorization: Bearer "}, want: invTok401},
		// 1*SP separates scheme and credential: two spaces are fine.
		{name: "two spaces", headers: []string{"Authorization: Bearer  k_good"}, want: ok200, verified: true},
		// A tab is not SP; it is not another scheme either (not a tchar).
		{name: "tab", headers: []string{"Authorization: Bearer\tk_good"}, want: invTok401},
		// Two headers: picking one would let a proxy and us disagree.
		{name: "two headers", headers: []string{"Authorization: Bearer k_good", "Authorization: Bearer k_good"}, want: invReq400},
		{name: "two headers one basic", headers: []string{"Authorization: Basic eA==", "Authorization: Bearer k_good"}, want: invReq400},
		// RFC 6750 §2: more than one method is invalid_request.
		{name: "header and query", target: "/?access_token=k_good", headers: []string{"Authorization: Bearer k_good"}, want: invReq400},
		// A query token alone is never used: it is as if none was sent.
		{name: "query alone", target: "/?access_token=k_good", want: noCred401},
		// url.ParseQuery would decode this name to access_token too.
		{name: "query name escaped", target: "/?x=1&access%5Ftoken=k_good", want: noCred401},
		{name: "query escaped with header", target: "/?access%5ftoken=x", headers: []string{"Authorization: Bearer k_good"}, want: invReq400},
		// Other parameters are nobody's business.
		{name: "unrelated query", target: "/?access_tokens=1&token=2", headers: []string{"Authorization: Bearer k_good"}, want: ok200, verified: true},
		// Characters outside b64token are refused before any verifier.
		{name: "quote", headers: []string{`Authorization: Bearer k_go"od`}, want: invTok401},
		{name: "comma", headers: []string{"Authorization: Bearer k_go,od"}, want: invTok401},
		{name: "backslash", headers: []string{`Authorization: Bearer k_go\od`}, want: invTok401},
		{name: "non-ASCII", headers: []string{"Authorization: Bearer k_gööd"}, want: invTok401},
		{name: "NUL", headers: []string{"Authorization: Bearer k_go\x00od"}, want: invTok401},
		{name: "credential with params", headers: []string{`Authorization: Bearer k_good, realm="x"`}, want: invTok401},
		// "=" only as trailing padding.
		{name: "padding", headers: []string{"Authorization: Bearer k_good=="}, want: ok200, verified: true},
		{name: "padding only", headers: []string{"Authorization: Bearer =="}, want: invTok401},
		{name: "inner equals", headers: []string{"Authorization: Bearer k_go=od"}, want: invTok401},
		// The length cap comes before anything else.
		{name: "4096 bytes", headers: []string{"Authorization: Bearer " + goodToken(4096)}, want: invTok401, verified: true},
		{name: "4097 bytes", headers: []string{"Authorization: Bearer " + goodToken(4097)}, want: invTok401},
		// No space: "Bearerabc" is a different scheme.
		{name: "scheme without space", headers: []string{"Authorization: Bearerk_good"}, want: noCred401},
		// b64token has no spaces, so trailing ones make it malformed.
		{name: "trailing spaces", headers: []string{"Authorization: Bearer k_good  "}, want: invTok401},
		// No verifier claims it: refused without calling one.
		{name: "unknown shape", headers: []string{"Authorization: Bearer eyJhbGciOi.x.y"}, want: invTok401},
		{name: "verifier error", headers: []string{"Authorization: Bearer k_unknown"}, want: invTok401, verified: true},
		// An error the verifier did not classify is never a pass.
		{name: "unclassified error", headers: []string{"Authorization: Bearer k_weird"}, want: invTok401, verified: true},
		// A verifier breaking its contract (nil, nil) fails closed.
		{name: "nil principal", headers: []string{"Authorization: Bearer k_nil"}, want: invTok401, verified: true},
		// The store is down: neither allowed nor declared invalid.
		{name: "unavailable", headers: []string{"Authorization: Bearer k_down"}, want: unavail503, verified: true},
		// Without AllowPreflight every OPTIONS is authenticated.
		{name: "preflight not allowed", method: "OPTIONS", headers: []string{"Origin: https://app.example", "Access-Control-Request-Method: GET"}, handler: hopen, want: noCred401},
		{name: "options authenticated", method: "OPTIONS", headers: []string{"Authorization: Bearer k_good"}, want: ok200, verified: true},
		// Scopes: whole-token, case-sensitive.
		{name: "missing scope", headers: []string{"Authorization: Bearer k_readall"}, handler: hw,
			want: result{Status: 403, WWWAuth: hdrWriteOnly, Body: wantScope}, verified: true},
		{name: "read:all is not read", headers: []string{"Authorization: Bearer k_readall"}, handler: hread,
			want: result{Status: 403, WWWAuth: `Bearer realm="api", error="insufficient_scope", scope="read"`, Body: wantScope}, verified: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == "" {
				target = "/"
			}
			method := tt.method
			if method == "" {
				method = "GET"
			}
			r := httptest.NewRequest(method, "https://api.example"+target, nil)
			for _, kv := range tt.headers {
				k, val, _ := strings.Cut(kv, ": ")
				r.Header.Add(k, val)
			}
			handler := tt.handler
			if handler == nil {
				handler = h
			}
			before := v.calls.Load()
			got := serve(handler, r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			if called := v.calls.Load() > before; called != tt.verified {
				t.Errorf("verifier called = %v, want %v", called, tt.verified)
			}
		})
	}
}

func TestFailureResponseHeaders(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{})
	h := a.Handler(okHandler())
	for _, cred := range []string{"", "k_unknown", "k_down"} {
		r := httptest.NewRequest("GET", "/", nil)
		if cred != "" {
			r.Header.Set("Authorization", "Bearer "+cred)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, want := range map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%q: %s = %q, want %q", cred, k, got, want)
			}
		}
		if cred == "k_down" {
			if got := rec.Header().Get("Retry-After"); got != "5" {
				t.Errorf("Retry-After = %q, want 5", got)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("503 WWW-Authenticate = %q, want none", got)
			}
		}
	}
}

func TestRealmAndRetryAfterConfig(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{Realm: "audexum", RetryAfter: 1500 * 1e6})
	h := a.Handler(RequireScopes("admin")(okHandler()))
	r := httptest.NewRequest("GET", "/", nil)
	got := serve(h, r)
	if got.WWWAuth != `Bearer realm="audexum"` {
		t.Errorf("WWW-Authenticate = %q, want realm audexum", got.WWWAuth)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer k_good")
	if got := serve(h, r); got.WWWAuth != `Bearer realm="audexum", error="insufficient_scope", scope="admin"` {
		t.Errorf("insufficient scope WWW-Authenticate = %q", got.WWWAuth)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer k_down")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (1.5 s rounded up)", got)
	}
}

func TestOptional(t *testing.T) {
	var failures []error
	a, _ := newTestAuthenticator(t, Config{Optional: true, OnFailure: func(e Event) { failures = append(failures, e.Err) }})
	var sawPrincipal *Principal
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawPrincipal, _ = FromContext(r.Context())
		w.Write([]byte("ok"))
	}))
	tests := []struct {
		name    string
		target  string
		auth    string
		want    result
		subject string
		reason  error
	}{
		{name: "anonymous", want: ok200},
		{name: "valid", auth: "Bearer k_good", want: ok200, subject: "app-1"},
		// Presenting a bad credential is never downgraded to anonymous.
		{name: "invalid", auth: "Bearer k_unknown", want: invTok401, reason: ErrUnknownCredential},
		{name: "malformed", auth: "Bearer k_go\"od", want: invTok401, reason: ErrMalformedCredential},
		{name: "unavailable", auth: "Bearer k_down", want: unavail503, reason: ErrUnavailable},
		// Exposure is reported even though the request goes on anonymous.
		{name: "query token", target: "/?access_token=x", want: ok200, reason: ErrCredentialInURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures, sawPrincipal = nil, nil
			r := httptest.NewRequest("GET", "https://api.example/"+tt.target, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if diff := cmp.Diff(tt.want, serve(h, r)); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			var subject string
			if sawPrincipal != nil {
				subject = sawPrincipal.Subject
			}
			if subject != tt.subject {
				t.Errorf("principal subject = %q, want %q", subject, tt.subject)
			}
			switch {
			case tt.reason == nil && len(failures) != 0:
				t.Errorf("OnFailure got %v, want no call", failures)
			case tt.reason != nil && (len(failures) != 1 || !errors.Is(failures[0], tt.reason)):
				t.Errorf("OnFailure got %v, want one call with %v", failures, tt.reason)
			}
		})
	}
}

func TestOptionalWithRequireScopesFailsClosed(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{Optional: true})
	h := a.Handler(RequireScopes("read")(okHandler()))
	if diff := cmp.Diff(noCred401, serve(h, httptest.NewRequest("GET", "/", nil))); diff != "" {
		t.Errorf("anonymous request on scoped route (-want +got):\n%s", diff)
	}
}

func TestPreflight(t *testing.T) {
	a, v := newTestAuthenticator(t, Config{AllowPreflight: true})
	h := a.Handler(okHandler())
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		want    result
	}{
		{name: "real preflight", method: "OPTIONS", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, want: ok200},
		// Without both CORS headers an OPTIONS is an ordinary request.
		{name: "options no origin", method: "OPTIONS", headers: map[string]string{"Access-Control-Request-Method": "POST"}, want: noCred401},
		{name: "options no request method", method: "OPTIONS", headers: map[string]string{"Origin": "https://app.example"}, want: noCred401},
		{name: "options empty request method", method: "OPTIONS", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": " "}, want: noCred401},
		// Preflight headers on a GET do not bypass anything.
		{name: "get with cors headers", method: "GET", headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, want: noCred401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			for k, val := range tt.headers {
				r.Header.Set(k, val)
			}
			if diff := cmp.Diff(tt.want, serve(h, r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if n := v.calls.Load(); n != 0 {
		t.Errorf("verifier called %d times, want 0", n)
	}
}

// TestNoLeak checks that every invalid_token answer is byte-identical
// whatever the reason, while the hook learns the specific reason.
func TestNoLeak(t *testing.T) {
	var got []error
	a, _ := newTestAuthenticator(t, Config{OnFailure: func(e Event) { got = append(got, e.Err) }})
	h := a.Handler(okHandler())
	cases := []struct {
		auth   string
		reason error
	}{
		{"Bearer k_unknown", ErrUnknownCredential},
		{"Bearer k_expired", ErrExpired},
		{"Bearer k_revoked", ErrRevoked},
		{"Bearer k_nil", ErrInvalidCredential},
		{"Bearer k_weird", nil}, // unclassified: reported as the verifier returned it
		{"Bearer eyJ.x.y", ErrUnknownShape},
		{"Bearer k_a\"b", ErrMalformedCredential},
		{"Bearer", ErrMalformedCredential},
		{"Bearer " + goodToken(5000), ErrCredentialTooLong},
		{"Bearer k_ab ", ErrMalformedCredential},
	}
	var first *httptest.ResponseRecorder
	for i, c := range cases {
		got = nil
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", c.auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 401 {
			t.Fatalf("case %d: status %d, want 401", i, rec.Code)
		}
		if first == nil {
			first = rec
		} else {
			if diff := cmp.Diff(first.Header(), rec.Header()); diff != "" {
				t.Errorf("case %d: headers differ from case 0:\n%s", i, diff)
			}
			if rec.Body.String() != first.Body.String() {
				t.Errorf("case %d: body %q, want %q", i, rec.Body, first.Body)
			}
		}
		if len(got) != 1 {
			t.Fatalf("case %d: hook called %d times, want 1", i, len(got))
		}
		if c.reason != nil && !errors.Is(got[0], c.reason) {
			t.Errorf("case %d: hook reason %v, want %v", i, got[0], c.reason)
		}
		if strings.Contains(rec.Body.String(), "internal") || strings.Contains(rec.Header().Get("WWW-Authenticate"), "k_") {
			t.Errorf("case %d: response leaks detail", i)
		}
	}
}

func TestHooks(t *testing.T) {
	var success, failure []Event
	a, _ := newTestAuthenticator(t, Config{
		OnSuccess: func(e Event) { success = append(success, e) },
		OnFailure: func(e Event) { failure = append(failure, e) },
	})
	h := a.Handler(RequireScopes("admin")(okHandler()))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer k_good")
	serve(h, r)
	if len(success) != 1 || success[0].Principal == nil || success[0].Principal.Subject != "app-1" {
		t.Fatalf("OnSuccess events = %+v, want one for app-1", success)
	}
	if len(failure) != 1 || !errors.Is(failure[0].Err, ErrInsufficientScope) || failure[0].Principal == nil {
		t.Fatalf("OnFailure events = %+v, want one insufficient scope with principal", failure)
	}
	fp := success[0].Fingerprint()
	if len(fp) != 12 || strings.Contains(fp, "k_good") {
		t.Errorf("Fingerprint = %q, want 12 hex digits", fp)
	}
	failure = nil
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer k_unknown")
	serve(h, r)
	if len(failure) != 1 || failure[0].Fingerprint() == fp || failure[0].Fingerprint() == "" {
		t.Errorf("failure fingerprint = %q, want a different non-empty one", failure[0].Fingerprint())
	}
}

func TestDispatchByShape(t *testing.T) {
	var jwtCalls, catchAll int
	jwtV := shapeFunc{
		match: func(c string) bool { return strings.Count(c, ".") == 2 },
		verify: func(ctx context.Context, c string) (*Principal, error) {
			jwtCalls++
			return &Principal{Subject: "user", Method: MethodAuthorizationCode}, nil
		},
	}
	keys := &stubVerifier{}
	last := VerifierFunc(func(ctx context.Context, c string) (*Principal, error) {
		catchAll++
		return nil, ErrUnknownCredential
	})
	a, err := New(Config{Verifiers: []Verifier{jwtV, keys, last}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cred                 string
		jwt, keyCalls, catch int
	}{
		{"a.b.c", 1, 0, 0},
		{"k_good", 1, 1, 0},
		{"other", 1, 1, 1},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+c.cred)
		a.Authenticate(r)
		if jwtCalls != c.jwt || int(keys.calls.Load()) != c.keyCalls || catchAll != c.catch {
			t.Errorf("after %q: calls jwt=%d key=%d catch-all=%d, want %d %d %d", c.cred, jwtCalls, keys.calls.Load(), catchAll, c.jwt, c.keyCalls, c.catch)
		}
	}
}

type shapeFunc struct {
	match  func(string) bool
	verify func(context.Context, string) (*Principal, error)
}

func (s shapeFunc) MatchShape(c string) bool { return s.match(c) }
func (s shapeFunc) Verify(ctx context.Context, c string) (*Principal, error) {
	return s.verify(ctx, c)
}

func TestNewErrors(t *testing.T) {
	catchAll := VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, nil })
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no verifiers", Config{}},
		{"nil verifier", Config{Verifiers: []Verifier{nil}}},
		{"catch-all not last", Config{Verifiers: []Verifier{catchAll, &stubVerifier{}}}},
		{"negative length", Config{Verifiers: []Verifier{catchAll}, MaxCredentialLength: -1}},
		{"negative retry", Config{Verifiers: []Verifier{catchAll}, RetryAfter: -1}},
		{"realm with quote", Config{Verifiers: []Verifier{catchAll}, Realm: `a"b`}},
		{"realm with newline", Config{Verifiers: []Verifier{catchAll}, Realm: "a\nb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) || a != nil {
				t.Errorf("New = %v, %v; want nil, ErrInvalidConfig", a, err)
			}
		})
	}
}

func TestHandlerNilPanics(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{})
	defer func() {
		if recover() == nil {
			t.Error("Handler(nil) did not panic")
		}
	}()
	a.Handler(nil)
}

// TestAuthenticatorServer drives the middleware through a real TLS server
// and client, where the request is built by net/http's server and not by
// httptest.NewRequest.
func TestAuthenticatorServer(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{})
	h := RequireHTTPS(HTTPSConfig{})(a.Handler(RequireScopes("read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		fmt.Fprint(w, p.Subject)
	}))))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := srv.Client()

	get := func(t *testing.T, target string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+target, nil)
		for _, v := range hdr {
			req.Header.Add("Authorization", v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(resp))
		return resp, b.String()
	}
	t.Run("valid", func(t *testing.T) {
		resp, body := get(t, "/", "Bearer k_good")
		if resp.StatusCode != 200 || body != "app-1" {
			t.Errorf("got %d %q, want 200 app-1", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != DefaultHSTS {
			t.Errorf("HSTS = %q, want %q", got, DefaultHSTS)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		resp, body := get(t, "/", "Bearer k_nope")
		if resp.StatusCode != 401 || body != wantInvTok || resp.Header.Get("WWW-Authenticate") != hdrInvTok {
			t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	})
	t.Run("two headers", func(t *testing.T) {
		resp, body := get(t, "/", "Bearer k_good", "Bearer k_good")
		if resp.StatusCode != 400 || body != wantInvReq {
			t.Errorf("got %d %q, want 400 invalid_request", resp.StatusCode, body)
		}
	})
	t.Run("trailing spaces trimmed by the server", func(t *testing.T) {
		// net/http strips trailing whitespace from header values, so over
		// the wire this is the same credential as "k_good".
		resp, _ := get(t, "/", "Bearer k_good   ")
		if resp.StatusCode != 200 {
			t.Errorf("got %d, want 200", resp.StatusCode)
		}
	})
	t.Run("1 MiB header", func(t *testing.T) {
		// Within the server's header limit (1 MiB plus slack), so our
		// length cap answers, before any verifier.
		resp, body := get(t, "/", "Bearer "+goodToken(1<<20))
		if resp.StatusCode != 401 || body != wantInvTok {
			t.Errorf("got %d %q, want 401 invalid_token", resp.StatusCode, body)
		}
	})
	t.Run("2 MiB header", func(t *testing.T) {
		// Past MaxHeaderBytes the server answers before any handler runs.
		resp, _ := get(t, "/", "Bearer "+goodToken(2<<20))
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("got %d, want 431", resp.StatusCode)
		}
	})
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// TestRequireScopesWithoutAuthenticator checks the route fails closed when
// nobody authenticated the request.
func TestRequireScopesWithoutAuthenticator(t *testing.T) {
	h := RequireScopes("read")(okHandler())
	if diff := cmp.Diff(noCred401, serve(h, httptest.NewRequest("GET", "/", nil))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A principal put in by hand (tests, custom middleware) is honoured.
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(NewContext(r.Context(), &Principal{Scopes: MustScopes("read")}))
	r.TLS = &tls.ConnectionState{}
	if got := serve(h, r); got.Status != 200 {
		t.Errorf("with NewContext principal: status %d, want 200", got.Status)
	}
}

type readyVerifier struct {
	stubVerifier
	ready bool
}

func (v *readyVerifier) Ready() bool { return v.ready }

func TestReady(t *testing.T) {
	notReady := &readyVerifier{}
	a, err := New(Config{Verifiers: []Verifier{notReady, VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, nil })}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Ready() {
		t.Error("Ready = true with a verifier not ready")
	}
	notReady.ready = true
	if !a.Ready() {
		t.Error("Ready = false with every verifier ready")
	}
}
