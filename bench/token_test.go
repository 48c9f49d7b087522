package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/storage"
)

// tokenEndpoint is one token endpoint under test, with a registered
// server client allowed client_credentials and the scope data:read.
type tokenEndpoint struct {
	h                http.Handler
	clientID, secret string
	// introspect returns the client an issued access token was issued
	// to, or an error if the server does not recognise it.
	introspect func(token string) (clientID string, err error)
}

// tokenRequest is a client_credentials request with client_secret_basic
// (RFC 6749 §4.4.2, §2.3.1), a new one each time: its body is consumed.
func tokenRequest(id, secret string) *http.Request {
	body := "grant_type=client_credentials&scope=" + url.QueryEscape(testScope)
	r := httptest.NewRequest(http.MethodPost, "https://as.bench.example/oauth/token", strings.NewReader(body))
	r.Header["Content-Type"] = []string{"application/x-www-form-urlencoded"}
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return r
}

// audexumToken is this toolkit's token endpoint: oauth.Server with memory
// stores and a jwt.Signer on a KeyManager of its default algorithm (ES256),
// minting RFC 9068 JWT access tokens.
func audexumToken(tb testing.TB) *tokenEndpoint {
	tb.Helper()
	ctx := context.Background()
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks})
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := jwt.NewVerifier(jwt.Config{Issuer: testIssuer, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256}, KeyManager: ks})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { verifier.Close() })
	srv, err := oauth.NewServer(oauth.Config{
		Issuer:              testIssuer,
		Signer:              signer,
		JWKS:                ks.JWKSHandler(),
		AccessTokenVerifier: verifier,
		Clients:             oauth.NewMemoryClientStore(),
		Grants:              oauth.NewMemoryGrantStore(),
		ScopeCatalog:        auth.MustScopeCatalog([]auth.ScopeInfo{{Name: testScope, Description: "the benchmark's scope"}}),
		Audience:            []string{testAudience},
	})
	if err != nil {
		tb.Fatal(err)
	}
	c, secret, err := srv.ClientManager().Register(ctx, oauth.Registration{Name: "bench", Type: oauth.ClientServer, Scopes: auth.MustScopes(testScope)})
	if err != nil {
		tb.Fatal(err)
	}
	return &tokenEndpoint{h: srv.TokenHandler(), clientID: c.ID, secret: secret, introspect: func(token string) (string, error) {
		p, err := verifier.Verify(ctx, token)
		if err != nil {
			return "", err
		}
		return p.ClientID, nil
	}}
}

// sha256Hasher is a fosite.Hasher with SHA-256 and a constant-time
// compare, to show what fosite's token endpoint costs without bcrypt.
type sha256Hasher struct{}

func (sha256Hasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	s := sha256.Sum256(data)
	return s[:], nil
}

func (sha256Hasher) Compare(_ context.Context, hash, data []byte) error {
	s := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, s[:]) != 1 {
		return errors.New("secret mismatch")
	}
	return nil
}

