package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	auth0jwks "github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
)

// jwtImpl builds one JWT implementation for one algorithm. Each is
// configured as its documentation recommends for security: an algorithm
// allow-list of the one algorithm, the issuer and the audience required,
// the same 30 s leeway where there is one.
type jwtImpl struct {
	name string
	// hs256 is set when the implementation takes HMAC keys.
	hs256 bool
	build func(tb testing.TB, f *fixture, alg string) middleware
}

// jwtImpls are timed in this order within a round. The floor is timed
// separately (BenchmarkJWT/…/floor): it is not a middleware.
var jwtImpls = []jwtImpl{
	{name: "audexum-first", build: func(tb testing.TB, f *fixture, alg string) middleware { return audexumJWT(tb, f, alg, 0) }},
	{name: "audexum-repeated", build: func(tb testing.TB, f *fixture, alg string) middleware { return audexumJWT(tb, f, alg, 1024) }},
	{name: "gojose", hs256: true, build: goJose},
	{name: "golangjwt", hs256: true, build: golangJWT},
	{name: "auth0", hs256: true, build: auth0JWT},
}

// audexumJWT is this toolkit: a jwt.Verifier on the JWKS URL behind an
// auth.Authenticator. cacheSize 0 turns the verified-token cache off
// (jwt.Config.CacheSize: "If zero, no cache"), so every request is a
// first sight.
func audexumJWT(tb testing.TB, f *fixture, alg string, cacheSize int) middleware {
	tb.Helper()
	v, err := jwt.NewVerifier(jwt.Config{
		Issuer:     testIssuer,
		Audiences:  []string{testAudience},
		Algorithms: []string{alg},
		JWKSURLs:   []string{f.jwksURL},
		Leeway:     testLeeway,
		CacheSize:  cacheSize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		tb.Fatalf("JWKS not loaded: %v", err)
	}
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		tb.Fatal(err)
	}
	return middleware{wrap: a.Handler, subjectOf: func(r *http.Request) string {
		p, _ := auth.FromContext(r.Context())
		return p.Subject
	}}
}

// claimsKey carries verified claims for the minimal middlewares below.
type claimsKey struct{}

// goJose is go-jose v4 on its own, the way its docs show it: ParseSigned
// with the algorithm allow-list, Claims with the key, ValidateWithLeeway
// with the expected issuer and audience. It is given the key itself (no
// JWKS), as a hand-written verifier would be.
func goJose(tb testing.TB, f *fixture, alg string) middleware {
	key := f.keys[alg].pub
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
	want := josejwt.Expected{Issuer: testIssuer, AnyAudience: josejwt.Audience{testAudience}}
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r)
			if !ok {
				unauthorized(w)
				return
			}
			parsed, err := josejwt.ParseSigned(tok, algs)
			if err != nil {
				unauthorized(w)
				return
			}
			var c josejwt.Claims
			if err := parsed.Claims(key, &c); err != nil {
				unauthorized(w)
				return
			}
			// ValidateWithLeeway does not require "exp"; an access
			// token without one is refused here.
			if c.Expiry == nil || c.ValidateWithLeeway(want.WithTime(time.Now()), testLeeway) != nil {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, &c)))
		})
	}
	return middleware{wrap: wrap, subjectOf: func(r *http.Request) string {
		return r.Context().Value(claimsKey{}).(*josejwt.Claims).Subject
	}}
}

// golangJWT is the minimal golang-jwt v5 middleware: a Parser with
// WithValidMethods, WithIssuer, WithAudience and WithExpirationRequired,
// keys from keyfunc v3 on the JWKS URL (a static key for HS256, which
// does not belong in a published JWKS).
func golangJWT(tb testing.TB, f *fixture, alg string) middleware {
	tb.Helper()
	var kf gjwt.Keyfunc
	if alg == hs256 {
		secret := f.keys[alg].pub
		kf = func(*gjwt.Token) (any, error) { return secret, nil }
	} else {
		ctx, cancel := context.WithCancel(context.Background())
		tb.Cleanup(cancel)
		k, err := keyfunc.NewDefaultCtx(ctx, []string{f.jwksURL})
		if err != nil {
			tb.Fatal(err)
		}
		kf = k.Keyfunc
	}
	p := gjwt.NewParser(
		gjwt.WithValidMethods([]string{alg}),
		gjwt.WithIssuer(testIssuer),
		gjwt.WithAudience(testAudience),
		gjwt.WithExpirationRequired(),
		gjwt.WithLeeway(testLeeway),
	)
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r)
			if !ok {
				unauthorized(w)
				return
			}
			var c gjwt.RegisteredClaims
			if _, err := p.ParseWithClaims(tok, &c, kf); err != nil {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, &c)))
		})
	}
	return middleware{wrap: wrap, subjectOf: func(r *http.Request) string {
		return r.Context().Value(claimsKey{}).(*gjwt.RegisteredClaims).Subject
	}}
}

