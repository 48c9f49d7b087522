package bench

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// Every implementation is configured for the same resource server and
// authorization server, and sees the same tokens.
const (
	testIssuer   = "https://as.bench.example"
	testAudience = "https://api.bench.example"
	// A client_credentials token: the client is its own subject
	// (RFC 9068 §2.2).
	testSubject = "client-7f3a9c"
	testScope   = "data:read"
	// Leeway on the time claims wherever the implementation takes one.
	testLeeway = 30 * time.Second
)

// algorithms are the asymmetric algorithms every JWT implementation is
// timed with; hs256 is timed for the peers that support it.
var algorithms = []string{"RS256", "ES256", "EdDSA"}

const hs256 = "HS256"

// algKey is one signing key and its public half.
type algKey struct {
	alg  string
	kid  string
	priv any // crypto.Signer, or []byte for HS256
	pub  any // the verification key: public key, or the HS256 secret
}

// tokens are what every JWT implementation is checked with before it is
// timed. valid is also the token timed.
type tokens struct {
	valid, tampered, expired, wrongAudience string
}

// fixture is shared by every test and benchmark of one process: the keys,
// the tokens and an httptest server publishing the public keys as a JWKS.
type fixture struct {
	keys    map[string]*algKey
	tokens  map[string]tokens
	jwks    *httptest.Server
	jwksURL string
	rsaKey  *rsa.PrivateKey
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.jwks.Close()
	}
	os.Exit(code)
}

// getFixture builds the fixture on first use. Keys are generated once per
// process, so every implementation in a run sees the same ones.
func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture() })
	if fixErr != nil {
		tb.Fatalf("fixture: %v", fixErr)
	}
	return fix
}

func newFixture() (*fixture, error) {
	f := &fixture{keys: map[string]*algKey{}, tokens: map[string]tokens{}}
	var err error
	if f.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	f.keys["RS256"] = &algKey{alg: "RS256", kid: "bench-rs256", priv: f.rsaKey, pub: &f.rsaKey.PublicKey}
	f.keys["ES256"] = &algKey{alg: "ES256", kid: "bench-es256", priv: ecKey, pub: &ecKey.PublicKey}
	f.keys["EdDSA"] = &algKey{alg: "EdDSA", kid: "bench-eddsa", priv: edPriv, pub: edPub}
	f.keys[hs256] = &algKey{alg: hs256, kid: "bench-hs256", priv: secret, pub: secret}

	// The JWKS holds the public keys only; the HS256 secret is given to
	// the peers that take it directly, never published.
	var set jose.JSONWebKeySet
	for _, alg := range algorithms {
		k := f.keys[alg]
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: alg, Use: "sig"})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	f.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	f.jwksURL = f.jwks.URL + "/.well-known/jwks.json"

	now := time.Now()
	for alg, k := range f.keys {
		var t tokens
		base := accessTokenClaims(now)
		if t.valid, err = mint(k, base); err != nil {
			return nil, err
		}
		t.tampered = tamper(t.valid)
		expired := accessTokenClaims(now.Add(-3 * time.Hour))
		if t.expired, err = mint(k, expired); err != nil {
			return nil, err
		}
		other := accessTokenClaims(now)
		other.Audience = []string{"https://other-api.bench.example"}
		if t.wrongAudience, err = mint(k, other); err != nil {
			return nil, err
		}
		f.tokens[alg] = t
	}
	return f, nil
}

// claimsJSON is an RFC 9068 §2.2 claims set.
type claimsJSON struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	Expiry    int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	ID        string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
}

// accessTokenClaims are the claims of a token issued at iat, valid for an
// hour.
func accessTokenClaims(iat time.Time) claimsJSON {
	return claimsJSON{
		Issuer:   testIssuer,
		Subject:  testSubject,
		Audience: []string{testAudience},
		Expiry:   iat.Add(time.Hour).Unix(),
		IssuedAt: iat.Unix(),
		ID:       "4f1c0b9e8d7a6b5c4d3e2f1a0b9c8d7e",
		ClientID: testSubject,
		Scope:    testScope,
	}
}

