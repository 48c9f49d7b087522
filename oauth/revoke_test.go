package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth/oauth"
)

func TestRevocation(t *testing.T) {
	refresh := func(f *fixture, token string) int {
		w := f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}), f.webID, f.webSecret))
		return w.Code
	}
	jtiOf := func(t *testing.T, f *fixture, token string) string {
		p, err := f.verifier.Verify(context.Background(), token)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		return p.CredentialID
	}
	revoked := func(t *testing.T, f *fixture, jti string) bool {
		ok, err := f.srv.IsRevoked(context.Background(), jti)
		if err != nil {
			t.Fatalf("IsRevoked: %v", err)
		}
		return ok
	}
	tests := []struct {
		name   string
		run    func(t *testing.T, f *fixture) *http.Request
		status int
		err    string
		after  func(t *testing.T, f *fixture)
	}{
		{
			name: "refresh token revokes its grant and access tokens",
			run: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				t.Cleanup(func() {
					if code := refresh(f, tb.RefreshToken); code != 400 {
						t.Errorf("refresh after revocation: got %d, want 400", code)
					}
					if !revoked(t, f, jtiOf(t, f, tb.AccessToken)) {
						t.Errorf("access token of the revoked grant is not revoked")
					}
				})
				return basic(form("/oauth/revoke", url.Values{"token": {tb.RefreshToken}, "token_type_hint": {"refresh_token"}}), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			name: "access token",
			run: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				t.Cleanup(func() {
					if !revoked(t, f, jtiOf(t, f, tb.AccessToken)) {
						t.Errorf("access token not revoked")
					}
					// Its refresh token still works: only the access
					// token was revoked.
					if code := refresh(f, tb.RefreshToken); code != 200 {
						t.Errorf("refresh after access-token revocation: got %d, want 200", code)
					}
				})
				return basic(form("/oauth/revoke", url.Values{"token": {tb.AccessToken}}), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			// RFC 7009 §2.2: invalid tokens get 200 as well.
			name: "unknown token",
			run: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/revoke", url.Values{"token": {"nonsense"}}), f.webID, f.webSecret)
			},
			status: 200,
		},
		{
			name: "another client's refresh token: 200, nothing revoked",
			run: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				t.Cleanup(func() {
					if code := refresh(f, tb.RefreshToken); code != 200 {
						t.Errorf("refresh after another client's revocation: got %d, want 200", code)
					}
				})
				return basic(form("/oauth/revoke", url.Values{"token": {tb.RefreshToken}}), f.svcID, f.svcSecret)
			},
			status: 200,
		},
		{
			name: "another client's access token: 200, nothing revoked",
			run: func(t *testing.T, f *fixture) *http.Request {
				tb := f.tokens(t)
				t.Cleanup(func() {
					if revoked(t, f, jtiOf(t, f, tb.AccessToken)) {
						t.Errorf("another client revoked the access token")
					}
				})
				return form("/oauth/revoke", url.Values{"token": {tb.AccessToken}, "client_id": {f.mobID}})
			},
			status: 200,
		},
		{
			name: "no client authentication",
			run: func(t *testing.T, f *fixture) *http.Request {
				return form("/oauth/revoke", url.Values{"token": {"x"}})
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "wrong secret",
			run: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/revoke", url.Values{"token": {"x"}}), f.webID, f.svcSecret)
			},
			status: 401, err: "invalid_client",
		},
		{
			name: "token missing",
			run: func(t *testing.T, f *fixture) *http.Request {
				return basic(form("/oauth/revoke", url.Values{}), f.webID, f.webSecret)
			},
			status: 400, err: "invalid_request",
		},
		{
			name: "GET",
			run: func(t *testing.T, f *fixture) *http.Request {
				return httptest.NewRequest(http.MethodGet, "https://as.example/oauth/revoke?token=x", nil)
			},
			status: 405, err: "invalid_request",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.serve(tt.run(t, f))
			if w.Code != tt.status {
				t.Errorf("status: got %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q, want no-store", got)
			}
			if tt.err == "" {
				if w.Body.Len() != 0 {
					t.Errorf("body: got %q, want empty", w.Body)
				}
				return
			}
			if got := decodeToken(t, w).Error; got != tt.err {
				t.Errorf("error: got %q, want %q", got, tt.err)
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	const inactive = `{"active":false}`
	introspect := func(f *fixture, token, id, secret string) *httptest.ResponseRecorder {
		return f.serve(basic(form("/oauth/introspect", url.Values{"token": {token}}), id, secret))
	}

	t.Run("active access token", func(t *testing.T) {
		f := newFixture(t)
		tb := f.tokens(t)
		// A resource server (here the server client) introspects.
		w := introspect(f, tb.AccessToken, f.svcID, f.svcSecret)
		if w.Code != 200 {
			t.Fatalf("status: got %d, want 200", w.Code)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		want := map[string]any{
			"active":     true,
			"scope":      "read write",
			"client_id":  f.webID,
			"sub":        "alice",
			"token_type": "Bearer",
			"iss":        testIssuer,
			"aud":        []any{testAudience},
			"iat":        float64(now.Unix()),
			"exp":        float64(now.Add(time.Hour).Unix()),
			"jti":        got["jti"],
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("introspection (-want +got):\n%s", diff)
		}
		if got["jti"] == "" || got["jti"] == nil {
			t.Errorf("jti missing")
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
	})

	t.Run("active refresh token for its own client", func(t *testing.T) {
		f := newFixture(t)
		tb := f.tokens(t)
		var got map[string]any
		w := introspect(f, tb.RefreshToken, f.webID, f.webSecret)
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got["active"] != true || got["token_type"] != "refresh_token" || got["sub"] != "alice" {
			t.Errorf("got %v, want an active refresh token of alice", got)
		}
		// Another client learns nothing about it.
		if w := introspect(f, tb.RefreshToken, f.svcID, f.svcSecret); w.Body.String() != inactive {
			t.Errorf("other client: got %s, want %s", w.Body, inactive)
		}
	})

	inactiveCases := []struct {
		name  string
		token func(t *testing.T, f *fixture) string
	}{
		{"unknown", func(t *testing.T, f *fixture) string { return "nonsense" }},
		{"unknown refresh token", func(t *testing.T, f *fixture) string { return "adxrt_" + strings.Repeat("B", 49) }},
		{"expired access token", func(t *testing.T, f *fixture) string {
			tb := f.tokens(t)
			f.clock.Advance(2 * time.Hour)
			return tb.AccessToken
		}},
		{"revoked access token", func(t *testing.T, f *fixture) string {
			tb := f.tokens(t)
			if w := f.serve(basic(form("/oauth/revoke", url.Values{"token": {tb.AccessToken}}), f.webID, f.webSecret)); w.Code != 200 {
				t.Fatalf("revoke: got %d", w.Code)
			}
			return tb.AccessToken
		}},
		// Idle for the whole timeout: dead at that instant, as in refresh.
		{"refresh token at its idle timeout", func(t *testing.T, f *fixture) string {
			tb := f.tokens(t)
			f.clock.Advance(oauth.DefaultRefreshIdleTimeout)
			return tb.RefreshToken
		}},
		{"refresh token of a revoked grant", func(t *testing.T, f *fixture) string {
			tb := f.tokens(t)
			if w := f.serve(basic(form("/oauth/revoke", url.Values{"token": {tb.RefreshToken}}), f.webID, f.webSecret)); w.Code != 200 {
				t.Fatalf("revoke: got %d", w.Code)
			}
			return tb.RefreshToken
		}},
		{"rotated refresh token", func(t *testing.T, f *fixture) string {
			tb := f.tokens(t)
			if w := f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), f.webID, f.webSecret)); w.Code != 200 {
				t.Fatalf("refresh: got %d", w.Code)
			}
			return tb.RefreshToken
		}},
	}
	for _, tc := range inactiveCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tok := tc.token(t, f)
			id, secret := f.webID, f.webSecret
			w := introspect(f, tok, id, secret)
			if w.Code != 200 || w.Body.String() != inactive {
				t.Errorf("got %d %s, want 200 %s", w.Code, w.Body, inactive)
			}
		})
	}

	t.Run("public client may not introspect", func(t *testing.T) {
		f := newFixture(t)
		w := f.serve(form("/oauth/introspect", url.Values{"token": {"x"}, "client_id": {f.mobID}}))
		if w.Code != 401 || decodeToken(t, w).Error != "invalid_client" {
			t.Errorf("got %d %s, want 401 invalid_client", w.Code, w.Body)
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		f := newFixture(t)
		w := f.serve(form("/oauth/introspect", url.Values{"token": {"x"}}))
		if w.Code != 401 {
			t.Errorf("got %d, want 401", w.Code)
		}
	})
}

