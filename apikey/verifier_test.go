package apikey_test

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/google/go-cmp/cmp"
)

const (
	bodyInvalidToken = `{"error":"invalid_token","message":"Authentication failed"}`
	bodyScope        = `{"error":"insufficient_scope","message":"Insufficient scope"}`
	bodyUnavailable  = `{"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}`
)

// checksummed replaces the last six characters of s with the checksum of
// the rest, the way an attacker who knows the format would.
func checksummed(s string) string {
	body := s[:len(s)-apikey.ChecksumLength]
	c := crc32.ChecksumIEEE([]byte(body))
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var d [apikey.ChecksumLength]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = digits[c%62]
		c /= 62
	}
	return body + string(d[:])
}

// flip returns s with the byte at i replaced by a different base62 digit.
func flip(s string, i int) string {
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestVerifyHostile sends each hostile credential through the whole
// middleware chain and checks the exact answer, the reason the hook got,
// and whether the key store was consulted.
func TestVerifyHostile(t *testing.T) {
	tests := []struct {
		name string
		// setup returns the credential to send.
		setup      func(t *testing.T, fx *fixture) string
		wantStatus int
		wantErrs   []error // all must match the hook's error; none on success
		wantGets   int64   // store lookups made by the request
	}{
		{
			name:       "valid key",
			setup:      func(t *testing.T, fx *fixture) string { k, _ := fx.create(apikey.CreateParams{}); return k },
			wantStatus: http.StatusOK, wantGets: 1,
		},
		{
			// The checksum catches it before the store is asked.
			name: "wrong checksum",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return flip(k, len(k)-1)
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrChecksum},
		},
		{
			name:       "truncated",
			setup:      func(t *testing.T, fx *fixture) string { k, _ := fx.create(apikey.CreateParams{}); return k[:len(k)-1] },
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrMalformed},
		},
		{
			// Refused by the Authenticator's length cap before any
			// verifier sees it.
			name: "8 KB key",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return k + strings.Repeat("A", 8192-len(k))
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrCredentialTooLong},
		},
		{
			// "ADX_" is not our prefix: no verifier claims it.
			name: "upper-cased key",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return strings.ToUpper(k)
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrUnknownShape},
		},
		{
			name: "other prefix with a valid checksum",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return checksummed("sk" + k[3:])
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrUnknownShape},
		},
		{
			// A real, stored test key: refused on its environment alone.
			name: "test key where only live is accepted",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{Env: apikey.EnvTest})
				return k
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrWrongEnvironment},
		},
		{
			name: "extra _ field",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				n := len(k) - apikey.ChecksumLength
				return k[:n] + "_" + k[n:]
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrMalformed},
		},
		{
			// Cyrillic "а" (U+0430) for "a": not a b64token, so the
			// Authenticator refuses the header before any verifier.
			name:       "cyrillic look-alike in the prefix",
			setup:      func(t *testing.T, fx *fixture) string { k, _ := fx.create(apikey.CreateParams{}); return "а" + k[1:] },
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrMalformedCredential},
		},
		{
			name: "cyrillic look-alike in the id",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return k[:9] + "о" + k[11:] // U+043E, two bytes for two
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrMalformedCredential},
		},
		{
			// A leaked database row is not a key.
			name: "stored hash sent as a key",
			setup: func(t *testing.T, fx *fixture) string {
				_, rec := fx.create(apikey.CreateParams{})
				return hex.EncodeToString(rec.Hash[:])
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrUnknownShape},
		},
		{
			// The same, dressed as a key for the right ID with a correct
			// checksum: it reaches the store and fails the hash compare.
			name: "stored hash dressed as a key",
			setup: func(t *testing.T, fx *fixture) string {
				_, rec := fx.create(apikey.CreateParams{})
				return checksummed("adx_live_" + rec.ID + "_" + hex.EncodeToString(rec.Hash[:])[:apikey.SecretLength] + "000000")
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrSecretMismatch}, wantGets: 1,
		},
		{
			name: "unknown id with valid checksum",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return checksummed(flip(k, 10)) // another ID
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrUnknownCredential, apikey.ErrNotFound}, wantGets: 1,
		},
		{
			// The attack signal: right ID, right checksum, wrong secret.
			name: "known id with wrong secret",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				return checksummed(flip(k, 30))
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrSecretMismatch}, wantGets: 1,
		},
		{
			name: "revoked",
			setup: func(t *testing.T, fx *fixture) string {
				k, rec := fx.create(apikey.CreateParams{})
				if err := fx.mgr.Revoke(t.Context(), rec.ID, "leaked"); err != nil {
					t.Fatal(err)
				}
				return k
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrRevoked}, wantGets: 1,
		},
		{
			// The secret is judged before the key's state: whoever
			// knows only an ID learns nothing, not even that the key
			// was revoked.
			name: "revoked, with a wrong secret",
			setup: func(t *testing.T, fx *fixture) string {
				k, rec := fx.create(apikey.CreateParams{})
				if err := fx.mgr.Revoke(t.Context(), rec.ID, "leaked"); err != nil {
					t.Fatal(err)
				}
				return checksummed(flip(k, 30))
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrInvalidCredential, apikey.ErrSecretMismatch}, wantGets: 1,
		},
		{
			name: "expired",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{TTL: time.Hour})
				fx.clock.Advance(time.Hour) // expiry is exclusive
				return k
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrExpired}, wantGets: 1,
		},
		{
			name: "old key after rotation grace",
			setup: func(t *testing.T, fx *fixture) string {
				k, rec := fx.create(apikey.CreateParams{})
				if _, _, err := fx.mgr.Rotate(t.Context(), rec.ID); err != nil {
					t.Fatal(err)
				}
				fx.clock.Advance(apikey.DefaultRotationGrace + time.Second)
				return k
			},
			wantStatus: http.StatusUnauthorized, wantErrs: []error{auth.ErrExpired}, wantGets: 1,
		},
		{
			name: "old key inside rotation grace",
			setup: func(t *testing.T, fx *fixture) string {
				k, rec := fx.create(apikey.CreateParams{})
				if _, _, err := fx.mgr.Rotate(t.Context(), rec.ID); err != nil {
					t.Fatal(err)
				}
				fx.clock.Advance(apikey.DefaultRotationGrace - time.Second)
				return k
			},
			wantStatus: http.StatusOK, wantGets: 1,
		},
		{
			name: "new key after rotation",
			setup: func(t *testing.T, fx *fixture) string {
				_, rec := fx.create(apikey.CreateParams{})
				k, _, err := fx.mgr.Rotate(t.Context(), rec.ID)
				if err != nil {
					t.Fatal(err)
				}
				return k
			},
			wantStatus: http.StatusOK, wantGets: 1,
		},
		{
			// Authenticated, but RequireScopes("data:read") refuses.
			name: "key with missing scope",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{Scopes: auth.MustScopes("data:write")})
				return k
			},
			wantStatus: http.StatusForbidden, wantErrs: []error{auth.ErrInsufficientScope}, wantGets: 1,
		},
		{
			// Refused by RequireHTTPS before the key is looked at: it
			// has been exposed, but the store is not asked about it.
			name: "valid key over plain HTTP",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				fx.plainHTTP = true
				return k
			},
			wantStatus: http.StatusForbidden, wantErrs: []error{auth.ErrHTTPSRequired},
		},
		{
			// Fail closed, and not as "invalid": 503, never 401 or 200.
			name: "store unavailable",
			setup: func(t *testing.T, fx *fixture) string {
				k, _ := fx.create(apikey.CreateParams{})
				fx.store.fail.Store(true)
				return k
			},
			wantStatus: http.StatusServiceUnavailable, wantErrs: []error{auth.ErrUnavailable, errDatabaseDown}, wantGets: 1,
		},
		{
			// The key was hashed with a pepper this verifier lacks: it
			// cannot be judged, so 503, never a verdict.
			name: "unknown pepper version",
			setup: func(t *testing.T, fx *fixture) string {
				h, err := apikey.NewHasher(apikey.HasherConfig{Peppers: map[int][]byte{1: make([]byte, 32)}, Current: 1})
				if err != nil {
					t.Fatal(err)
				}
				peppered, err := apikey.NewManager(apikey.ManagerConfig{Store: fx.store, Hasher: h, Now: fx.clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				k, _, err := peppered.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o", Scopes: auth.MustScopes("data:read")})
				if err != nil {
					t.Fatal(err)
				}
				return k
			},
			wantStatus: http.StatusServiceUnavailable, wantErrs: []error{auth.ErrUnavailable, apikey.ErrUnknownPepper}, wantGets: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			cred := tt.setup(t, fx)
			fx.verifier()
			fx.store.gets.Store(0)
			w := fx.serve(cred)
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := fx.store.gets.Load(); got != tt.wantGets {
				t.Errorf("store lookups = %d, want %d", got, tt.wantGets)
			}
			err := fx.lastFailure()
			if len(tt.wantErrs) == 0 && err != nil {
				t.Errorf("hook got %v, want no failure", err)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("hook got %v, want it to match %v", err, want)
				}
			}
			// Whatever the reason, the client sees only the generic text.
			wantBody := map[int]string{401: bodyInvalidToken, 403: bodyScope, 503: bodyUnavailable}[tt.wantStatus]
			if fx.plainHTTP {
				wantBody = `{"error":"https_required","message":"HTTPS is required"}`
			}
			if got := w.Body.String(); wantBody != "" && got != wantBody {
				t.Errorf("body = %s, want %s", got, wantBody)
			}
		})
	}
}

