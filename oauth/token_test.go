package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
	"github.com/google/go-cmp/cmp"
)

// TestTokenEndpoint is the hostile-request table of the token endpoint.
// Each row builds a request against a fresh server and checks the status,
// the JSON "error" and headers. Every response must carry Cache-Control:
// no-store and Pragma: no-cache, and error bodies only the constant
// description.
func TestTokenEndpoint(t *testing.T) {
	cc := func(f *fixture) url.Values { return url.Values{"grant_type": {"client_credentials"}} }
	tests := []struct {
		name    string
		req     func(t *testing.T, f *fixture) *http.Request
		status  int
		err     string            // JSON "error"; "" for success
		headers map[string]string // further headers that must be present
		noAuthn bool              // the response must not carry WWW-Authenticate
		check   func(t *testing.T, f *fixture, b tokenBody)
	}{
		// Client credentials.
		{
			name: "client_credentials with Basic",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				// As in the product's documented example: no scope
				// when none was requested, expires_in 3600.
				if b.TokenType != "Bearer" || b.ExpiresIn != 3600 || b.Scope != "" || b.RefreshToken != "" {
					t.Errorf("got %+v, want Bearer, 3600, no scope, no refresh token", b)
				}
				p, err := f.verifier.Verify(context.Background(), b.AccessToken)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != f.svcID || p.ClientID != f.svcID || p.Scopes.String() != "read" || p.Method != auth.MethodClientCredentials {
					t.Errorf("principal: got sub %q client %q scopes %q method %v; want the client, its default scope", p.Subject, p.ClientID, p.Scopes, p.Method)
				}
			},
		},
		{
			name: "client_credentials with client_secret_post, as in the seed example",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.svcID}, "client_secret": {f.svcSecret}})
			},
			status: 200,
		},
		{
			name: "client_credentials with a scope within the client's",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("scope", "write read")
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				// Same set, other order: the response names it.
				if b.Scope != "read write" {
					t.Errorf("scope: got %q, want %q", b.Scope, "read write")
				}
			},
		},
		{
			name: "client_credentials with a scope beyond the client's",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("scope", "read admin")
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_scope",
		},
		{
			name: "client_credentials with a malformed scope",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("scope", "read  write")
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_scope",
		},
		{
			name: "wrong secret with Basic: 401 with the Basic challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", cc(f)), f.svcID, f.webSecret)
			},
			status: 401, err: "invalid_client",
			headers: map[string]string{"Www-Authenticate": `Basic realm="oauth"`},
		},
		{
			name: "wrong secret in the body: 401 without challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.svcID}, "client_secret": {f.webSecret}})
			},
			status: 401, err: "invalid_client", noAuthn: true,
		},
		{
			name: "secret of the right shape with a bad checksum",
			req: func(t *testing.T, f *fixture) *http.Request {
				s := []byte(f.svcSecret)
				s[10] ^= 1
				return basic(form("/oauth/token", cc(f)), f.svcID, string(s))
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "unknown client",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", cc(f)), "adxc_nosuchclient000000", f.svcSecret)
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "no client credentials at all",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", cc(f))
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "confidential client without its secret",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.svcID}})
			},
			status: 401, err: "invalid_client",
		},
		{
			// RFC 6749 §2.3.1: one method per request.
			name: "Basic and client_secret_post together",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("client_secret", f.svcSecret)
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "client_id in the body differs from Basic",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("client_id", f.webID)
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "two Authorization headers",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
				r.Header.Add("Authorization", r.Header.Get("Authorization"))
				return r
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "Basic header that is not base64",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := form("/oauth/token", cc(f))
				r.Header.Set("Authorization", "Basic !!!not-base64")
				return r
			},
			status: 401, err: "invalid_client",
			headers: map[string]string{"Www-Authenticate": `Basic realm="oauth"`},
		},
		{
			name: "Bearer instead of Basic",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := form("/oauth/token", cc(f))
				r.Header.Set("Authorization", "Bearer "+f.svcSecret)
				return r
			},
			status: 401, err: "invalid_client",
		},
		{
			// The ID holds "+", "/" and "%": form-encoded in Basic as
			// RFC 6749 §2.3.1 requires, it authenticates.
			name: "Basic credentials with + / % form-encoded",
			req: func(t *testing.T, f *fixture) *http.Request {
				id, secret := specialClient(t, f)
				return basic(form("/oauth/token", cc(f)), id, secret)
			},
			status: 200,
		},
		{
			// The same ID sent raw: "+" decodes to a space and "%2" is a
			// bad escape, so it is not the client's ID.
			name: "Basic credentials with + / % not form-encoded",
			req: func(t *testing.T, f *fixture) *http.Request {
				id, secret := specialClient(t, f)
				r := form("/oauth/token", cc(f))
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
				return r
			},
			status: 401, err: "invalid_client",
		},
		{
			// A "+" in the secret part decodes to a space: the secret no
			// longer matches.
			name: "Basic secret with a literal +",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := form("/oauth/token", cc(f))
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(f.svcID+":"+f.svcSecret+"+")))
				return r
			},
			status: 401, err: "invalid_client",
		},
		// Request shape.
		{
			name: "GET on the token endpoint",
			req: func(t *testing.T, f *fixture) *http.Request {
				return httptest.NewRequest(http.MethodGet, "https://as.example/oauth/token", nil)
			},
			status: 405, err: "invalid_request",
			headers: map[string]string{"Allow": "POST"},
		},
		{
			name: "HEAD on the token endpoint",
			req: func(t *testing.T, f *fixture) *http.Request {
				return httptest.NewRequest(http.MethodHead, "https://as.example/oauth/token", nil)
			},
			status: 405, err: "invalid_request",
			headers: map[string]string{"Allow": "POST"},
		},
		{
			name: "JSON body",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
				r.Header.Set("Content-Type", "application/json")
				return basic(r, f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "no content type",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/token", strings.NewReader("grant_type=client_credentials"))
				return basic(r, f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			// RFC 6749 §3.2: parameters must not repeat.
			name: "repeated parameter",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/token", strings.NewReader("grant_type=client_credentials&scope=read&scope=write"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return basic(r, f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "client_secret in the query",
			req: func(t *testing.T, f *fixture) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/token?client_id="+f.svcID+"&client_secret="+f.svcSecret, strings.NewReader("grant_type=client_credentials"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "body too large",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := cc(f)
				v.Set("padding", strings.Repeat("a", 20<<10))
				return basic(form("/oauth/token", v), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "grant_type missing",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"scope": {"read"}}), f.svcID, f.svcSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "password grant",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}), f.svcID, f.svcSecret)
			},
			status: 400, err: "unsupported_grant_type",
		},
		{
			name: "implicit grant",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"grant_type": {"implicit"}}), f.svcID, f.svcSecret)
			},
			status: 400, err: "unsupported_grant_type",
		},
		{
			name: "unknown grant type",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}}), f.svcID, f.svcSecret)
			},
			status: 400, err: "unsupported_grant_type",
		},
		{
			name: "client_credentials by a web client",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", cc(f)), f.webID, f.webSecret)
			},
			status: 400, err: "unauthorized_client",
		},
		{
			name: "client_credentials by a public client",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {f.mobID}})
			},
			status: 400, err: "unauthorized_client",
		},
		{
			// The ClientManager refuses to make such a client, but a store
			// filled by other means can hold one: the token endpoint
			// refuses it all the same, since it proves nothing.
			name: "client_credentials by a stored public client that has the grant",
			req: func(t *testing.T, f *fixture) *http.Request {
				c := &oauth.Client{ID: "adxc_publicwithcc000000", Name: "Odd", Type: oauth.ClientMobile,
					GrantTypes: []string{oauth.GrantClientCredentials}, Scopes: auth.MustScopes("read")}
				if err := f.clients.CreateClient(context.Background(), c); err != nil {
					t.Fatal(err)
				}
				return form("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}})
			},
			status: 400, err: "unauthorized_client",
		},
		{
			name: "authorization_code by a server client",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", f.exchangeValues(f.webCode(t))), f.svcID, f.svcSecret)
			},
			status: 400, err: "unauthorized_client",
		},
		// Authorization code.
		{
			name: "authorization_code with PKCE",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", f.exchangeValues(f.webCode(t))), f.webID, f.webSecret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				if b.RefreshToken == "" || b.Scope != "read write" || b.ExpiresIn != 3600 {
					t.Errorf("got %+v, want a refresh token, scope %q, 3600", b, "read write")
				}
				p, err := f.verifier.Verify(context.Background(), b.AccessToken)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != "alice" || p.ClientID != f.webID || p.Method != auth.MethodAuthorizationCode {
					t.Errorf("principal: got sub %q client %q method %v; want alice via the web client", p.Subject, p.ClientID, p.Method)
				}
			},
		},
		{
			name: "authorization_code with client_secret_post",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("client_id", f.webID)
				v.Set("client_secret", f.webSecret)
				return form("/oauth/token", v)
			},
			status: 200,
		},
		{
			name: "authorization_code by a public client with client_id only",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.authorizeValues()
				v.Set("client_id", f.mobID)
				v.Set("redirect_uri", "http://127.0.0.1:50123/cb")
				v.Set("scope", "read")
				ex := f.exchangeValues(f.code(t, v))
				ex.Set("redirect_uri", "http://127.0.0.1:50123/cb")
				ex.Set("client_id", f.mobID)
				return form("/oauth/token", ex)
			},
			status: 200,
		},
		{
			name: "authorization_code for a client without the refresh_token grant",
			req: func(t *testing.T, f *fixture) *http.Request {
				c, secret, err := f.srv.ClientManager().Register(context.Background(), oauth.Registration{
					Name: "No refresh", Type: oauth.ClientWeb, RedirectURIs: []string{webRedirect},
					GrantTypes: []string{oauth.GrantAuthorizationCode}, Scopes: auth.MustScopes("read"),
				})
				if err != nil {
					t.Fatal(err)
				}
				v := f.authorizeValues()
				v.Set("client_id", c.ID)
				v.Set("scope", "read")
				return basic(form("/oauth/token", f.exchangeValues(f.code(t, v))), c.ID, secret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				if b.RefreshToken != "" {
					t.Errorf("got a refresh token, want none")
				}
			},
		},
		{
			name: "public client presenting a secret",
			req: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {f.mobID}, "client_secret": {f.webSecret}, "code": {"x"}})
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "code redeemed twice",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				if w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret)); w.Code != 200 {
					t.Fatalf("first redemption: got %d, want 200", w.Code)
				}
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
			check: func(t *testing.T, f *fixture, b tokenBody) {
				if !slicesContainsErr(f.eventErrs(), oauth.ErrCodeUsed) {
					t.Errorf("hook did not get ErrCodeUsed; got %v", f.eventErrs())
				}
			},
		},
		{
			// The web client's code presented by the mobile client.
			name: "code redeemed by another client",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("client_id", f.mobID)
				return form("/oauth/token", v)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code after expiry",
			req: func(t *testing.T, f *fixture) *http.Request {
				code := f.webCode(t)
				f.clock.Advance(61 * time.Second)
				return basic(form("/oauth/token", f.exchangeValues(code)), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			// The code's ExpiresAt is the first instant it is dead.
			name: "code at its expiry",
			req: func(t *testing.T, f *fixture) *http.Request {
				code := f.webCode(t)
				f.clock.Advance(60 * time.Second)
				return basic(form("/oauth/token", f.exchangeValues(code)), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code just before expiry",
			req: func(t *testing.T, f *fixture) *http.Request {
				code := f.webCode(t)
				f.clock.Advance(59 * time.Second)
				return basic(form("/oauth/token", f.exchangeValues(code)), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			name: "redirect_uri with a trailing slash",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("redirect_uri", webRedirect+"/")
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			// Another registered URI is still not the one of the request.
			name: "redirect_uri of another registered URI",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("redirect_uri", webRedirectQuery)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "redirect_uri missing",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Del("redirect_uri")
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "wrong code_verifier",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("code_verifier", strings.Repeat("a", 43))
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code_verifier missing",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Del("code_verifier")
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			// RFC 7636 §4.1: 43 to 128 characters. A 42-character
			// verifier is refused even though the challenge is its own.
			name: "code_verifier of 42 characters with its own challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				verifier := strings.Repeat("v", 42)
				a := f.authorizeValues()
				a.Set("code_challenge", s256(verifier))
				v := f.exchangeValues(f.code(t, a))
				v.Set("code_verifier", verifier)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code_verifier of 129 characters with its own challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				verifier := strings.Repeat("v", 129)
				a := f.authorizeValues()
				a.Set("code_challenge", s256(verifier))
				v := f.exchangeValues(f.code(t, a))
				v.Set("code_verifier", verifier)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code_verifier of 43 characters with its own challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				verifier := strings.Repeat("v", 43)
				a := f.authorizeValues()
				a.Set("code_challenge", s256(verifier))
				v := f.exchangeValues(f.code(t, a))
				v.Set("code_verifier", verifier)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			// The challenge itself sent as the verifier ("plain").
			name: "code_verifier equal to the challenge",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues(f.webCode(t))
				v.Set("code_verifier", testChallenge)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "unknown code",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", f.exchangeValues("adxac_"+strings.Repeat("A", 49))), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "code missing",
			req: func(t *testing.T, f *fixture) *http.Request {
				v := f.exchangeValues("")
				v.Del("code")
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_request",
		},
		// Refresh tokens.
		{
			name: "refresh_token",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), f.webID, f.webSecret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				if b.RefreshToken == "" || b.Scope != "" {
					t.Errorf("got %+v, want a new refresh token and no scope (unchanged)", b)
				}
			},
		},
		{
			name: "refresh_token narrowing the scope",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}, "scope": {"read"}}), f.webID, f.webSecret)
			},
			status: 200,
			check: func(t *testing.T, f *fixture, b tokenBody) {
				p, err := f.verifier.Verify(context.Background(), b.AccessToken)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Scopes.String() != "read" {
					t.Errorf("scopes: got %q, want read", p.Scopes)
				}
			},
		},
		{
			name: "refresh_token widening the scope",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}, "scope": {"read write admin"}}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_scope",
		},
		{
			name: "refresh_token of another client",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				return form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}, "client_id": {f.mobID}})
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "old refresh_token within the grace window",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}
				if w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret)); w.Code != 200 {
					t.Fatalf("first refresh: got %d, want 200", w.Code)
				}
				f.clock.Advance(5 * time.Second)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			name: "old refresh_token after the grace window",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}
				if w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret)); w.Code != 200 {
					t.Fatalf("first refresh: got %d, want 200", w.Code)
				}
				f.clock.Advance(11 * time.Second)
				return basic(form("/oauth/token", v), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
			check: func(t *testing.T, f *fixture, b tokenBody) {
				if !slicesContainsErr(f.eventErrs(), oauth.ErrRefreshReused) {
					t.Errorf("hook did not get ErrRefreshReused; got %v", f.eventErrs())
				}
			},
		},
		{
			name: "refresh_token after the idle timeout",
			req: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				f.clock.Advance(oauth.DefaultRefreshIdleTimeout)
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			// Rotation never extends the grant past its absolute
			// lifetime (30 days by default), however active the client.
			name: "refresh_token after the grant's absolute lifetime",
			req: func(t *testing.T, f *fixture) *http.Request {
				rt := f.tokens(t).RefreshToken
				for range 4 {
					f.clock.Advance(6 * 24 * time.Hour)
					w := f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}), f.webID, f.webSecret))
					if w.Code != 200 {
						t.Fatalf("refresh within the lifetime: got %d %s, want 200; events %v", w.Code, w.Body, f.eventErrs())
					}
					rt = decodeToken(t, w).RefreshToken
				}
				f.clock.Advance(6 * 24 * time.Hour) // day 30
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "unknown refresh_token",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"adxrt_" + strings.Repeat("B", 49)}}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_grant",
		},
		{
			name: "refresh_token missing",
			req: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_request",
		},
		// Secret rotation and failure limits.
		{
			name: "previous secret within the rotation grace period",
			req: func(t *testing.T, f *fixture) *http.Request {
				if _, err := f.srv.ClientManager().RotateSecret(context.Background(), f.svcID); err != nil {
					t.Fatalf("RotateSecret: %v", err)
				}
				f.clock.Advance(oauth.DefaultSecretGrace - time.Second)
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 200,
		},
		{
			name: "previous secret after the rotation grace period",
			req: func(t *testing.T, f *fixture) *http.Request {
				if _, err := f.srv.ClientManager().RotateSecret(context.Background(), f.svcID); err != nil {
					t.Fatalf("RotateSecret: %v", err)
				}
				f.clock.Advance(oauth.DefaultSecretGrace)
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "new secret right after rotation",
			req: func(t *testing.T, f *fixture) *http.Request {
				s, err := f.srv.ClientManager().RotateSecret(context.Background(), f.svcID)
				if err != nil {
					t.Fatalf("RotateSecret: %v", err)
				}
				return basic(form("/oauth/token", cc(f)), f.svcID, s)
			},
			status: 200,
		},
		{
			// After 10 failures in the window even the right secret
			// gets 429: the guesser learns nothing more.
			name: "too many failures for one client ID",
			req: func(t *testing.T, f *fixture) *http.Request {
				for i := range oauth.DefaultMaxAuthFailures {
					if w := f.serve(basic(form("/oauth/token", cc(f)), f.svcID, "wrong")); w.Code != 401 {
						t.Fatalf("failure %d: got %d, want 401", i, w.Code)
					}
				}
				f.clock.Advance(20 * time.Second)
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 429, err: "temporarily_unavailable",
			headers: map[string]string{"Retry-After": "40"},
		},
		{
			// Client IDs are public: failures from someone else's
			// network never lock the real client out.
			name: "failures from another network do not count",
			req: func(t *testing.T, f *fixture) *http.Request {
				for i := range 3 * oauth.DefaultMaxAuthFailures {
					r := basic(form("/oauth/token", cc(f)), f.svcID, "wrong")
					r.RemoteAddr = "203.0.113.9:4000"
					if w := f.serve(r); w.Code != 401 && w.Code != 429 {
						t.Fatalf("failure %d: got %d, want 401 or 429", i, w.Code)
					}
				}
				r := basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
				r.RemoteAddr = "198.51.100.20:5000"
				return r
			},
			status: 200,
		},
		{
			// One network naming many client IDs is limited too.
			name: "too many failures from one network across client IDs",
			req: func(t *testing.T, f *fixture) *http.Request {
				for i := range oauth.DefaultMaxNetworkAuthFailures {
					if w := f.serve(basic(form("/oauth/token", cc(f)), fmt.Sprintf("svc-%d", i), "wrong")); w.Code != 401 {
						t.Fatalf("failure %d: got %d, want 401", i, w.Code)
					}
				}
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 429, err: "temporarily_unavailable",
			headers: map[string]string{"Retry-After": "60"},
		},
		{
			name: "failures limit ends with the window",
			req: func(t *testing.T, f *fixture) *http.Request {
				for range oauth.DefaultMaxAuthFailures {
					f.serve(basic(form("/oauth/token", cc(f)), f.svcID, "wrong"))
				}
				f.clock.Advance(oauth.DefaultAuthFailureWindow)
				return basic(form("/oauth/token", cc(f)), f.svcID, f.svcSecret)
			},
			status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.serve(tt.req(t, f))
			if w.Code != tt.status {
				t.Errorf("status: got %d, want %d (body %s)", w.Code, tt.status, w.Body)
			}
			h := w.Header()
			for name, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			for name, want := range tt.headers {
				if got := h.Get(name); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			if tt.noAuthn && h.Get("Www-Authenticate") != "" {
				t.Errorf("WWW-Authenticate: got %q, want none", h.Get("Www-Authenticate"))
			}
			b := decodeToken(t, w)
			if b.Error != tt.err {
				t.Errorf("error: got %q, want %q", b.Error, tt.err)
			}
			if tt.err != "" {
				// Constant text only: the body is exactly the one for
				// this error code, whatever the request held.
				if got, want := w.Body.String(), errorBody(tt.err); got != want {
					t.Errorf("body: got %s, want %s", got, want)
				}
			}
			if tt.err != "" {
				// The reason went to the hook, not to the client.
				f.mu.Lock()
				var last oauth.Event
				if len(f.events) > 0 {
					last = f.events[len(f.events)-1]
				}
				f.mu.Unlock()
				if last.Kind != oauth.EventTokenRefused || last.Err == nil {
					t.Errorf("last event: got %s with %v, want %s with a reason", last.Kind, last.Err, oauth.EventTokenRefused)
				}
			}
			if tt.check != nil {
				tt.check(t, f, b)
			}
		})
	}
}

// errorBody returns the constant body of an error code.
func errorBody(code string) string {
	desc := map[string]string{
		"invalid_request":         "The request is missing a required parameter, repeats a parameter, or is otherwise malformed.",
		"invalid_client":          "Client authentication failed.",
		"invalid_grant":           "The authorization grant or refresh token is invalid, expired, revoked, or was issued to another client.",
		"unauthorized_client":     "The client is not authorized to use this grant type.",
		"unsupported_grant_type":  "The authorization grant type is not supported.",
		"invalid_scope":           "The requested scope is invalid, unknown, or exceeds the scope granted.",
		"temporarily_unavailable": "",
	}[code]
	if code == "temporarily_unavailable" {
		desc = "Too many failed attempts; retry later."
	}
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	return string(b)
}

func slicesContainsErr(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// specialClient stores a client whose ID holds "+", "/" and "%", and
// returns its ID and secret.
func specialClient(t *testing.T, f *fixture) (string, string) {
	t.Helper()
	c, err := f.clients.Client(context.Background(), f.svcID)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	c.ID = "svc+1/x%2y"
	if err := f.clients.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	return c.ID, f.svcSecret
}

// s256 is the S256 code challenge of verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	s := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// replayingGrants is a GrantStore in which a replay of the code lands
// between the exchange's claim and its CreateGrant: the replay revokes
// the grant before it exists.
type replayingGrants struct {
	*oauth.MemoryGrantStore
}

func (s replayingGrants) CreateGrant(ctx context.Context, g *oauth.Grant, head *oauth.RefreshToken) error {
	if err := s.RevokeGrant(ctx, g.ID, g.CreatedAt); err != nil {
		return err
	}
	return s.MemoryGrantStore.CreateGrant(ctx, g, head)
}

// TestCodeReuseDuringExchange: when a replay of the code revokes the
// grant while the first exchange is still in flight, the first exchange
// finds the grant taken (ErrAlreadyExists): the access token it signed is
// revoked, and it gets no refresh token.
func TestCodeReuseDuringExchange(t *testing.T) {
	grants := replayingGrants{oauth.NewMemoryGrantStore()}
	f := newFixture(t, func(c *oauth.Config) { c.Grants = grants })
	w := f.serve(basic(form("/oauth/token", f.exchangeValues(f.webCode(t))), f.webID, f.webSecret))
	if w.Code != 200 {
		t.Fatalf("exchange: got %d %s", w.Code, w.Body)
	}
	tb := decodeToken(t, w)
	if tb.RefreshToken != "" {
		t.Errorf("got a refresh token for a revoked grant")
	}
	p, err := f.verifier.Verify(context.Background(), tb.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if revoked, err := grants.IsRevoked(context.Background(), p.CredentialID); err != nil || !revoked {
		t.Errorf("IsRevoked(access token of the lost race): got %v, %v; want true", revoked, err)
	}
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	f := newFixture(t)
	v := f.exchangeValues(f.webCode(t))
	w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret))
	if w.Code != 200 {
		t.Fatalf("first redemption: got %d, want 200", w.Code)
	}
	first := decodeToken(t, w)
	if _, err := f.verifier.Verify(context.Background(), first.AccessToken); err != nil {
		t.Fatalf("Verify before replay: %v", err)
	}
	if w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret)); w.Code != 400 {
		t.Fatalf("replay: got %d, want 400", w.Code)
	}
	// Both tokens of the first redemption are dead.
	p, err := f.verifier.Verify(context.Background(), first.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if revoked, err := f.srv.IsRevoked(context.Background(), p.CredentialID); err != nil || !revoked {
		t.Errorf("IsRevoked(access token of the replayed code): got %v, %v; want true", revoked, err)
	}
	w = f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}), f.webID, f.webSecret))
	if diff := cmp.Diff("invalid_grant", decodeToken(t, w).Error); diff != "" {
		t.Errorf("refresh after replay (-want +got):\n%s", diff)
	}
}