// mint signs c with k: header "typ" "at+jwt" (RFC 9068 §2.1) and "kid".
func mint(k *algKey, c claimsJSON) (string, error) {
	sig, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		return "", err
	}
	return josejwt.Signed(sig).Claims(c).Serialize()
}

// tamper rewrites the payload of a signed token to name another subject,
// keeping the header and the signature: what an attacker editing a token
// would send.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		panic(err)
	}
	edited := strings.Replace(string(payload), testSubject, "admin-000000", 2)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(edited))
	return strings.Join(parts, ".")
}

// sink is the handler behind every middleware. While timing it only
// writes 204; while checking it also records that it ran and the subject
// the middleware put in the context.
type sink struct {
	checking  bool
	calls     int
	subject   string
	subjectOf func(r *http.Request) string
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.checking {
		s.calls++
		s.subject = s.subjectOf(r)
	}
	w.WriteHeader(http.StatusNoContent)
}

// discard is a ResponseWriter that keeps only the status, so the figures
// measure the middleware rather than a recorder.
type discard struct {
	h    http.Header
	code int
}

func newDiscard() *discard                     { return &discard{h: http.Header{}} }
func (w *discard) Header() http.Header         { return w.h }
func (w *discard) WriteHeader(code int)        { w.code = code }
func (w *discard) Write(b []byte) (int, error) { return len(b), nil }

// reset prepares w for the next request.
func (w *discard) reset() {
	clear(w.h)
	w.code = 0
}

// bearerRequest is the request every middleware is timed with.
func bearerRequest(credential string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://api.bench.example/v1/data", nil)
	r.Header.Set("Authorization", "Bearer "+credential)
	return r
}

// bearer extracts an RFC 6750 §2.1 Bearer credential, for the minimal
// middlewares written here around peer libraries.
func bearer(r *http.Request) (string, bool) {
	v := r.Header["Authorization"]
	if len(v) != 1 || len(v[0]) < 8 || !strings.EqualFold(v[0][:7], "Bearer ") {
		return "", false
	}
	return v[0][7:], true
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	w.WriteHeader(http.StatusUnauthorized)
}

// middleware is one implementation under test: it wraps next, and
// subjectOf reads the subject it put in the request context.
type middleware struct {
	wrap      func(next http.Handler) http.Handler
	subjectOf func(r *http.Request) string
}

// check fails tb unless mw accepts the valid credential with the right
// subject and refuses every bad one with 401 without calling the handler.
// It returns the handler to time: mw around a sink that only writes 204.
func check(tb testing.TB, mw middleware, valid string, bad map[string]string) http.Handler {
	tb.Helper()
	s := &sink{subjectOf: mw.subjectOf, checking: true}
	h := mw.wrap(s)
	w := newDiscard()
	h.ServeHTTP(w, bearerRequest(valid))
	if w.code < 200 || w.code > 299 || s.calls != 1 || s.subject != testSubject {
		tb.Fatalf("valid credential: got status %d, %d handler calls, subject %q; want 2xx, 1 call, subject %q", w.code, s.calls, s.subject, testSubject)
	}
	for name, cred := range bad {
		s.calls = 0
		w.reset()
		h.ServeHTTP(w, bearerRequest(cred))
		if w.code != http.StatusUnauthorized || s.calls != 0 {
			tb.Fatalf("%s credential: got status %d and %d handler calls, want 401 and none", name, w.code, s.calls)
		}
	}
	s.checking = false
	return h
}

// badTokens names the refused tokens of t.
func (t tokens) bad() map[string]string {
	return map[string]string{"tampered": t.tampered, "expired": t.expired, "wrong-audience": t.wrongAudience}
}

// timeHandler times h on r. The writer's header map is cleared each time,
// as a server would give each response a fresh one.
func timeHandler(b *testing.B, h http.Handler, r *http.Request, want int) {
	w := newDiscard()
	h.ServeHTTP(w, r) // warms caches that the implementation keeps
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r)
	}
	if w.code != want {
		b.Fatalf("got status %d, want %d", w.code, want)
	}
}