// TestVerifyOneCharacterChanged changes each character of a valid key in
// turn, to another base62 digit, to "_" and to "-": every variant is
// refused without a store lookup.
func TestVerifyOneCharacterChanged(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	fx.verifier()
	fx.store.gets.Store(0)
	for i := range len(key) {
		for _, variant := range []string{flip(key, i), key[:i] + "_" + key[i+1:], key[:i] + "-" + key[i+1:]} {
			if variant == key {
				continue
			}
			if w := fx.serve(variant); w.Code != http.StatusUnauthorized {
				t.Errorf("key changed at %d to %q: status = %d, want 401", i, variant[i], w.Code)
			}
		}
	}
	if got := fx.store.gets.Load(); got != 0 {
		t.Errorf("store lookups = %d, want 0", got)
	}
}

// TestVerifyPrincipal checks what a verified key stands for.
func TestVerifyPrincipal(t *testing.T) {
	fx := newFixture(t)
	key, rec := fx.create(apikey.CreateParams{Owner: "billing-service", Scopes: auth.MustScopes("a", "b")})
	p, err := fx.verifier().Verify(t.Context(), key)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := &auth.Principal{
		Subject:      "billing-service",
		Scopes:       auth.MustScopes("a", "b"),
		Method:       auth.MethodAPIKey,
		CredentialID: rec.ID,
		ExpiresAt:    rec.ExpiresAt,
	}
	if diff := cmp.Diff(want, p, cmp.Comparer(auth.Scopes.Equal)); diff != "" {
		t.Errorf("principal mismatch (-want +got):\n%s", diff)
	}
	if p.IsUser() {
		t.Error("API key principal IsUser() = true, want false")
	}
}