// auth0JWT is auth0/go-jwt-middleware v2 with its validator, configured as
// its README does: a caching JWKS provider (here on the JWKS URL, not the
// issuer's discovery document, which the bench issuer does not serve), one
// signature algorithm, issuer and audience, and a clock skew. HS256 gets a
// key function returning the secret.
func auth0JWT(tb testing.TB, f *fixture, alg string) middleware {
	tb.Helper()
	keyFunc := func(context.Context) (any, error) { return f.keys[alg].pub, nil }
	if alg != hs256 {
		iss, _ := url.Parse(testIssuer)
		ju, _ := url.Parse(f.jwksURL)
		keyFunc = auth0jwks.NewCachingProvider(iss, 5*time.Minute, auth0jwks.WithCustomJWKSURI(ju)).KeyFunc
	}
	v, err := validator.New(keyFunc, validator.SignatureAlgorithm(alg), testIssuer, []string{testAudience},
		validator.WithAllowedClockSkew(testLeeway))
	if err != nil {
		tb.Fatal(err)
	}
	mw := jwtmiddleware.New(v.ValidateToken)
	return middleware{wrap: mw.CheckJWT, subjectOf: func(r *http.Request) string {
		return r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims).RegisteredClaims.Subject
	}}
}

// floor returns the standard library's signature check of the token's
// header.payload: base64url-decoding the signature and verifying it, no
// JSON, no claims, no HTTP. Every implementation does at least this.
func floor(tb testing.TB, f *fixture, alg string) func(token string) bool {
	k := f.keys[alg]
	var verify func(signed, sig []byte) bool
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		verify = func(signed, sig []byte) bool {
			h := sha256.Sum256(signed)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		}
	case *ecdsa.PublicKey:
		verify = func(signed, sig []byte) bool {
			if len(sig) != 64 {
				return false
			}
			h := sha256.Sum256(signed)
			return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		}
	case ed25519.PublicKey:
		verify = func(signed, sig []byte) bool { return ed25519.Verify(pub, signed, sig) }
	case []byte:
		verify = func(signed, sig []byte) bool {
			m := hmac.New(sha256.New, pub)
			m.Write(signed)
			var sum [sha256.Size]byte
			return hmac.Equal(m.Sum(sum[:0]), sig)
		}
	default:
		tb.Fatalf("no floor for %T", pub)
	}
	var buf [512]byte
	return func(token string) bool {
		dot := strings.LastIndexByte(token, '.')
		if dot < 0 {
			return false
		}
		n, err := base64.RawURLEncoding.Decode(buf[:], []byte(token[dot+1:]))
		return err == nil && verify([]byte(token[:dot]), buf[:n])
	}
}

func jwtAlgorithms() []string { return append(append([]string(nil), algorithms...), hs256) }

// TestJWTImplementations runs the checks every benchmark runs before
// timing, for every implementation and algorithm, and checks the floor
// tells a valid signature from a tampered one.
func TestJWTImplementations(t *testing.T) {
	f := getFixture(t)
	for _, alg := range jwtAlgorithms() {
		t.Run(alg+"/floor", func(t *testing.T) {
			fl := floor(t, f, alg)
			if !fl(f.tokens[alg].valid) || fl(f.tokens[alg].tampered) {
				t.Fatal("the floor does not tell the valid token from the tampered one")
			}
		})
		for _, impl := range jwtImpls {
			if alg == hs256 && !impl.hs256 {
				continue
			}
			t.Run(alg+"/"+impl.name, func(t *testing.T) {
				check(t, impl.build(t, f, alg), f.tokens[alg].valid, f.tokens[alg].bad())
			})
		}
	}
}

// BenchmarkJWT times one request with the same valid token through every
// implementation, per algorithm, after the checks of
// TestJWTImplementations.
func BenchmarkJWT(b *testing.B) {
	f := getFixture(b)
	for _, alg := range jwtAlgorithms() {
		b.Run(alg+"/floor", func(b *testing.B) {
			fl := floor(b, f, alg)
			tok := f.tokens[alg].valid
			if !fl(tok) || fl(f.tokens[alg].tampered) {
				b.Fatal("the floor does not tell the valid token from the tampered one")
			}
			b.ReportAllocs()
			for b.Loop() {
				if !fl(tok) {
					b.Fatal("signature does not verify")
				}
			}
		})
		for _, impl := range jwtImpls {
			if alg == hs256 && !impl.hs256 {
				continue
			}
			b.Run(alg+"/"+impl.name, func(b *testing.B) {
				h := check(b, impl.build(b, f, alg), f.tokens[alg].valid, f.tokens[alg].bad())
				timeHandler(b, h, bearerRequest(f.tokens[alg].valid), http.StatusNoContent)
			})
		}
	}
}
