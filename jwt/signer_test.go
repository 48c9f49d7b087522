package jwt_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

func TestSignClaims(t *testing.T) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, MaxTokenLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	good := jwt.Claims{Subject: "u", ClientID: "c", Audience: []string{testAudience}}
	tests := []struct {
		name   string
		modify func(*jwt.Claims)
	}{
		{"no subject", func(c *jwt.Claims) { c.Subject = "" }},
		{"no client", func(c *jwt.Claims) { c.ClientID = "" }},
		{"no audience", func(c *jwt.Claims) { c.Audience = nil }},
		{"empty audience", func(c *jwt.Claims) { c.Audience = []string{""} }},
		{"lifetime over the key set's maximum", func(c *jwt.Claims) { c.Lifetime = 3 * time.Hour }},
		{"negative lifetime", func(c *jwt.Claims) { c.Lifetime = -time.Minute }},
		{"extra overrides iss", func(c *jwt.Claims) { c.Extra = map[string]any{"iss": "evil"} }},
		{"extra overrides scope", func(c *jwt.Claims) { c.Extra = map[string]any{"scope": "admin"} }},
		{"extra overrides exp", func(c *jwt.Claims) { c.Extra = map[string]any{"exp": 1 << 40} }},
		{"extra not JSON", func(c *jwt.Claims) { c.Extra = map[string]any{"f": func() {}} }},
		// The binding comes from KeyThumbprint, checked, never from Extra.
		{"extra sets cnf", func(c *jwt.Claims) { c.Extra = map[string]any{"cnf": map[string]any{"jkt": testJKT}} }},
		{"thumbprint not base64url SHA-256", func(c *jwt.Claims) { c.KeyThumbprint = "abc" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.modify(&c)
			if _, err := signer.Sign(t.Context(), c); !errors.Is(err, jwt.ErrInvalidClaims) {
				t.Errorf("got %v, want ErrInvalidClaims", err)
			}
		})
	}

	c := good
	c.Scopes = auth.MustScopes("b", "a")
	c.Lifetime = 90 * time.Minute
	c.Extra = map[string]any{"acr": "mfa"}
	seen := map[string]bool{}
	for range 3 {
		tok, err := signer.Sign(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok.ID) != 22 || seen[tok.ID] {
			t.Errorf("got jti %q, want 22 base64url characters (128 bits), unique", tok.ID)
		}
		seen[tok.ID] = true
		if !tok.IssuedAt.Equal(t0) || !tok.ExpiresAt.Equal(t0.Add(90*time.Minute)) {
			t.Errorf("got %v to %v, want %v to %v", tok.IssuedAt, tok.ExpiresAt, t0, t0.Add(90*time.Minute))
		}
		var header, claims map[string]any
		parts := strings.Split(tok.Value, ".")
		decodeSegment(t, parts[0], &header)
		decodeSegment(t, parts[1], &claims)
		if header["typ"] != "at+jwt" || header["kid"] != ks.ActiveKeyID() || header["alg"] != "EdDSA" {
			t.Errorf("got header %v, want typ at+jwt, the active kid, EdDSA", header)
		}
		if claims["scope"] != "a b" || claims["acr"] != "mfa" || claims["client_id"] != "c" || claims["iss"] != testIssuer {
			t.Errorf("got claims %v", claims)
		}
	}

	if _, err := jwt.NewSigner(jwt.SignerConfig{Keys: ks}); !errors.Is(err, jwt.ErrInvalidConfig) {
		t.Errorf("no issuer: got %v, want ErrInvalidConfig", err)
	}
	if _, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer}); !errors.Is(err, jwt.ErrInvalidConfig) {
		t.Errorf("no keys: got %v, want ErrInvalidConfig", err)
	}
	if _, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, DefaultLifetime: 3 * time.Hour}); !errors.Is(err, jwt.ErrInvalidConfig) {
		t.Errorf("default lifetime too long: got %v, want ErrInvalidConfig", err)
	}
}

// TestSignBound: a token signed with KeyThumbprint carries "cnf" {"jkt"}
// and verifies to a principal bound to that key; without it, none.
func TestSignBound(t *testing.T) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, KeyManager: ks, CacheSize: 4})
	for _, jkt := range []string{testJKT, ""} {
		tok, err := signer.Sign(t.Context(), jwt.Claims{Subject: "u", ClientID: "c", Audience: []string{testAudience}, KeyThumbprint: jkt})
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Cnf *struct{ JKT string } `json:"cnf"`
		}
		decodeSegment(t, strings.Split(tok.Value, ".")[1], &claims)
		if (claims.Cnf != nil) != (jkt != "") || (claims.Cnf != nil && claims.Cnf.JKT != jkt) {
			t.Errorf("thumbprint %q: got cnf %+v", jkt, claims.Cnf)
		}
		for range 2 { // first sight, then from the cache
			p, err := v.Verify(t.Context(), tok.Value)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyThumbprint != jkt || p.SenderConstrained {
				t.Errorf("got KeyThumbprint %q, SenderConstrained %v, want %q, false", p.KeyThumbprint, p.SenderConstrained, jkt)
			}
		}
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := b64.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
