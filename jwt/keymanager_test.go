package jwt_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth/jwt"
)

type publishedKey struct {
	Kty, Crv, X, Y, N, E, D, Use, Alg, Kid string
}

func published(t *testing.T, ks *jwt.KeyManager) []publishedKey {
	t.Helper()
	doc, err := ks.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []publishedKey }
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}

func kids(keys []publishedKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestKeySetPublished: the set publishes public keys only, each with
// use, alg and a kid that is its RFC 7638 thumbprint.
func TestKeySetPublished(t *testing.T) {
	for _, alg := range []string{jwt.ES256, jwt.EdDSA, jwt.RS256} {
		t.Run(alg, func(t *testing.T) {
			ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			keys := published(t, ks)
			if len(keys) != 2 {
				t.Fatalf("got %d keys, want 2 (active and next)", len(keys))
			}
			for _, k := range keys {
				if k.D != "" || k.Use != "sig" || k.Alg != alg {
					t.Errorf("got d=%q use=%q alg=%q, want no d, sig, %s", k.D, k.Use, k.Alg, alg)
				}
				// RFC 7638 §3.2: the required members, sorted, no spaces.
				var members string
				switch k.Kty {
				case "EC":
					members = `{"crv":"` + k.Crv + `","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`
				case "OKP":
					members = `{"crv":"` + k.Crv + `","kty":"OKP","x":"` + k.X + `"}`
				case "RSA":
					members = `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
				}
				sum := sha256.Sum256([]byte(members))
				if want := b64.EncodeToString(sum[:]); k.Kid != want {
					t.Errorf("got kid %q, want thumbprint %q", k.Kid, want)
				}
			}
		})
	}
}

// TestKeySetRotate: the next key becomes active, the retired key stays
// published until its tokens have expired, and tokens of every published
// key verify.
func TestKeySetRotate(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, MaxTokenLifetime: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	first := kids(published(t, ks))
	active, next := ks.ActiveKeyID(), ""
	for _, kid := range first {
		if kid != active {
			next = kid
		}
	}
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := ks.ActiveKeyID(); got != next {
		t.Errorf("active after rotation: got %q, want the published next key %q", got, next)
	}
	second := kids(published(t, ks))
	if len(second) != 3 || second[0] != active {
		t.Errorf("after rotation: got %v, want the retired %q, active and a new next", second, active)
	}
	// Within the token lifetime the retired key stays.
	now = t0.Add(time.Hour)
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := kids(published(t, ks)); len(got) != 4 {
		t.Errorf("got %v, want 4 keys: nothing has expired yet", got)
	}
	// Past lifetime and leeway, the first retired key goes.
	now = t0.Add(time.Hour + jwt.MaxLeeway + time.Second)
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := kids(published(t, ks))
	for _, kid := range got {
		if kid == active {
			t.Errorf("got %v, want the first key dropped", got)
		}
	}
	if len(got) != 4 {
		t.Errorf("got %d keys, want 4", len(got))
	}
}

// TestKeySetStore: keys survive a restart through the store, and tokens
// signed before it still verify.
func TestKeySetStore(t *testing.T) {
	store := jwt.NewMemoryKeyStore()
	ks1, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks1, Now: fixedNow})
	tok, err := signer.Sign(t.Context(), jwt.Claims{Subject: "u", ClientID: "c", Audience: []string{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	ks2, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kids(published(t, ks1)), kids(published(t, ks2))); diff != "" {
		t.Errorf("reloaded keys (-before +after):\n%s", diff)
	}
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, KeyManager: ks2})
	if _, err := v.Verify(t.Context(), tok.Value); err != nil {
		t.Errorf("token from before the restart: got %v, want success", err)
	}
	stored, _ := store.LoadKeys(t.Context())
	stored[0].ID = "tampered"
	if err := store.SaveKeys(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store}); !errors.Is(err, jwt.ErrKeyStore) {
		t.Errorf("key not matching its ID: got %v, want ErrKeyStore", err)
	}
	if _, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: failingStore{}}); !errors.Is(err, jwt.ErrKeyStore) {
		t.Errorf("failing store: got %v, want ErrKeyStore", err)
	}
	if _, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: "HS256"}); !errors.Is(err, jwt.ErrInvalidConfig) {
		t.Errorf("HS256: got %v, want ErrInvalidConfig", err)
	}
}

type failingStore struct{}

func (failingStore) LoadKeys(context.Context) ([]jwt.StoredKey, error) {
	return nil, errors.New("down")
}
func (failingStore) SaveKeys(context.Context, []jwt.StoredKey) error { return errors.New("down") }

func TestJWKSHandler(t *testing.T) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{JWKSMaxAge: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ks.JWKSHandler())
	defer srv.Close()
	doc, _ := ks.PublicJWKS()
	tests := []struct {
		method       string
		status       int
		cacheControl string
		body         string
	}{
		{"GET", 200, "public, max-age=60", string(doc)},
		{"HEAD", 200, "public, max-age=60", ""},
		{"POST", 405, "", "Method Not Allowed\n"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, srv.URL, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		body, _ = readAll(resp)
		if resp.StatusCode != tc.status || resp.Header.Get("Cache-Control") != tc.cacheControl || string(body) != tc.body {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tc.method, resp.StatusCode, resp.Header.Get("Cache-Control"), body, tc.status, tc.cacheControl, tc.body)
		}
	}
}

// TestSignConcurrentRotate: signing while rotating, every token verifies,
// at first sight and from the cache: a token signed by a key as it is
// being retired is within the leeway of the retirement.
func TestSignConcurrentRotate(t *testing.T) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, KeyManager: ks, CacheSize: 1000})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 4 {
		wg.Go(func() {
			for range 20 {
				tok, err := signer.Sign(context.Background(), jwt.Claims{Subject: "u", ClientID: "c", Audience: []string{testAudience}})
				if err == nil {
					_, err = v.Verify(context.Background(), tok.Value)
				}
				if err == nil {
					_, err = v.Verify(context.Background(), tok.Value)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for range 5 {
		if err := ks.Rotate(t.Context()); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got %v, want success", err)
	}
}

// peerWinsFirstSave is a shared store where another instance saves its
// first keys just before this one.
type peerWinsFirstSave struct {
	*jwt.MemoryKeyStore
	peer *jwt.KeyManager
}

func (s *peerWinsFirstSave) SaveKeys(ctx context.Context, keys []jwt.StoredKey) error {
	if s.peer == nil {
		peer, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: s.MemoryKeyStore})
		if err != nil {
			return err
		}
		s.peer = peer
		return errors.New("conflict: the set changed")
	}
	return s.MemoryKeyStore.SaveKeys(ctx, keys)
}

// TestKeySetFirstSaveRace: two instances starting on an empty shared store
// end up with the same keys.
func TestKeySetFirstSaveRace(t *testing.T) {
	store := &peerWinsFirstSave{MemoryKeyStore: jwt.NewMemoryKeyStore()}
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store})
	if err != nil {
		t.Fatalf("got %v, want the peer's keys", err)
	}
	if got, want := ks.ActiveKeyID(), store.peer.ActiveKeyID(); got != want {
		t.Errorf("got active key %q, want the peer's %q", got, want)
	}
}
