package bench

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"hash/crc32"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// clock is a clock whose offset from the real time can be set, so a key
// can be created in the past.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// apiKeys are the keys every API key implementation is checked with.
type apiKeys struct {
	valid                                   string
	tampered, badChecksum, unknown, expired string
	revoked                                 string
	manager                                 *apikey.Manager
}

// newAPIKeys creates, in a MemoryStore, a valid key owned by testSubject,
// an expired one and a revoked one, and derives a tampered key (one secret
// character changed, checksum recomputed so it reaches the store), a key
// with a bad checksum, and a well-formed key with an unknown ID.
func newAPIKeys(tb testing.TB) *apiKeys {
	tb.Helper()
	ctx := context.Background()
	clk := &clock{}
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore(), Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	create := func(ttl time.Duration) string {
		key, _, err := mgr.Create(ctx, apikey.CreateParams{Name: "bench", Owner: testSubject, Scopes: auth.MustScopes(testScope), TTL: ttl})
		if err != nil {
			tb.Fatal(err)
		}
		return key
	}
	k := &apiKeys{manager: mgr, valid: create(0)}
	clk.offset.Store(int64(-2 * time.Hour))
	k.expired = create(time.Hour)
	clk.offset.Store(0)
	k.revoked = create(0)
	p, err := apikey.Parse(k.revoked)
	if err != nil {
		tb.Fatal(err)
	}
	if err := mgr.Revoke(ctx, p.ID, "bench"); err != nil {
		tb.Fatal(err)
	}
	// adx_live_<12 id>_<32 secret><6 checksum>
	body := k.valid[:len(k.valid)-apikey.ChecksumLength]
	i := len(body) - 1 // the last secret character
	k.tampered = withChecksum(body[:i] + string(otherBase62(body[i])))
	j := len("adx_live_") // the first ID character
	k.unknown = withChecksum(body[:j] + string(otherBase62(body[j])) + body[j+1:])
	k.badChecksum = body + strings.Repeat("0", apikey.ChecksumLength)
	if k.badChecksum == k.valid {
		k.badChecksum = body + strings.Repeat("1", apikey.ChecksumLength)
	}
	for _, key := range []string{k.tampered, k.unknown} {
		if _, err := apikey.Parse(key); err != nil {
			tb.Fatalf("derived key %q does not parse: %v", key, err)
		}
	}
	return k
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func otherBase62(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}

// withChecksum appends the key format's checksum (apikey package doc):
// CRC-32/IEEE of everything before it, base62, left-padded to 6 digits.
func withChecksum(body string) string {
	c := crc32.ChecksumIEEE([]byte(body))
	var d [apikey.ChecksumLength]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = base62[c%62]
		c /= 62
	}
	return body + string(d[:])
}

func (k *apiKeys) bad() map[string]string {
	return map[string]string{
		"tampered": k.tampered, "bad-checksum": k.badChecksum, "unknown": k.unknown,
		"expired": k.expired, "revoked": k.revoked,
	}
}

// audexumAPIKey is this toolkit: an apikey.Verifier (default cache and
// last-used settings) on the MemoryStore behind an auth.Authenticator.
// With chain set, the whole stack of the README: RequireHTTPS, the
// Authenticator, RequireScopes.
func audexumAPIKey(tb testing.TB, k *apiKeys, chain bool) middleware {
	tb.Helper()
	v, err := apikey.NewVerifier(apikey.Config{Manager: k.manager})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		tb.Fatal(err)
	}
	wrap := a.Handler
	if chain {
		wrap = func(next http.Handler) http.Handler {
			return auth.RequireHTTPS(auth.HTTPSConfig{})(a.Handler(auth.RequireScopes(testScope)(next)))
		}
	}
	return middleware{wrap: wrap, subjectOf: func(r *http.Request) string {
		p, _ := auth.FromContext(r.Context())
		return p.Subject
	}}
}

// referenceRecord is what the reference keeps per key.
type referenceRecord struct {
	hash      [sha256.Size]byte
	owner     string
	expiresAt time.Time
}

// referenceAPIKey is the least a hashed-key check does: take the Bearer
// credential, SHA-256 it, look its ID up in a map, compare the hashes in
// constant time, check the expiry, and put the owner in the context. No
// format or checksum check, no cache, no revocation, no hooks.
func referenceAPIKey(k *apiKeys) middleware {
	const idStart, idEnd = len("adx_live_"), len("adx_live_") + apikey.IDLength
	records := map[string]*referenceRecord{}
	for _, key := range []string{k.valid, k.expired} {
		exp := time.Now().Add(90 * 24 * time.Hour)
		if key == k.expired {
			exp = time.Now().Add(-time.Hour)
		}
		records[key[idStart:idEnd]] = &referenceRecord{hash: sha256.Sum256([]byte(key)), owner: testSubject, expiresAt: exp}
	}
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := bearer(r)
			if !ok || len(tok) < idEnd {
				unauthorized(w)
				return
			}
			sum := sha256.Sum256([]byte(tok))
			rec := records[tok[idStart:idEnd]]
			if rec == nil || subtle.ConstantTimeCompare(sum[:], rec.hash[:]) != 1 || !time.Now().Before(rec.expiresAt) {
				unauthorized(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, rec.owner)))
		})
	}
	return middleware{wrap: wrap, subjectOf: func(r *http.Request) string {
		return r.Context().Value(claimsKey{}).(string)
	}}
}

// The reference has no revocation; it is checked with the keys it can
// refuse.
func (k *apiKeys) badForReference() map[string]string {
	return map[string]string{"tampered": k.tampered, "bad-checksum": k.badChecksum, "unknown": k.unknown, "expired": k.expired}
}

type apiKeyImpl struct {
	name  string
	build func(tb testing.TB, k *apiKeys) (middleware, map[string]string)
}

var apiKeyImpls = []apiKeyImpl{
	{"reference", func(tb testing.TB, k *apiKeys) (middleware, map[string]string) {
		return referenceAPIKey(k), k.badForReference()
	}},
	{"audexum", func(tb testing.TB, k *apiKeys) (middleware, map[string]string) {
		return audexumAPIKey(tb, k, false), k.bad()
	}},
	{"audexum-chain", func(tb testing.TB, k *apiKeys) (middleware, map[string]string) {
		return audexumAPIKey(tb, k, true), k.bad()
	}},
}

func TestAPIKeyImplementations(t *testing.T) {
	for _, impl := range apiKeyImpls {
		t.Run(impl.name, func(t *testing.T) {
			k := newAPIKeys(t)
			mw, bad := impl.build(t, k)
			check(t, mw, k.valid, bad)
		})
	}
}

// BenchmarkAPIKey times one request with the same valid API key through
// the reference and this toolkit, after the checks.
func BenchmarkAPIKey(b *testing.B) {
	for _, impl := range apiKeyImpls {
		b.Run(impl.name, func(b *testing.B) {
			k := newAPIKeys(b)
			mw, bad := impl.build(b, k)
			h := check(b, mw, k.valid, bad)
			timeHandler(b, h, bearerRequest(k.valid), http.StatusNoContent)
		})
	}
}