func TestMetadata(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			w := f.serve(httptest.NewRequest(http.MethodGet, "https://as.example"+path, nil))
			if w.Code != 200 {
				t.Fatalf("status: got %d, want 200", w.Code)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"issuer":                                         testIssuer,
				"authorization_endpoint":                         testIssuer + "/oauth/authorize",
				"token_endpoint":                                 testIssuer + "/oauth/token",
				"jwks_uri":                                       testIssuer + "/.well-known/jwks.json",
				"revocation_endpoint":                            testIssuer + "/oauth/revoke",
				"introspection_endpoint":                         testIssuer + "/oauth/introspect",
				"scopes_supported":                               []any{"admin", "read", "write"},
				"response_types_supported":                       []any{"code"},
				"response_modes_supported":                       []any{"query"},
				"grant_types_supported":                          []any{"authorization_code", "client_credentials", "refresh_token"},
				"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "none"},
				"revocation_endpoint_auth_methods_supported":     []any{"client_secret_basic", "client_secret_post", "none"},
				"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
				"code_challenge_methods_supported":               []any{"S256"},
				"authorization_response_iss_parameter_supported": true,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("jwks", func(t *testing.T) {
		w := f.serve(httptest.NewRequest(http.MethodGet, "https://as.example/.well-known/jwks.json", nil))
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &set) != nil || len(set.Keys) == 0 {
			t.Errorf("got %d %s, want a JWK set", w.Code, w.Body)
		}
	})
	t.Run("POST", func(t *testing.T) {
		w := f.serve(httptest.NewRequest(http.MethodPost, "https://as.example/.well-known/oauth-authorization-server", nil))
		if w.Code != 405 {
			t.Errorf("got %d, want 405", w.Code)
		}
	})
}
