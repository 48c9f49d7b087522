package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audexum/auth/jwt"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "https://api.example.com"
	// testJKT is the RFC 7638 thumbprint of RFC 7638 §3.1's example key.
	testJKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

// t0 is the tests' clock: tokens are issued at t0 and expire an hour later.
var t0 = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return t0 }

// testKey is a signing key for hand-made tokens.
type testKey struct {
	alg  string
	kid  string
	priv crypto.Signer
}

var (
	rsaOnce sync.Once
	rsaKeys [3]*rsa.PrivateKey // generated once: RSA generation is slow
)

// rsaKey returns the i-th shared 2048-bit RSA key.
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

// newTestKey returns a key for alg; RSA keys come from a small shared pool
// (variant picks one), other keys are fresh.
func newTestKey(t testing.TB, alg, kid string, variant int) *testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jwt.RS256, jwt.RS384, jwt.RS512, jwt.PS256, jwt.PS384, jwt.PS512:
		priv = rsaKey(t, variant)
	case jwt.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwt.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jwt.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jwt.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no test key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{alg: alg, kid: kid, priv: priv}
}

func (k *testKey) public() jwt.PublicKey {
	return jwt.PublicKey{KeyID: k.kid, Algorithm: k.alg, Key: k.priv.Public()}
}

// jwk returns the key's public JWK with "use", "alg" (unless noAlg) and "kid".
func (k *testKey) jwk(t testing.TB, noAlg bool) json.RawMessage {
	t.Helper()
	j := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Use: "sig"}
	if !noAlg {
		j.Algorithm = k.alg
	}
	b, err := j.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwks returns a JWK Set document of the keys, plus any raw extra entries.
func jwks(t testing.TB, keys []*testKey, extra ...string) []byte {
	t.Helper()
	var list []json.RawMessage
	for _, k := range keys {
		list = append(list, k.jwk(t, false))
	}
	for _, e := range extra {
		list = append(list, json.RawMessage(e))
	}
	b, err := json.Marshal(map[string]any{"keys": list})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var b64 = base64.RawURLEncoding

// sign returns the compact JWS of the raw header and payload JSON, signed
// with k under alg (which may differ from k.alg, to make hostile tokens).
func (k *testKey) sign(t testing.TB, alg, header, payload string) string {
	t.Helper()
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	return input + "." + b64.EncodeToString(rawSign(t, k.priv, alg, []byte(input)))
}

func rawSign(t testing.TB, priv crypto.Signer, alg string, input []byte) []byte {
	t.Helper()
	h := map[byte]crypto.Hash{'2': crypto.SHA256, '3': crypto.SHA384, '5': crypto.SHA512}[alg[2]]
	digest := func() []byte {
		switch h {
		case crypto.SHA384:
			d := sha512.Sum384(input)
			return d[:]
		case crypto.SHA512:
			d := sha512.Sum512(input)
			return d[:]
		}
		d := sha256.Sum256(input)
		return d[:]
	}
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(nil, priv.(*rsa.PrivateKey), h, digest())
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, priv.(*rsa.PrivateKey), h, digest(), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		p := priv.(*ecdsa.PrivateKey)
		r, s, e := ecdsa.Sign(rand.Reader, p, digest())
		size := (p.Curve.Params().BitSize + 7) / 8
		sig, err = append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...), e
	case "Ed":
		sig = ed25519.Sign(priv.(ed25519.PrivateKey), input)
	default:
		t.Fatalf("cannot sign %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// hs256 returns a token MACed with secret: the algorithm-confusion attack.
func hs256(header, payload string, secret []byte) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

// header returns a JOSE header for k with typ at+jwt.
func (k *testKey) header() string {
	return `{"alg":"` + k.alg + `","kid":"` + k.kid + `","typ":"at+jwt"}`
}

// claims returns a valid claims set, with over's members replacing or
// adding to the defaults and the names in drop removed.
func claims(over map[string]any, drop ...string) string {
	c := map[string]any{
		"iss":       testIssuer,
		"sub":       "user-1",
		"aud":       testAudience,
		"exp":       t0.Add(time.Hour).Unix(),
		"iat":       t0.Unix(),
		"jti":       "token-1",
		"client_id": "client-1",
		"scope":     "read write",
	}
	for k, v := range over {
		c[k] = v
	}
	for _, k := range drop {
		delete(c, k)
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// token returns a valid access token signed by k with the given claims.
func (k *testKey) token(t testing.TB, claimsJSON string) string {
	t.Helper()
	return k.sign(t, k.alg, k.header(), claimsJSON)
}

// newVerifier returns a verifier for cfg with the test issuer, audience
// and clock filled in where empty, closed when the test ends.
func newVerifier(t testing.TB, cfg jwt.Config) *jwt.Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Audiences == nil {
		cfg.Audiences = []string{testAudience}
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	v, err := jwt.NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// keyOf returns the key kid of a key set, read from its store: the private
// material of someone who stole it, to sign tokens the set's Signer would
// not.
func keyOf(t testing.TB, store jwt.KeyStore, kid string) *testKey {
	t.Helper()
	stored, err := store.LoadKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		if s.ID != kid {
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(s.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		return &testKey{alg: s.Algorithm, kid: s.ID, priv: priv.(crypto.Signer)}
	}
	t.Fatalf("no key %q in the store", kid)
	return nil
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
