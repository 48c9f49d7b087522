package main

import (
	"context"
	"testing"
	"time"

	"github.com/audexum/auth/oauth"
)

// countingGrants counts the revocation lookups that reach the store.
type countingGrants struct {
	oauth.GrantStore
	lookups int
	during  func() // runs inside IsRevoked, to interleave a revocation
}

func (c *countingGrants) IsRevoked(ctx context.Context, jti string) (bool, error) {
	c.lookups++
	revoked, err := c.GrantStore.IsRevoked(ctx, jti)
	if c.during != nil {
		// The answer was read; a revocation commits before it is used.
		c.during()
	}
	return revoked, err
}

func TestRevocationCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	store := &countingGrants{GrantStore: oauth.NewMemoryGrantStore()}
	c := newRevocationCache(store, time.Second, 1000)
	c.now = func() time.Time { return now }
	check := func(jti string, want bool) {
		t.Helper()
		got, err := c.IsRevoked(ctx, jti)
		if err != nil || got != want {
			t.Fatalf("IsRevoked(%s) = %v, %v; want %v", jti, got, err, want)
		}
	}

	for range 100 {
		check("a", false)
	}
	if store.lookups != 1 {
		t.Errorf("store lookups = %d, want 1 for 100 checks", store.lookups)
	}
	// Revoked here: refused on the very next check.
	if err := c.RevokeAccessToken(ctx, "a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("a", true)
	// Revoked stays revoked without asking again.
	n := store.lookups
	now = now.Add(time.Hour)
	check("a", true)
	if store.lookups != n {
		t.Error("a revoked answer was asked again")
	}

	// Revoked by another process: seen once the answer is maxAge old.
	check("b", false)
	store.GrantStore.RevokeAccessToken(ctx, "b", now.Add(time.Hour))
	now = now.Add(500 * time.Millisecond)
	check("b", false) // within maxAge: the cached answer
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

	// Bounded.
	for i := range 5000 {
		c.IsRevoked(ctx, string(rune(i+1000)))
	}
	if len(c.entries) > 1000 {
		t.Errorf("cache holds %d entries, want at most 1000", len(c.entries))
	}
}