func TestVerifyEnvironments(t *testing.T) {
	tests := []struct {
		name     string
		envs     []apikey.Env
		wantLive bool
		wantTest bool
	}{
		{"default is live only", nil, true, false},
		{"test only", []apikey.Env{apikey.EnvTest}, false, true},
		{"both", []apikey.Env{apikey.EnvLive, apikey.EnvTest}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			live, _ := fx.create(apikey.CreateParams{Env: apikey.EnvLive})
			test, _ := fx.create(apikey.CreateParams{Env: apikey.EnvTest})
			fx.vcfg.Environments = tt.envs
			v := fx.verifier()
			if _, err := v.Verify(t.Context(), live); (err == nil) != tt.wantLive {
				t.Errorf("live key: error = %v, want accepted = %v", err, tt.wantLive)
			}
			_, err := v.Verify(t.Context(), test)
			if (err == nil) != tt.wantTest {
				t.Errorf("test key: error = %v, want accepted = %v", err, tt.wantTest)
			}
			if err != nil && !errors.Is(err, apikey.ErrWrongEnvironment) {
				t.Errorf("test key: error = %v, want ErrWrongEnvironment", err)
			}
		})
	}
}

func TestMatchShape(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	tests := []struct {
		in   string
		want bool
	}{
		{key, true},
		// Claimed, so the verifier can say why it is wrong.
		{key[:20], true},
		{"adx_", true},
		{"adx", false},
		{"", false},
		{"adxx_live", false},
		{strings.ToUpper(key), false},
		{"eyJhbGciOiJFUzI1NiJ9.e30.sig", false},
	}
	for _, tt := range tests {
		if got := v.MatchShape(tt.in); got != tt.want {
			t.Errorf("MatchShape(%.16q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestVerifyOtherPrefix: a well-formed key of another prefix of the same
// length, with a valid checksum, is not this verifier's, even when called
// directly rather than through the Authenticator's MatchShape.
func TestVerifyOtherPrefix(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	other := checksummed("xyz" + key[3:])
	if _, err := v.Verify(t.Context(), other); !errors.Is(err, apikey.ErrWrongPrefix) {
		t.Errorf("Verify: got %v, want ErrWrongPrefix", err)
	}
	if id, ok := v.CredentialID(other); ok {
		t.Errorf("CredentialID: got %q, want none", id)
	}
}

// wrongRecordStore answers every lookup with the record of one other key.
type wrongRecordStore struct {
	apikey.Store
	other apikey.Record
}

func (s *wrongRecordStore) Key(context.Context, string) (apikey.Record, error) { return s.other, nil }

// TestVerifyWrongRecord: a store that answers with another key's record
// is broken, and the verifier says unavailable rather than judge the key
// against a record that is not its own.
func TestVerifyWrongRecord(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	_, other := fx.create(apikey.CreateParams{})
	v, err := apikey.NewVerifier(apikey.Config{Store: &wrongRecordStore{Store: fx.store, other: other}, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(t.Context(), key); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

// TestVerifyAfterClose: a closed Verifier no longer hears of the
// Manager's changes, so it stops using its cache: a key revoked after
// Close is refused on the next request, not served from memory.
func TestVerifyAfterClose(t *testing.T) {
	fx := newFixture(t)
	key, rec := fx.create(apikey.CreateParams{})
	v, err := apikey.NewVerifier(fx.vcfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	// Verified from the store, and not cached again.
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := fx.mgr.Revoke(t.Context(), rec.ID, "leaked"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), key); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("after Close and a revocation: got %v, want ErrRevoked", err)
	}
}

func TestVerifyCache(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	unknown := checksummed(flip(key, 10))
	v := fx.verifier()
	fx.store.gets.Store(0)
	steps := []struct {
		name     string
		advance  time.Duration
		key      string
		wantErr  error
		wantGets int64 // cumulative
	}{
		{"first use reads the store", 0, key, nil, 1},
		{"second use is cached", 0, key, nil, 1},
		{"still cached at 29s", 29 * time.Second, key, nil, 1},
		{"read again after the TTL", 2 * time.Second, key, nil, 2},
		{"unknown id reads the store", 0, unknown, auth.ErrUnknownCredential, 3},
		{"unknown id is cached", 4 * time.Second, unknown, auth.ErrUnknownCredential, 3},
		{"unknown id read again after 5s", time.Second, unknown, auth.ErrUnknownCredential, 4},
	}
	for _, st := range steps {
		fx.clock.Advance(st.advance)
		_, err := v.Verify(t.Context(), st.key)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Errorf("%s: error = %v, want %v", st.name, err, st.wantErr)
		}
		if got := fx.store.gets.Load(); got != st.wantGets {
			t.Errorf("%s: store lookups = %d, want %d", st.name, got, st.wantGets)
		}
	}
}

func TestVerifyCacheDisabled(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	fx.vcfg.CacheTTL, fx.vcfg.NegativeCacheTTL = -1, -1
	v := fx.verifier()
	fx.store.gets.Store(0)
	for range 3 {
		if _, err := v.Verify(t.Context(), key); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		v.Verify(t.Context(), checksummed(flip(key, 10)))
	}
	if got := fx.store.gets.Load(); got != 6 {
		t.Errorf("store lookups = %d, want 6", got)
	}
}

// TestManagerChangesTakeEffectAtOnce: with a long cache TTL, revocation and
// rotation through the Manager still apply to the very next request.
func TestManagerChangesTakeEffectAtOnce(t *testing.T) {
	fx := newFixture(t)
	fx.vcfg.CacheTTL = 24 * time.Hour * 365
	revoked, revokedRec := fx.create(apikey.CreateParams{})
	rotated, rotatedRec := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	for _, k := range []string{revoked, rotated} {
		if _, err := v.Verify(t.Context(), k); err != nil {
			t.Fatalf("Verify before changes: %v", err)
		}
	}
	if err := fx.mgr.Revoke(t.Context(), revokedRec.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), revoked); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("revoked key: error = %v, want ErrRevoked", err)
	}
	if _, _, err := fx.mgr.Rotate(t.Context(), rotatedRec.ID); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(apikey.DefaultRotationGrace)
	if _, err := v.Verify(t.Context(), rotated); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("rotated-out key after grace: error = %v, want ErrExpired", err)
	}
}

// TestOtherProcessStaleness documents the cross-process bound: a verifier
// that does not share the Manager sees a revocation after its cache TTL, or
// at once when told through Invalidate.
func TestOtherProcessStaleness(t *testing.T) {
	fx := newFixture(t)
	key, rec := fx.create(apikey.CreateParams{})
	other, err := apikey.NewVerifier(apikey.Config{Store: fx.store, Now: fx.clock.Now, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Verify(t.Context(), key); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := fx.mgr.Revoke(t.Context(), rec.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(t.Context(), key); err != nil {
		t.Errorf("within the TTL the other process still accepts: error = %v, want nil", err)
	}
	other.Invalidate(rec.ID)
	if _, err := other.Verify(t.Context(), key); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("after Invalidate: error = %v, want ErrRevoked", err)
	}

	key2, rec2 := fx.create(apikey.CreateParams{})
	other.Verify(t.Context(), key2)
	fx.mgr.Revoke(t.Context(), rec2.ID, "test")
	fx.clock.Advance(apikey.DefaultCacheTTL)
	if _, err := other.Verify(t.Context(), key2); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("after the TTL: error = %v, want ErrRevoked", err)
	}
	other.Verify(t.Context(), key)
	other.InvalidateAll()
	fx.store.gets.Store(0)
	other.Verify(t.Context(), key)
	if got := fx.store.gets.Load(); got != 1 {
		t.Errorf("store lookups after InvalidateAll = %d, want 1", got)
	}
}

// TestRevokeWhileVerifying: 8 goroutines verify one key while it is
// revoked; every Verify that starts after Revoke returns must fail.
func TestRevokeWhileVerifying(t *testing.T) {
	fx := newFixture(t)
	key, rec := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	const workers = 8
	var (
		revoked    atomic.Bool
		violations atomic.Int64
		started    sync.WaitGroup
		wg         sync.WaitGroup
	)
	started.Add(workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			afterRevoke := 0
			// Keep going until this goroutine has made 200 calls that
			// began after the revocation.
			for afterRevoke < 200 {
				was := revoked.Load()
				_, err := v.Verify(context.Background(), key)
				if first {
					started.Done() // ready, whatever the answer
					first = false
				}
				if was {
					afterRevoke++
					if err == nil {
						violations.Add(1)
					} else if !errors.Is(err, auth.ErrRevoked) {
						violations.Add(1)
					}
				}
			}
		}()
	}
	started.Wait()
	if err := fx.mgr.Revoke(t.Context(), rec.ID, "compromised"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	revoked.Store(true)
	wg.Wait()
	if n := violations.Load(); n != 0 {
		t.Errorf("%d verifications begun after Revoke returned did not fail with ErrRevoked", n)
	}
}

// TestVerifyAllocations: a refused malformed key, a cached unknown ID and a
// cached valid key all cost no allocation.
func TestVerifyAllocations(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	ctx := t.Context()
	unknown := checksummed(flip(key, 10))
	v.Verify(ctx, key)
	v.Verify(ctx, unknown)
	tests := []struct {
		name string
		cred string
	}{
		{"bad checksum", flip(key, len(key)-1)},
		{"truncated", key[:30]},
		{"8 KB", key + strings.Repeat("0", 8192)},
		{"unknown id, cached", unknown},
		{"valid key, cached", key},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, func() { v.Verify(ctx, tt.cred) }); n != 0 {
			t.Errorf("%s: Verify allocated %v times per run, want 0", tt.name, n)
		}
	}
}

// TestVerifyAfterRemembered: once a key has been accepted and remembered,
// a forged secret for the same ID is still refused as a secret mismatch,
// and the real key still accepted.
func TestVerifyAfterRemembered(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	forged := checksummed(flip(key, 30))
	v := fx.verifier()
	steps := []struct {
		key  string
		want error
	}{
		{key, nil},
		{forged, apikey.ErrSecretMismatch},
		{key, nil},
		{forged, apikey.ErrSecretMismatch},
	}
	for i, st := range steps {
		_, err := v.Verify(t.Context(), st.key)
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Errorf("step %d: error = %v, want %v", i, err, st.want)
		}
	}
}

// TestVerifyServer runs the chain behind a real TLS server and client,
// which fill the request the way production does.
func TestVerifyServer(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	fx.serve(key) // builds the handler
	srv := httptest.NewTLSServer(fx.handler)
	defer srv.Close()
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"valid key", "Bearer " + key, http.StatusOK},
		{"no credential", "", http.StatusUnauthorized},
		{"bad checksum", "Bearer " + flip(key, len(key)-1), http.StatusUnauthorized},
		{"lower-case scheme", "bearer " + key, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/v1/data", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got == "" {
				t.Error("no Strict-Transport-Security header over HTTPS")
			}
		})
	}
}

// FuzzVerify: whatever the credential, Verify does not panic, accepts only
// the real key, and refuses with an error the Authenticator can classify.
func FuzzVerify(f *testing.F) {
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := mgr.Create(context.Background(), apikey.CreateParams{Name: "n", Owner: "o"})
	if err != nil {
		f.Fatal(err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Manager: mgr, LastUsedInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { v.Close() })
	for _, s := range []string{key, flip(key, 30), checksummed(flip(key, 30)), checksummed(flip(key, 10)), key[:40], ""} {
		f.Add(s)
	}
	roots := []error{auth.ErrInvalidCredential, auth.ErrUnknownCredential, auth.ErrExpired, auth.ErrRevoked, auth.ErrUnavailable}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := v.Verify(context.Background(), s)
		if err == nil {
			if s != key || p == nil {
				t.Fatalf("Verify accepted %q", s)
			}
			return
		}
		if p != nil {
			t.Fatal("Verify returned a principal with an error")
		}
		for _, r := range roots {
			if errors.Is(err, r) {
				return
			}
		}
		t.Fatalf("Verify error %v wraps no root sentinel", err)
	})
}
