package oauth

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/audexum/auth/internal/cache"
)

// Defaults of [RevocationCacheConfig].
const (
	// DefaultRevocationMaxAge is how long a "not revoked" answer is
	// trusted when RevocationCacheConfig.MaxAge is zero.
	DefaultRevocationMaxAge = time.Second
	// DefaultRevocationCacheSize is how many token IDs a RevocationCache
	// remembers when RevocationCacheConfig.Size is zero.
	DefaultRevocationCacheSize = 100_000
)

// RevocationCacheConfig configures a [RevocationCache].
type RevocationCacheConfig struct {
	// Grants is the store the cache answers for. Required.
	Grants GrantStore

	// MaxAge is how long a "not revoked" answer is trusted. It bounds how
	// late this process sees a revocation made by another process sharing
	// the store (another instance); revocations made through the cache
	// are seen at once whatever MaxAge is. If zero,
	// [DefaultRevocationMaxAge] (1 s); if negative, "not revoked" is never
	// cached and only "revoked" answers are.
	MaxAge time.Duration

	// Size caps the token IDs remembered. When it is full, a new answer
	// takes the place of an expired "not revoked" one or else of the
	// least used of 8 drawn at random, so a flood of new tokens does not
	// push out the answers for tokens in use; a forgotten answer costs one
	// more store read when its token is next seen. If zero,
	// [DefaultRevocationCacheSize].
	Size int

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// RevocationCache is a [GrantStore] that answers IsRevoked from memory, so
// that checking every access token for revocation (the jwt.Config.Revoked
// hook) does not cost a store query per request. Give it to the
// [Server] as Config.Grants and pass its IsRevoked method to the token
// verifier, so that the revocations the server makes invalidate the
// answers the verifier uses. Create one with [NewRevocationCache]; it is
// safe for concurrent use.
//
// A missed revocation would let a revoked token through, so:
//
//   - A "revoked" answer is kept: a token is never un-revoked.
//   - A "not revoked" answer is trusted only while no revocation went
//     through this cache since the lookup began (ClaimCode,
//     RotateRefreshToken, RevokeGrant and RevokeAccessToken each
//     invalidate every such answer, whether they succeed or fail, as a
//     failed call may still have committed), and for at most MaxAge.
//
// So a token revoked at this server's revocation endpoint, or by a
// replayed code or refresh token, is refused on the very next request,
// and one revoked by another instance within MaxAge. Every other method
// goes straight to the store.
//
// It is bounded: at most Size token IDs. When it is full, a new answer
// takes the place of an expired "not revoked" one or else of the least
// used of 8 drawn at random; a "revoked" answer has no expiry and leaves
// only that way, to be read again from the store if asked.
type RevocationCache struct {
	store  GrantStore
	maxAge time.Duration
	now    func() time.Time

	gen     atomic.Uint64
	answers *cache.Map[string, revocationEntry] // by jti
}

var _ GrantStore = (*RevocationCache)(nil)

type revocationEntry struct {
	revoked bool
	gen     uint64 // the generation read before the lookup
}

// NewRevocationCache returns a RevocationCache for cfg. It fails with an
// error wrapping [ErrInvalidConfig] if Grants is nil or Size is negative.
func NewRevocationCache(cfg RevocationCacheConfig) (*RevocationCache, error) {
	switch {
	case cfg.Grants == nil:
		return nil, fmt.Errorf("%w: RevocationCache needs a GrantStore", ErrInvalidConfig)
	case cfg.Size < 0:
		return nil, fmt.Errorf("%w: negative Size", ErrInvalidConfig)
	}
	c := &RevocationCache{
		store:   cfg.Grants,
		maxAge:  cfg.MaxAge,
		now:     cfg.Now,
		answers: cache.New[string, revocationEntry](cmp.Or(cfg.Size, DefaultRevocationCacheSize)),
	}
	if c.maxAge == 0 {
		c.maxAge = DefaultRevocationMaxAge
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// IsRevoked implements [GrantStore] from memory when it can (see
// [RevocationCache]). Its method value is the jwt.Config.Revoked hook.
// Store errors are returned as they are and not remembered.
func (c *RevocationCache) IsRevoked(ctx context.Context, jti string) (bool, error) {
	now := c.now()
	// A "not revoked" answer has expired once MaxAge old (see below).
	if e, ok := c.answers.Get(jti, now); ok && (e.revoked || e.gen == c.gen.Load()) {
		return e.revoked, nil
	}
	// Read the generation before asking the store: a revocation that
	// commits while we ask bumps it, and the answer is not trusted again.
	g := c.gen.Load()
	revoked, err := c.store.IsRevoked(ctx, jti)
	if err != nil {
		return false, err
	}
	// Cloned: the ID may be a piece of the token's payload.
	switch {
	case revoked:
		// Kept with no expiry, for a token is never un-revoked: it leaves
		// the cache only to make room.
		c.answers.Put(strings.Clone(jti), revocationEntry{revoked: true, gen: g}, time.Time{}, now)
	case c.maxAge > 0:
		// Trusted for less than MaxAge from when the lookup began.
		c.answers.Put(strings.Clone(jti), revocationEntry{gen: g}, now.Add(c.maxAge), now)
	}
	return revoked, nil
}

// changed invalidates every "not revoked" answer.
func (c *RevocationCache) changed() { c.gen.Add(1) }

// CreateCode implements [GrantStore].
func (c *RevocationCache) CreateCode(ctx context.Context, code *Code) error {
	return c.store.CreateCode(ctx, code)
}

// ClaimCode implements [GrantStore]. A reused code revokes what it issued,
// so every "not revoked" answer is dropped after the call.
func (c *RevocationCache) ClaimCode(ctx context.Context, hash Hash, now time.Time) (*Code, error) {
	defer c.changed()
	return c.store.ClaimCode(ctx, hash, now)
}

// CreateGrant implements [GrantStore].
func (c *RevocationCache) CreateGrant(ctx context.Context, g *Grant, head *RefreshToken) error {
	return c.store.CreateGrant(ctx, g, head)
}

// RefreshToken implements [GrantStore].
func (c *RevocationCache) RefreshToken(ctx context.Context, hash Hash) (*Grant, *RefreshToken, error) {
	return c.store.RefreshToken(ctx, hash)
}

// RotateRefreshToken implements [GrantStore]. A replayed token revokes
// its grant, so every "not revoked" answer is dropped after the call.
func (c *RevocationCache) RotateRefreshToken(ctx context.Context, old Hash, next *RefreshToken, now, graceFrom time.Time) error {
	defer c.changed()
	return c.store.RotateRefreshToken(ctx, old, next, now, graceFrom)
}

// RevokeGrant implements [GrantStore], and drops every "not revoked"
// answer after the call.
func (c *RevocationCache) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	defer c.changed()
	return c.store.RevokeGrant(ctx, id, now)
}

// RevokeAccessToken implements [GrantStore], and drops every "not
// revoked" answer after the call.
func (c *RevocationCache) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	defer c.changed()
	return c.store.RevokeAccessToken(ctx, jti, expiresAt)
}
