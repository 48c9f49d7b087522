package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// BenchmarkClientCredentials is the whole token endpoint for a
// client_credentials request: form parsing, Basic authentication (store
// lookup, SHA-256, constant-time compare), scope checks, ES256 signing and
// the JSON response, with memory stores. Compare it with BenchmarkSignOnly
// in the same run: the endpoint should cost at most 1.5× the signature.
func BenchmarkClientCredentials(b *testing.B) {
	f := newFixtureAt(b, testIssuer, nil, time.Now, func(c *oauth.Config) { c.OnEvent = nil })
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
	authz := "Basic " + basicValue(f.svcID, f.svcSecret)
	h := f.srv.TokenHandler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/token", strings.NewReader(body))
			r.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
			r.Header["Authorization"] = []string{authz}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Errorf("got %d, want 200", w.Code)
				return
			}
		}
	})
}

// BenchmarkSignOnly is the ES256 signer alone, with the claims the token
// endpoint gives it.
func BenchmarkSignOnly(b *testing.B) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks})
	if err != nil {
		b.Fatal(err)
	}
	claims := jwt.Claims{Subject: "adxc_client", ClientID: "adxc_client", Audience: []string{testAudience}, Scopes: auth.MustScopes("read"), Lifetime: time.Hour}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := signer.Sign(ctx, claims); err != nil {
				b.Errorf("Sign: %v", err)
				return
			}
		}
	})
}

func basicValue(id, secret string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
