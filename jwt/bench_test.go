package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// The benchmarks verify the same RFC 9068 token per algorithm:
//
//   - SigOnly is the floor: decoding the signature segment and checking it
//     over header.payload with the standard library, no JSON, no policy.
//   - FirstSight is the Verifier on a token it has not seen (cache off),
//     through Authenticator.Handler.
//   - Repeated is a token the Verifier has verified before (cache on),
//     through Authenticator.Handler.
var benchAlgs = []string{jwt.RS256, jwt.ES256, jwt.EdDSA}

func benchToken(b *testing.B, alg string) (*testKey, string) {
	b.Helper()
	k := newTestKey(b, alg, "bench-key-"+alg, 0)
	tok := k.token(b, claims(map[string]any{
		"aud":   []string{testAudience},
		"scope": "read write profile email",
		"jti":   "8f14e45fceea167a5a36dedd4bea2543",
	}))
	return k, tok
}

func BenchmarkJWTSigOnly(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			k, tok := benchToken(b, alg)
			dot := strings.LastIndexByte(tok, '.')
			signed, sig64 := []byte(tok[:dot]), []byte(tok[dot+1:])
			var check func(sig []byte) bool
			switch pub := k.priv.Public().(type) {
			case *rsa.PublicKey:
				check = func(sig []byte) bool {
					h := sha256.Sum256(signed)
					return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
				}
			case *ecdsa.PublicKey:
				// The standard library's cheaper ECDSA entry point
				// (ASN.1), not ecdsa.Verify with big.Ints: the floor is
				// the fastest honest check.
				check = func(sig []byte) bool {
					h := sha256.Sum256(signed)
					der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
					return err == nil && ecdsa.VerifyASN1(pub, h[:], der)
				}
			case ed25519.PublicKey:
				check = func(sig []byte) bool { return ed25519.Verify(pub, signed, sig) }
			}
			var buf [512]byte
			b.ReportAllocs()
			for b.Loop() {
				n, err := b64.Decode(buf[:], sig64)
				if err != nil || !check(buf[:n]) {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

func BenchmarkJWTFirstSight(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			benchHandler(b, alg, 0)
		})
	}
}

func BenchmarkJWTRepeated(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			benchHandler(b, alg, 1000)
		})
	}
}

// BenchmarkJWTRepeatedKeySet is Repeated with an in-process KeyManager as the
// key source: the authorization server verifying its own tokens, as
// cmd/audexum does.
func BenchmarkJWTRepeatedKeySet(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: alg, Now: fixedNow})
			if err != nil {
				b.Fatal(err)
			}
			signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
			if err != nil {
				b.Fatal(err)
			}
			tok, err := signer.Sign(b.Context(), jwt.Claims{
				Subject:  "user-1",
				ClientID: "client-1",
				Audience: []string{testAudience},
				Scopes:   auth.MustScopes("read", "write", "profile", "email"),
			})
			if err != nil {
				b.Fatal(err)
			}
			v := newVerifier(b, jwt.Config{Algorithms: []string{alg}, KeyManager: ks, CacheSize: 1000})
			serveBench(b, v, tok.Value)
		})
	}
}

// BenchmarkJWTJWKSFirstSight and BenchmarkJWTJWKSRepeated are FirstSight
// and Repeated with the key from a JWKS URL (Config.JWKSURLs), and the
// Keyfunc ones with the same JWKS through the keyfunc a service would run
// (keyfunc.NewDefaultCtx as Config.Keyfunc): requests read the Verifier's
// copy of the keys whatever the source, so the four should match the
// given-key figures.
func BenchmarkJWTJWKSFirstSight(b *testing.B) { benchRemote(b, false, 0) }
func BenchmarkJWTJWKSRepeated(b *testing.B)   { benchRemote(b, false, 1000) }

func BenchmarkJWTKeyfuncFirstSight(b *testing.B) { benchRemote(b, true, 0) }
func BenchmarkJWTKeyfuncRepeated(b *testing.B)   { benchRemote(b, true, 1000) }

// BenchmarkJWTRefused is a token refused before any signature check,
// through Authenticator.Handler: the cost of the refusal path itself (the
// error and its classification), not of cryptography. malformed fails to
// decode; unknownkey names a "kid" the verifier does not trust.
func BenchmarkJWTRefused(b *testing.B) {
	k, tok := benchToken(b, jwt.ES256)
	stranger := newTestKey(b, jwt.ES256, "stranger", 1)
	for _, bc := range []struct{ name, tok string }{
		{"malformed", tok[:strings.IndexByte(tok, '.')] + ".!!!." + tok[strings.LastIndexByte(tok, '.')+1:]},
		{"unknownkey", stranger.token(b, claims(nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := newVerifier(b, jwt.Config{Algorithms: []string{jwt.ES256}, Keys: []jwt.PublicKey{k.public()}})
			serveBenchStatus(b, v, bc.tok, http.StatusUnauthorized)
		})
	}
}

func benchRemote(b *testing.B, viaKeyfunc bool, cacheSize int) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			k, tok := benchToken(b, alg)
			set := jwks(b, []*testKey{k})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(set) }))
			b.Cleanup(srv.Close)
			cfg := jwt.Config{Algorithms: []string{alg}, CacheSize: cacheSize}
			if viaKeyfunc {
				kf, err := keyfunc.NewDefaultCtx(b.Context(), []string{srv.URL})
				if err != nil {
					b.Fatal(err)
				}
				cfg.Keyfunc = kf
			} else {
				cfg.JWKSURLs = []string{srv.URL}
			}
			v := newVerifier(b, cfg)
			if err := v.WaitReady(b.Context()); err != nil {
				b.Fatal(err)
			}
			serveBench(b, v, tok)
		})
	}
}

func benchHandler(b *testing.B, alg string, cacheSize int) {
	k, tok := benchToken(b, alg)
	v := newVerifier(b, jwt.Config{Algorithms: []string{alg}, Keys: []jwt.PublicKey{k.public()}, CacheSize: cacheSize})
	serveBench(b, v, tok)
}

// serveBench measures requests bearing tok through Authenticator.Handler
// with v.
func serveBench(b *testing.B, v *jwt.Verifier, tok string) {
	serveBenchStatus(b, v, tok, http.StatusNoContent)
}

// serveBenchStatus is serveBench for a request answered with status
// want.
func serveBenchStatus(b *testing.B, v *jwt.Verifier, tok string, want int) {
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest("GET", "https://api.example.com/v1/data", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := &statusWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warms the cache when it is on
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.status != want {
		b.Fatalf("got status %d, want %d", w.status, want)
	}
}

// statusWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures authentication rather than a recorder.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusWriter) WriteHeader(code int)        { w.status = code }
