package bench

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
	_ "modernc.org/sqlite"
)

// The reference server's authenticated routes, rebuilt in process to
// profile them (the server has no profiling endpoint): the same
// Authenticator with a Throttle behind RequireHTTPS, the API key verifier
// on the SQLite key store, and the access-token verifier on the signing
// key set with its revocation check on the SQLite grant store, exactly as
// cmd/audexum/serve.go configures them, and with the changes that explain
// the load test's figures. Not part of run.sh's peer rounds:
//
//	go test -run '^$' -bench ServerPath -cpuprofile cpu.out
//	go tool pprof -top bench.test cpu.out

// serverPath is the SQLite store behind one reference-server-like stack.
type serverPath struct {
	store  *sqlstore.Store
	keys   *jwt.KeyManager
	grants oauth.GrantStore
}

func newServerPath(tb testing.TB) *serverPath {
	tb.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(tb.TempDir(), "audexum.db")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	// Signing keys sealed under a key-encryption key, as the reference
	// server keeps them by default; they are opened once, at load.
	kek, err := sqlstore.ParseKeyEncryptionKey(sqlstore.GenerateKeyEncryptionKey())
	if err != nil {
		tb.Fatal(err)
	}
	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store.SigningKeys()})
	if err != nil {
		tb.Fatal(err)
	}
	return &serverPath{store: store, keys: keys, grants: store.Grants()}
}

// chain is the reference server's stack around next.
func chain(tb testing.TB, v auth.Verifier, next http.Handler) http.Handler {
	tb.Helper()
	throttle, err := auth.NewThrottle(auth.ThrottleConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}, Throttle: throttle})
	if err != nil {
		tb.Fatal(err)
	}
	return auth.RequireHTTPS(auth.HTTPSConfig{})(a.Handler(auth.RequireScopes(testScope)(next)))
}

// tokenPath returns the access-token stack and a valid token. cacheSize
// is jwt.Config.CacheSize (serve.go leaves it zero: no cache);
// sqlRevocation selects the SQLite grant store's IsRevoked (as served) or
// an in-memory one.
func (sp *serverPath) tokenPath(tb testing.TB, cacheSize int, sqlRevocation bool) (http.Handler, string) {
	tb.Helper()
	isRevoked := sp.grants.IsRevoked
	if !sqlRevocation {
		isRevoked = oauth.NewMemoryGrantStore().IsRevoked
	}
	v, err := jwt.NewVerifier(jwt.Config{
		Issuer:     testIssuer,
		Audiences:  []string{testAudience},
		Algorithms: []string{jwt.ES256, jwt.RS256, jwt.EdDSA},
		KeyManager: sp.keys,
		CacheSize:  cacheSize,
		Revoked:    isRevoked,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: sp.keys})
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := signer.Sign(context.Background(), jwt.Claims{Subject: testSubject, ClientID: testSubject,
		Audience: []string{testAudience}, Scopes: auth.MustScopes(testScope)})
	if err != nil {
		tb.Fatal(err)
	}
	return chain(tb, v, &sink{}), tok.Value
}

// apiKeyPath returns the API key stack on the SQLite key store, with the
// verifier's defaults as serve.go uses them, and a valid key.
func (sp *serverPath) apiKeyPath(tb testing.TB) (http.Handler, string) {
	tb.Helper()
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: sp.store.APIKeys()})
	if err != nil {
		tb.Fatal(err)
	}
	key, _, err := mgr.Create(context.Background(), apikey.CreateParams{Name: "bench", Owner: testSubject, Scopes: auth.MustScopes(testScope)})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Store: sp.store.APIKeys()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	return chain(tb, v, &sink{}), key
}

var serverPaths = []struct {
	name  string
	build func(tb testing.TB, sp *serverPath) (http.Handler, string)
}{
	{"apikey-as-served", func(tb testing.TB, sp *serverPath) (http.Handler, string) { return sp.apiKeyPath(tb) }},
	{"token-as-served", func(tb testing.TB, sp *serverPath) (http.Handler, string) { return sp.tokenPath(tb, 0, true) }},
	{"token-cache", func(tb testing.TB, sp *serverPath) (http.Handler, string) { return sp.tokenPath(tb, 1024, true) }},
	{"token-cache-memrevocation", func(tb testing.TB, sp *serverPath) (http.Handler, string) { return sp.tokenPath(tb, 1024, false) }},
}

func TestServerPaths(t *testing.T) {
	sp := newServerPath(t)
	for _, p := range serverPaths {
		t.Run(p.name, func(t *testing.T) {
			h, cred := p.build(t, sp)
			w := newDiscard()
			h.ServeHTTP(w, bearerRequest(cred))
			if w.code != http.StatusNoContent {
				t.Fatalf("got status %d, want 204", w.code)
			}
		})
	}
}

// BenchmarkServerPath times the reference server's authenticated routes
// in process, one request at a time.
func BenchmarkServerPath(b *testing.B) {
	sp := newServerPath(b)
	for _, p := range serverPaths {
		b.Run(p.name, func(b *testing.B) {
			h, cred := p.build(b, sp)
			timeHandler(b, h, bearerRequest(cred), http.StatusNoContent)
		})
	}
}
