package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audexum/auth/oauth"
)

// revocationCache answers "is this access token revoked?" from memory, so
// the token route does not query the database on every request.
//
// Correctness rules, since a missed revocation would let a revoked token
// through:
//   - A "revoked" answer is kept (tokens are never un-revoked).
//   - A "not revoked" answer is trusted only while no revocation went
//     through this process since the lookup began (a generation counter,
//     read before the query and bumped after every store call that can
//     revoke), and for at most maxAge, which bounds how late a revocation
//     made by another process (another instance, on PostgreSQL) is seen.
//
// So a token revoked at this server's /oauth/revoke (or by a replayed code
// or refresh token) is refused on the very next request, as before.
type revocationCache struct {
	oauth.GrantStore
	maxAge time.Duration
	size   int
	now    func() time.Time

	gen     atomic.Uint64
	mu      sync.RWMutex
	entries map[string]revocationEntry
}

type revocationEntry struct {
	revoked bool
	gen     uint64
	at      time.Time
}

func newRevocationCache(store oauth.GrantStore, maxAge time.Duration, size int) *revocationCache {
	return &revocationCache{GrantStore: store, maxAge: maxAge, size: size, now: time.Now, entries: make(map[string]revocationEntry)}
}

// IsRevoked implements the jwt verifier's revocation hook.
func (c *revocationCache) IsRevoked(ctx context.Context, jti string) (bool, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[jti]
	c.mu.RUnlock()
	if ok && (e.revoked || e.gen == c.gen.Load() && now.Sub(e.at) < c.maxAge) {
		return e.revoked, nil
	}
	// Read the generation before asking the store: a revocation that
	// commits while we ask bumps it, and the answer is not trusted again.
	g := c.gen.Load()
	revoked, err := c.GrantStore.IsRevoked(ctx, jti)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.size {
		clear(c.entries)
	}
	c.entries[jti] = revocationEntry{revoked: revoked, gen: g, at: now}
	c.mu.Unlock()
	return revoked, nil
}

// changed invalidates every "not revoked" answer. It runs after each store
// call that can revoke access tokens, whether it succeeded or not (a
// failed call may still have committed).
func (c *revocationCache) changed() { c.gen.Add(1) }

func (c *revocationCache) ClaimCode(ctx context.Context, hash oauth.Hash, now time.Time) (*oauth.Code, error) {
	defer c.changed()
	return c.GrantStore.ClaimCode(ctx, hash, now)
}

func (c *revocationCache) RotateRefreshToken(ctx context.Context, old oauth.Hash, next *oauth.RefreshToken, now, graceFrom time.Time) error {
	defer c.changed()
	return c.GrantStore.RotateRefreshToken(ctx, old, next, now, graceFrom)
}

func (c *revocationCache) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	defer c.changed()
	return c.GrantStore.RevokeGrant(ctx, id, now)
}

func (c *revocationCache) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	defer c.changed()
	return c.GrantStore.RevokeAccessToken(ctx, jti, expiresAt)
}
