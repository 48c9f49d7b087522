package apikey_test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// The three benchmarks below are compared run to run; keep their names.
//
//	BenchmarkVerifyAPIKey           RequireHTTPS → Authenticator → RequireScopes → no-op, MemoryStore, cache hit
//	BenchmarkVerifyAPIKeyMalformed  the same chain, a key with a bad checksum (401)
//	BenchmarkVerifyAPIKeyReference  a bare handler: parse Bearer, SHA-256 the key, map lookup, constant-time compare
//
// Each reports storecalls/op, the key-store lookups per request.

// benchWriter is a ResponseWriter that reuses its header map, so the
// figures measure the handlers rather than a recorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }

func benchRequest(key string) *http.Request {
	r := httptest.NewRequest("GET", "https://api.example/v1/data", nil)
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Authorization", "Bearer "+key)
	return r
}

var noop = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// benchChain builds the full chain on a counting MemoryStore and returns
// it with a valid key.
func benchChain(b *testing.B) (http.Handler, string, *countingStore) {
	b.Helper()
	store := &countingStore{Store: apikey.NewMemoryStore()}
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := mgr.Create(context.Background(), apikey.CreateParams{
		Name: "bench", Owner: "app-1", Scopes: auth.MustScopes("data:read"),
	})
	if err != nil {
		b.Fatal(err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Manager: mgr, LastUsedInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		b.Fatal(err)
	}
	h := auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(auth.RequireScopes("data:read")(noop)))
	return h, key, store
}

func runBench(b *testing.B, h http.Handler, r *http.Request, wantCode int, store *countingStore) {
	w := &benchWriter{h: make(http.Header)}
	h.ServeHTTP(w, r) // warm the cache
	if w.code != wantCode {
		b.Fatalf("status = %d, want %d", w.code, wantCode)
	}
	var before int64
	if store != nil {
		before = store.gets.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	if w.code != wantCode {
		b.Fatalf("status = %d, want %d", w.code, wantCode)
	}
	if store != nil {
		b.ReportMetric(float64(store.gets.Load()-before)/float64(b.N), "storecalls/op")
	}
}

// BenchmarkVerifyAPIKey: a valid key through the whole chain, cache hit.
func BenchmarkVerifyAPIKey(b *testing.B) {
	h, key, store := benchChain(b)
	runBench(b, h, benchRequest(key), http.StatusOK, store)
}

// BenchmarkVerifyAPIKeyMalformed: a key with a bad checksum through the
// whole chain; refused before the store, with the generic 401.
func BenchmarkVerifyAPIKeyMalformed(b *testing.B) {
	h, key, store := benchChain(b)
	bad := key[:len(key)-1] + "0"
	if bad == key {
		bad = key[:len(key)-1] + "1"
	}
	runBench(b, h, benchRequest(bad), http.StatusUnauthorized, store)
}

// BenchmarkVerifyAPIKeyUnknown: a well-formed key whose ID no key has,
// through the whole chain; answered from the negative cache after the
// first request, with the generic 401.
func BenchmarkVerifyAPIKeyUnknown(b *testing.B) {
	h, _, store := benchChain(b)
	// A valid key of another store: well formed, unknown to this one.
	other, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		b.Fatal(err)
	}
	unknown, _, err := other.Create(context.Background(), apikey.CreateParams{Name: "other", Owner: "app-2"})
	if err != nil {
		b.Fatal(err)
	}
	runBench(b, h, benchRequest(unknown), http.StatusUnauthorized, store)
}

type refRecord struct {
	hash  [sha256.Size]byte
	owner string
}

// BenchmarkVerifyAPIKeyReference is the floor to compare against: the least
// a hashed-key check can do, with none of the format checks, caching,
// scopes, HTTPS check or principal.
func BenchmarkVerifyAPIKeyReference(b *testing.B) {
	_, key, _ := benchChain(b)
	keys := map[string]*refRecord{
		key[9:21]: {hash: sha256.Sum256([]byte(key)), owner: "app-1"},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header["Authorization"]
		if len(v) != 1 || !strings.HasPrefix(v[0], "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tok := v[0][len("Bearer "):]
		if len(tok) < 21 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(tok))
		rec := keys[tok[9:21]]
		if rec == nil || subtle.ConstantTimeCompare(sum[:], rec.hash[:]) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		noop.ServeHTTP(w, r)
	})
	runBench(b, h, benchRequest(key), http.StatusOK, nil)
}

// fixedVerifier claims API-key-shaped credentials and returns one principal
// without checking anything.
type fixedVerifier struct{ p *auth.Principal }

func (f fixedVerifier) Verify(context.Context, string) (*auth.Principal, error) { return f.p, nil }
func (f fixedVerifier) MatchShape(c string) bool                                { return strings.HasPrefix(c, "adx_") }

// BenchmarkChainWithoutVerifier is the chain of BenchmarkVerifyAPIKey with
// a verifier that does nothing: the part of its cost that is not the API
// key check (HTTPS check, header parsing, principal in the context, scope
// check).
func BenchmarkChainWithoutVerifier(b *testing.B) {
	_, key, _ := benchChain(b)
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{fixedVerifier{&auth.Principal{
		Subject: "app-1", Method: auth.MethodAPIKey, CredentialID: key[9:21], Scopes: auth.MustScopes("data:read"),
	}}}})
	if err != nil {
		b.Fatal(err)
	}
	h := auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(auth.RequireScopes("data:read")(noop)))
	runBench(b, h, benchRequest(key), http.StatusOK, nil)
}

// BenchmarkVerifierCacheHit is Verifier.Verify alone, on a cached key.
func BenchmarkVerifierCacheHit(b *testing.B) {
	mgr, _ := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	key, _, _ := mgr.Create(context.Background(), apikey.CreateParams{Name: "n", Owner: "o"})
	v, _ := apikey.NewVerifier(apikey.Config{Manager: mgr, LastUsedInterval: -1})
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Verify(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v.Verify(ctx, key)
	}
}
