package jwt_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// exampleNow is the examples' clock, so their output does not change.
func exampleNow() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// A resource server verifies access tokens with its authorization server's
// JWKS. Give the Verifier the exact issuer, this API's audience and the
// algorithms the issuer signs with; keys are fetched, cached, refreshed,
// and fetched again (rate limited) when a token names an unknown key. Turn
// the cache on: a token seen before then costs a map lookup.
func ExampleNewVerifier() {
	// The authorization server, here in the same process for the
	// example: a key set published at its JWKS URL, and a signer.
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	as := httptest.NewServer(keys.JWKSHandler())
	defer as.Close()
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: keys, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}

	// The resource server.
	v, err := jwt.NewVerifier(jwt.Config{
		Issuer:     "https://auth.example.com",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.ES256},
		JWKSURLs:   []string{as.URL}, // in production: https, the issuer's jwks_uri
		CacheSize:  10000,
		Now:        exampleNow,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil { // or report v.Ready() in a health check
		log.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		log.Fatal(err)
	}
	api := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "%s via %s as %s, scopes %q", p.Subject, p.ClientID, p.Method, p.Scopes)
	}))

	tok, err := signer.Sign(context.Background(), jwt.Claims{
		Subject:  "user-42",
		ClientID: "photo-app",
		Audience: []string{"https://api.example.com"},
		Scopes:   auth.MustScopes("photos:read"),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, bearer := range []string{tok.Value, tok.Value[:len(tok.Value)-4] + "AAAA"} {
		r := httptest.NewRequest("GET", "https://api.example.com/photos", nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user-42 via photo-app as authorization_code, scopes "photos:read"
	// 401 {"error":"invalid_token","message":"Authentication failed"}
}

// Keys can be given instead of fetched: a JWK Set document (pinned at
// deploy time, say) or public keys each with its algorithm. Rotating them
// then means redeploying, so prefer JWKSURLs when the issuer publishes
// them.
func ExampleNewVerifier_givenKeys() {
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: keys, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	doc, err := keys.PublicJWKS()
	if err != nil {
		log.Fatal(err)
	}

	v, err := jwt.NewVerifier(jwt.Config{
		Issuer:     "https://auth.example.com",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.EdDSA},
		JWKS:       doc,
		Now:        exampleNow,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// A client acting for itself: sub equals client_id.
	tok, err := signer.Sign(context.Background(), jwt.Claims{
		Subject:  "billing-job",
		ClientID: "billing-job",
		Audience: []string{"https://api.example.com"},
		Scopes:   auth.MustScopes("invoices:write"),
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok.Value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Subject, p.Method, p.IsUser(), p.Scopes.Has("invoices:write"), p.ExpiresAt.Format(time.RFC3339))
	// Output:
	// billing-job client_credentials false true 2030-01-02T04:04:05Z
}

// A service that already runs keyfunc (github.com/MicahParks/keyfunc/v3),
// for golang-jwt say, gives the Verifier that Keyfunc as it is. Keyfunc
// keeps fetching the JWKS on its own schedule; the Verifier reads the keys
// keyfunc holds and applies its own rules to them: each key verifies one
// algorithm of the allow-list, weak and unsupported keys are skipped, and
// while keyfunc holds no usable key tokens get 503, not 401. Where no
// keyfunc runs yet, JWKSURLs does the same without it.
func ExampleConfig_keyfunc() {
	// The authorization server, here in the same process for the
	// example.
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	as := httptest.NewServer(keys.JWKSHandler())
	defer as.Close()
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: keys, Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}

	// The keyfunc the service already has. Its context ends keyfunc's
	// refresh; the Verifier's Close does not.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := keyfunc.NewDefaultCtx(ctx, []string{as.URL})
	if err != nil {
		log.Fatal(err)
	}

	v, err := jwt.NewVerifier(jwt.Config{
		Issuer:     "https://auth.example.com",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.ES256},
		Keyfunc:    k,
		CacheSize:  10000,
		Now:        exampleNow,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	wait, cancelWait := context.WithTimeout(ctx, 5*time.Second)
	defer cancelWait()
	if err := v.WaitReady(wait); err != nil { // keyfunc's keys read
		log.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		log.Fatal(err)
	}
	api := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "%s via %s", p.Subject, p.ClientID)
	}))

	tok, err := signer.Sign(context.Background(), jwt.Claims{
		Subject:  "user-42",
		ClientID: "photo-app",
		Audience: []string{"https://api.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, bearer := range []string{tok.Value, tok.Value[:len(tok.Value)-4] + "AAAA"} {
		r := httptest.NewRequest("GET", "https://api.example.com/photos", nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 user-42 via photo-app
	// 401 {"error":"invalid_token","message":"Authentication failed"}
}

// The authorization server mints access tokens with a Signer over a
// KeyManager, and publishes the public keys with the key set's JWKS handler.
func ExampleSigner_Sign() {
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Now: exampleNow})
	if err != nil {
		log.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{
		Issuer:          "https://auth.example.com",
		Keys:            keys,
		DefaultLifetime: 15 * time.Minute,
		Now:             exampleNow,
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := signer.Sign(context.Background(), jwt.Claims{
		Subject:  "user-42",
		ClientID: "photo-app",
		Audience: []string{"https://api.example.com"},
		Scopes:   auth.MustScopes("photos:read", "photos:write"),
		Extra:    map[string]any{"auth_time": exampleNow().Add(-time.Hour).Unix()},
	})
	if err != nil {
		log.Fatal(err)
	}
	parts := strings.Split(tok.Value, ".")
	var header struct{ Alg, Typ, Kid string }
	var claims map[string]any
	decode(parts[0], &header)
	decode(parts[1], &claims)
	fmt.Println("header:", header.Alg, header.Typ, header.Kid == keys.ActiveKeyID())
	fmt.Println("sub:", claims["sub"], "client_id:", claims["client_id"], "aud:", claims["aud"])
	fmt.Println("scope:", claims["scope"])
	fmt.Println("lifetime:", tok.ExpiresAt.Sub(tok.IssuedAt), "jti is the ID:", claims["jti"] == tok.ID)

	w := httptest.NewRecorder()
	keys.JWKSHandler().ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
	// Output:
	// header: ES256 at+jwt true
	// sub: user-42 client_id: photo-app aud: https://api.example.com
	// scope: photos:read photos:write
	// lifetime: 15m0s jti is the ID: true
	// 200 application/jwk-set+json public, max-age=300
}

func decode(seg string, v any) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		log.Fatal(err)
	}
}

// Some identity providers issue access tokens that are not RFC 9068
// tokens: "typ" is "JWT", and "client_id" or "jti" are missing. Accept
// them only for such an issuer, naming exactly what it lacks, and only if
// it does not sign ID tokens for this audience with the same keys: "typ"
// is what tells an access token from an ID token.
func ExampleConfig_identityProvider() {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	// A token as such a provider mints it (go-jose, imported as josejwt).
	idp, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "idp-1"))
	if err != nil {
		log.Fatal(err)
	}
	now := exampleNow()
	tok, err := josejwt.Signed(idp).Claims(josejwt.Claims{
		Issuer:   "https://idp.example.com/",
		Subject:  "auth0|5f7c8ec7c33c6c004bbafe82",
		Audience: josejwt.Audience{"https://api.example.com"},
		IssuedAt: josejwt.NewNumericDate(now),
		Expiry:   josejwt.NewNumericDate(now.Add(time.Hour)),
	}).Claims(map[string]any{"scp": []string{"read:messages"}}).Serialize()
	if err != nil {
		log.Fatal(err)
	}

	cfg := jwt.Config{
		Issuer:     "https://idp.example.com/",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.EdDSA},
		Keys:       []jwt.PublicKey{{KeyID: "idp-1", Algorithm: jwt.EdDSA, Key: pub}},
		Now:        exampleNow,
	}
	strict, err := jwt.NewVerifier(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = strict.Verify(context.Background(), tok)
	fmt.Println("strict:", errors.Is(err, jwt.ErrType))

	cfg.InsecureAllowAnyType = true
	cfg.InsecureOptionalClaims = []string{jwt.ClaimClientID, jwt.ClaimID}
	lax, err := jwt.NewVerifier(cfg)
	if err != nil {
		log.Fatal(err)
	}
	p, err := lax.Verify(context.Background(), tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lax:", p.Subject, p.Method, p.Scopes)
	// Output:
	// strict: true
	// lax: auth0|5f7c8ec7c33c6c004bbafe82 authorization_code read:messages
}

// Tokens whose lifetime ("exp" minus "iat") exceeds Config.MaxTokenLifetime,
// 24 hours by default, are refused: that bounds how long a stolen token, or
// one minted with a stolen key, stays good, whatever its "exp" says. If the
// issuer mints longer access tokens, prefer shortening them there (an hour
// is common); otherwise raise the limit to the longest the issuer mints,
// not more.
func ExampleConfig_maxTokenLifetime() {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	// An issuer that mints access tokens valid for two days.
	as, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "as-1"))
	if err != nil {
		log.Fatal(err)
	}
	now := exampleNow()
	tok, err := josejwt.Signed(as).Claims(josejwt.Claims{
		Issuer:   "https://auth.example.com",
		Subject:  "user-42",
		Audience: josejwt.Audience{"https://api.example.com"},
		IssuedAt: josejwt.NewNumericDate(now),
		Expiry:   josejwt.NewNumericDate(now.Add(48 * time.Hour)),
		ID:       "b7e2c9f4",
	}).Claims(map[string]any{"client_id": "photo-app"}).Serialize()
	if err != nil {
		log.Fatal(err)
	}

	cfg := jwt.Config{
		Issuer:     "https://auth.example.com",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.EdDSA},
		Keys:       []jwt.PublicKey{{KeyID: "as-1", Algorithm: jwt.EdDSA, Key: pub}},
		Now:        exampleNow,
	}
	def, err := jwt.NewVerifier(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = def.Verify(context.Background(), tok)
	fmt.Println("default, lifetime too long:", errors.Is(err, jwt.ErrLifetimeTooLong))

	cfg.MaxTokenLifetime = 48 * time.Hour
	twoDays, err := jwt.NewVerifier(cfg)
	if err != nil {
		log.Fatal(err)
	}
	p, err := twoDays.Verify(context.Background(), tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("MaxTokenLifetime 48h:", p.Subject, "until", p.ExpiresAt.UTC().Format(time.RFC3339))
	// Output:
	// default, lifetime too long: true
	// MaxTokenLifetime 48h: user-42 until 2030-01-04T03:04:05Z
}
