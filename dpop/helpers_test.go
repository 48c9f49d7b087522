package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "https://api.example.com"
)

// t0 is the tests' clock.
var t0 = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return t0 }

var b64 = base64.RawURLEncoding

// clientKey is a client's key pair with its proof signer.
type clientKey struct {
	priv   crypto.Signer
	signer *dpop.Signer
	jkt    string
}

func newClientKey(t testing.TB, alg string) *clientKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case dpop.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case dpop.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case dpop.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case dpop.RS256, dpop.PS256:
		priv = rsaKey(t)
	default:
		t.Fatalf("no key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(dpop.SignerConfig{Key: priv, Algorithm: alg, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return &clientKey{priv: priv, signer: s, jkt: s.Thumbprint()}
}

var (
	rsaOnce sync.Once
	rsaPriv *rsa.PrivateKey
)

// rsaKey returns one shared 2048-bit key: generating them is slow.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsaPriv, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaPriv
}

// proof returns a proof by k for method and uri, with the access token's
// hash when token is not empty.
func (k *clientKey) proof(t testing.TB, method, uri, token string) string {
	t.Helper()
	p, err := k.signer.Proof(method, uri, token, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// raw returns a proof by k with the given header and claims JSON, signed
// as alg says: for the rows a well-behaved Signer cannot make.
func (k *clientKey) raw(t testing.TB, alg, header, claims string) string {
	t.Helper()
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(claims))
	return input + "." + b64.EncodeToString(signWith(t, k.priv, alg, []byte(input)))
}

func signWith(t testing.TB, priv crypto.Signer, alg string, input []byte) []byte {
	t.Helper()
	digest := sha256.Sum256(input)
	var sig []byte
	var err error
	switch alg {
	case dpop.EdDSA:
		sig, err = priv.Sign(rand.Reader, input, crypto.Hash(0))
	case dpop.RS256:
		sig, err = priv.Sign(rand.Reader, digest[:], crypto.SHA256)
	case dpop.PS256:
		sig, err = priv.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	case dpop.ES256:
		r, s, e := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), digest[:])
		sig, err = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), e
	default:
		t.Fatalf("cannot sign %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// jwkJSON returns the public JWK of k's key, with extra members added.
func (k *clientKey) jwkJSON(t testing.TB, extra map[string]any) string {
	t.Helper()
	m := map[string]any{}
	switch pub := k.priv.Public().(type) {
	case *ecdsa.PublicKey:
		b, _ := pub.Bytes()
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64.EncodeToString(b[1:33]), b64.EncodeToString(b[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64.EncodeToString(pub)
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64.EncodeToString(pub.N.Bytes()), b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	}
	for n, v := range extra {
		if v == nil {
			delete(m, n)
		} else {
			m[n] = v
		}
	}
	return mustJSON(m)
}

// header returns a proof header for k: typ dpop+jwt, alg and jwk, with
// over's members replacing or adding (nil removes).
func (k *clientKey) header(t testing.TB, alg string, over map[string]any) string {
	t.Helper()
	m := map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": json.RawMessage(k.jwkJSON(t, nil))}
	for n, v := range over {
		if v == nil {
			delete(m, n)
		} else {
			m[n] = v
		}
	}
	return mustJSON(m)
}

var jtiSeq atomic.Int64

// claims returns proof claims for method and uri at t0 with a new jti
// and the token's ath, with over's members replacing or adding (nil
// removes).
func claims(method, uri, token string, over map[string]any) string {
	m := map[string]any{
		"jti": "jti-" + big.NewInt(jtiSeq.Add(1)).String(),
		"htm": method,
		"htu": uri,
		"iat": t0.Unix(),
	}
	if token != "" {
		m["ath"] = ath(token)
	}
	for n, v := range over {
		if v == nil {
			delete(m, n)
		} else {
			m[n] = v
		}
	}
	return mustJSON(m)
}

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64.EncodeToString(sum[:])
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// issuer mints access tokens for the tests, bound or not, and verifies
// them with a cache, as a resource server would.
type issuer struct {
	signer   *jwt.Signer
	verifier *jwt.Verifier
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.ES256, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.Config{
		Issuer: testIssuer, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256},
		KeyManager: ks, CacheSize: 1000, Now: fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return &issuer{signer: s, verifier: v}
}

// token mints an access token for user-1, bound to jkt unless it is "".
func (is *issuer) token(t testing.TB, jkt string) string {
	t.Helper()
	tok, err := is.signer.Sign(context.Background(), jwt.Claims{
		Subject: "user-1", ClientID: "client-1", Audience: []string{testAudience},
		Scopes: auth.MustScopes("data:read"), KeyThumbprint: jkt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Value
}

// countingVerifier counts the calls that reach the token verifier.
type countingVerifier struct {
	*jwt.Verifier
	calls atomic.Int64
}

func (c *countingVerifier) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	c.calls.Add(1)
	return c.Verifier.Verify(ctx, token)
}

func newChecker(t testing.TB, cfg dpop.Config) *dpop.Checker {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	c, err := dpop.NewChecker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
