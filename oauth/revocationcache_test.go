package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth/oauth"
)

// countingGrants counts the revocation lookups that reach the store, can
// fail them, and can run a hook inside a lookup after the store answered.
type countingGrants struct {
	oauth.GrantStore
	lookups atomic.Int64
	fail    atomic.Bool
	during  func() // runs inside IsRevoked, to interleave a revocation
}

func (c *countingGrants) IsRevoked(ctx context.Context, jti string) (bool, error) {
	c.lookups.Add(1)
	if c.fail.Load() {
		return false, errors.New("database is down")
	}
	revoked, err := c.GrantStore.IsRevoked(ctx, jti)
	if c.during != nil {
		// The answer was read; a revocation commits before it is used.
		c.during()
	}
	return revoked, err
}

func newRevocationCache(t testing.TB, store oauth.GrantStore, cfg oauth.RevocationCacheConfig) *oauth.RevocationCache {
	t.Helper()
	cfg.Grants = store
	c, err := oauth.NewRevocationCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRevocationCacheConfig(t *testing.T) {
	for name, cfg := range map[string]oauth.RevocationCacheConfig{
		"no store":      {},
		"negative size": {Grants: oauth.NewMemoryGrantStore(), Size: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := oauth.NewRevocationCache(cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestRevocationCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	store := &countingGrants{GrantStore: oauth.NewMemoryGrantStore()}
	c := newRevocationCache(t, store, oauth.RevocationCacheConfig{MaxAge: time.Second, Now: func() time.Time { return now }})
	check := func(jti string, want bool) {
		t.Helper()
		got, err := c.IsRevoked(ctx, jti)
		if err != nil || got != want {
			t.Fatalf("IsRevoked(%s): got %v, %v; want %v", jti, got, err, want)
		}
	}

	for range 100 {
		check("a", false)
	}
	if n := store.lookups.Load(); n != 1 {
		t.Errorf("store lookups for 100 checks: got %d, want 1", n)
	}
	// Revoked here: refused on the very next check.
	if err := c.RevokeAccessToken(ctx, "a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("a", true)
	// Revoked stays revoked without asking again.
	n := store.lookups.Load()
	now = now.Add(time.Hour)
	check("a", true)
	if store.lookups.Load() != n {
		t.Error("a revoked answer was asked again")
	}

	// Revoked by another process: seen once the answer is MaxAge old.
	check("b", false)
	store.GrantStore.RevokeAccessToken(ctx, "b", now.Add(time.Hour))
	now = now.Add(500 * time.Millisecond)
	check("b", false) // within MaxAge: the cached answer
	now = now.Add(500 * time.Millisecond)
	check("b", true)

	// A revocation committing while a lookup is under way: that lookup's
	// stale "not revoked" answers its own request, and is not trusted
	// after it.
	store.during = func() {
		store.during = nil
		c.RevokeAccessToken(ctx, "c", now.Add(time.Hour))
	}
	check("c", false)
	check("c", true)

	// Every call that can revoke drops the "not revoked" answers, even
	// when it fails (it may have committed before failing).
	revokers := map[string]func() error{
		"ClaimCode": func() error { _, err := c.ClaimCode(ctx, oauth.Hash{1}, now); return err },
		"RotateRefreshToken": func() error {
			return c.RotateRefreshToken(ctx, oauth.Hash{2}, &oauth.RefreshToken{}, now, now)
		},
		"RevokeGrant":       func() error { return c.RevokeGrant(ctx, "grant-x", now) },
		"RevokeAccessToken": func() error { return c.RevokeAccessToken(ctx, "other", now.Add(time.Hour)) },
	}
	for name, revoke := range revokers {
		check("d", false)
		n := store.lookups.Load()
		revoke() // unknown code and token fail; what matters is the invalidation
		check("d", false)
		if store.lookups.Load() != n+1 {
			t.Errorf("%s did not drop the cached \"not revoked\" answer", name)
		}
	}

	// Store errors are returned and not remembered.
	store.fail.Store(true)
	if _, err := c.IsRevoked(ctx, "never-seen"); err == nil {
		t.Error("store down: got no error")
	}
	store.fail.Store(false)
	check("never-seen", false)
}

func TestRevocationCacheNegativeMaxAge(t *testing.T) {
	ctx := context.Background()
	store := &countingGrants{GrantStore: oauth.NewMemoryGrantStore()}
	c := newRevocationCache(t, store, oauth.RevocationCacheConfig{MaxAge: -1})
	for range 10 {
		c.IsRevoked(ctx, "a")
	}
	if n := store.lookups.Load(); n != 10 {
		t.Errorf("store lookups with MaxAge -1: got %d, want 10", n)
	}
	c.RevokeAccessToken(ctx, "a", time.Now().Add(time.Hour))
	for range 10 {
		if revoked, _ := c.IsRevoked(ctx, "a"); !revoked {
			t.Fatal("revoked token not revoked")
		}
	}
	if n := store.lookups.Load(); n != 11 {
		t.Errorf("store lookups after the revocation: got %d, want 11 (revoked answers are kept)", n)
	}
}

func TestRevocationCacheBounded(t *testing.T) {
	ctx := context.Background()
	store := oauth.NewMemoryGrantStore()
	const size = 1000
	c := newRevocationCache(t, store, oauth.RevocationCacheConfig{Size: size})
	exp := time.Now().Add(time.Hour)
	for i := range 5000 {
		jti := fmt.Sprintf("t%d", i)
		if i%3 == 0 {
			store.RevokeAccessToken(ctx, jti, exp)
		}
		revoked, err := c.IsRevoked(ctx, jti)
		if err != nil || revoked != (i%3 == 0) {
			t.Fatalf("IsRevoked(%s): got %v, %v", jti, revoked, err)
		}
		if n := oauth.RevocationCacheLen(c); n > size {
			t.Fatalf("cache holds %d entries, want at most %d", n, size)
		}
	}
	// Evicted answers, "revoked" ones included, are read again correctly.
	for i := range 5000 {
		revoked, err := c.IsRevoked(ctx, fmt.Sprintf("t%d", i))
		if err != nil || revoked != (i%3 == 0) {
			t.Fatalf("IsRevoked(t%d) again: got %v, %v", i, revoked, err)
		}
	}
}

// TestRevocationCacheRace checks and revokes at once (run with -race):
// once a revocation through the cache has returned, every later check of
// that token says revoked.
func TestRevocationCacheRace(t *testing.T) {
	ctx := context.Background()
	store := oauth.NewMemoryGrantStore()
	c := newRevocationCache(t, store, oauth.RevocationCacheConfig{MaxAge: time.Hour, Size: 50})
	const tokens = 200
	var revoked [tokens]atomic.Bool
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := (i*7 + w) % tokens
				// Read the flag first: if it was set, the revocation had
				// returned before this check began.
				was := revoked[k].Load()
				got, err := c.IsRevoked(ctx, fmt.Sprintf("t%d", k))
				if err != nil {
					t.Errorf("IsRevoked: %v", err)
					return
				}
				if was && !got {
					t.Errorf("t%d: revoked before the check, but the cache said not revoked", k)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for k := range tokens {
			if err := c.RevokeAccessToken(ctx, fmt.Sprintf("t%d", k), exp); err != nil {
				t.Errorf("RevokeAccessToken: %v", err)
				return
			}
			revoked[k].Store(true)
		}
	})
	wg.Wait()
}