// fositeToken is ory/fosite's token endpoint as its README composes it:
// compose.ComposeAllEnabled with its memory store, the default client
// secret hasher (bcrypt, work factor 12) unless hasher is set, and its
// default access-token strategy (HMAC-signed opaque tokens). The handler
// is the one its docs show: NewAccessRequest, grant the requested scopes
// for client_credentials, NewAccessResponse, WriteAccessResponse.
func fositeToken(tb testing.TB, hasher fosite.Hasher) *tokenEndpoint {
	tb.Helper()
	ctx := context.Background()
	f := getFixture(tb)
	globalSecret := make([]byte, 32)
	rand.Read(globalSecret)
	cfg := &fosite.Config{
		AccessTokenLifespan: time.Hour,
		GlobalSecret:        globalSecret,
		ClientSecretsHasher: hasher,
	}
	store := storage.NewMemoryStore()
	const clientID = "bench-client"
	secret := rand.Text()
	hashed, err := cfg.GetSecretsHasher(ctx).Hash(ctx, []byte(secret))
	if err != nil {
		tb.Fatal(err)
	}
	store.Clients[clientID] = &fosite.DefaultClient{
		ID:         clientID,
		Secret:     hashed,
		GrantTypes: []string{"client_credentials"},
		Scopes:     []string{testScope},
		Audience:   []string{testAudience},
	}
	provider := compose.ComposeAllEnabled(cfg, store, f.rsaKey)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := provider.NewAccessRequest(ctx, r, &fosite.DefaultSession{})
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		if ar.GetGrantTypes().ExactOne("client_credentials") {
			for _, s := range ar.GetRequestedScopes() {
				ar.GrantScope(s)
			}
		}
		resp, err := provider.NewAccessResponse(ctx, ar)
		if err != nil {
			provider.WriteAccessError(ctx, w, ar, err)
			return
		}
		provider.WriteAccessResponse(ctx, w, ar, resp)
	})
	return &tokenEndpoint{h: h, clientID: clientID, secret: secret, introspect: func(token string) (string, error) {
		_, ar, err := provider.IntrospectToken(ctx, token, fosite.AccessToken, &fosite.DefaultSession{})
		if err != nil {
			return "", err
		}
		return ar.GetClient().GetID(), nil
	}}
}

// checkToken fails tb unless the endpoint issues a bearer token it
// recognises as the client's for the right secret, and answers 401 for a
// wrong secret and for an unknown client.
func checkToken(tb testing.TB, e *tokenEndpoint) {
	tb.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, tokenRequest(e.clientID, e.secret))
	var resp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &resp) != nil || resp.AccessToken == "" || !strings.EqualFold(resp.TokenType, "bearer") {
		tb.Fatalf("valid client: got %d %s, want 200 with a bearer token", w.Code, w.Body)
	}
	if id, err := e.introspect(resp.AccessToken); err != nil || id != e.clientID {
		tb.Fatalf("issued token: got client %q, %v; want %q", id, err, e.clientID)
	}
	for name, r := range map[string]*http.Request{
		"wrong-secret":   tokenRequest(e.clientID, otherSecret(e.secret)),
		"unknown-client": tokenRequest("no-such-client", e.secret),
	} {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), "access_token") {
			tb.Fatalf("%s: got %d %s, want 401 without a token", name, w.Code, w.Body)
		}
	}
}

// otherSecret is secret with its last character changed.
func otherSecret(secret string) string {
	last := byte('A')
	if secret[len(secret)-1] == last {
		last = 'B'
	}
	return secret[:len(secret)-1] + string(last)
}

type tokenImpl struct {
	name  string
	build func(tb testing.TB) *tokenEndpoint
}

var tokenImpls = []tokenImpl{
	{"audexum", audexumToken},
	{"fosite", func(tb testing.TB) *tokenEndpoint { return fositeToken(tb, nil) }},
	{"fosite-sha256", func(tb testing.TB) *tokenEndpoint { return fositeToken(tb, sha256Hasher{}) }},
}

func TestTokenEndpoints(t *testing.T) {
	for _, impl := range tokenImpls {
		t.Run(impl.name, func(t *testing.T) { checkToken(t, impl.build(t)) })
	}
}

// BenchmarkToken times one client_credentials request through each token
// endpoint, after the checks, one request at a time. tokens/s is the
// reciprocal of ns/op.
func BenchmarkToken(b *testing.B) {
	for _, impl := range tokenImpls {
		b.Run(impl.name, func(b *testing.B) {
			e := impl.build(b)
			checkToken(b, e)
			w := newDiscard()
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				w.reset()
				e.h.ServeHTTP(w, tokenRequest(e.clientID, e.secret))
				n++
			}
			elapsed := time.Since(start)
			if w.code != http.StatusOK {
				b.Fatalf("got status %d, want 200", w.code)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "tokens/s")
		})
	}
}
