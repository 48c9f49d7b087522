package oauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/cache"
)

// Defaults of [ClientGateConfig].
const (
	// DefaultClientGateTTL is how long a ClientGate trusts what it read
	// about a client when ClientGateConfig.CacheTTL is zero.
	DefaultClientGateTTL = 30 * time.Second
	// DefaultClientGateSize is how many clients a ClientGate remembers
	// when ClientGateConfig.CacheSize is zero.
	DefaultClientGateSize = 10_000
)

// ClientGateConfig configures a [ClientGate].
type ClientGateConfig struct {
	// Verifier verifies the access tokens: typically the *jwt.Verifier
	// of the resource server. Required. The gate claims the credentials
	// it claims ([auth.ShapeMatcher]) and is ready when it is
	// ([auth.Readier]).
	Verifier auth.Verifier

	// Clients is the store of registered clients. Required.
	Clients ClientStore

	// CacheTTL is how long the gate trusts what it read about a client
	// (that it exists, or that it does not). A deletion the gate is not
	// told of ([ClientGate.Invalidate]) takes effect within CacheTTL. If
	// zero, [DefaultClientGateTTL] (30 s); if negative, the store is asked
	// on every request.
	CacheTTL time.Duration

	// CacheSize caps the clients the gate remembers. When it is full, a
	// new answer takes the place of an expired one or else of the least
	// used of 8 drawn at random, so a flood of unknown client IDs does not
	// push out the clients in use; a client forgotten costs one more store
	// read when its next token is seen. If zero, [DefaultClientGateSize].
	CacheSize int

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// ClientGate wraps an access-token verifier so that the tokens of a
// deleted client stop working, instead of living on until they expire.
// Access tokens are self-contained JWTs: deleting a client cannot revoke
// them one by one, so the gate looks the token's client up (through a
// bounded cache) after the token verified, and refuses it when the client
// no longer exists.
//
// Put the gate where the verifier would go: in [auth.Config.Verifiers],
// and as [Config.AccessTokenVerifier] so that introspection and
// revocation agree with the API. Create one with [NewClientGate]; it is
// safe for concurrent use.
//
// The gate is bounded: it remembers at most CacheSize clients; when full,
// a new answer takes the place of an expired one or else of the least
// used of 8 drawn at random.
//
// The gate learns of a change in the next CacheTTL, or at once when told
// with [ClientGate.Invalidate]. The [ClientManager] does not tell it: a server
// that changes clients in-process calls Invalidate itself, and a server on
// github.com/audexum/auth/sqlstore has Store.Follow do it for every
// change any process makes.
type ClientGate struct {
	next    auth.Verifier
	clients ClientStore
	ttl     time.Duration
	now     func() time.Time

	// gen is bumped by every invalidation, with mu held. A lookup reads
	// it before asking the store and keeps its answer only if it did not
	// change, so a lookup racing a deletion cannot put the client back.
	// Lookups take only the map's read lock.
	gen   atomic.Uint64
	mu    sync.Mutex
	known *cache.Map[string, bool] // client ID → exists
}

// NewClientGate returns a ClientGate for cfg. It fails with an error
// wrapping [ErrInvalidConfig] if Verifier or Clients is nil or CacheSize
// is negative. It does no I/O: clients are read when their tokens are
// first seen.
func NewClientGate(cfg ClientGateConfig) (*ClientGate, error) {
	switch {
	case cfg.Verifier == nil:
		return nil, fmt.Errorf("%w: ClientGate needs a Verifier", ErrInvalidConfig)
	case cfg.Clients == nil:
		return nil, fmt.Errorf("%w: ClientGate needs a ClientStore", ErrInvalidConfig)
	case cfg.CacheSize < 0:
		return nil, fmt.Errorf("%w: negative CacheSize", ErrInvalidConfig)
	}
	g := &ClientGate{
		next:    cfg.Verifier,
		clients: cfg.Clients,
		ttl:     cfg.CacheTTL,
		now:     cfg.Now,
		known:   cache.New[string, bool](cmp.Or(cfg.CacheSize, DefaultClientGateSize)),
	}
	if g.ttl == 0 {
		g.ttl = DefaultClientGateTTL
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// Verify verifies the token with the wrapped verifier, then checks that
// its client (the principal's ClientID) still exists. A token of a
// deleted or unknown client, or one without a client ID, fails with
// [ErrClientDeleted] (which matches [auth.ErrRevoked]); a store that
// cannot answer fails with [ErrUnavailable] (which matches
// [auth.ErrUnavailable]), never a verdict. Errors of the wrapped
// verifier are returned as they are.
func (g *ClientGate) Verify(ctx context.Context, credential string) (*auth.Principal, error) {
	p, err := g.next.Verify(ctx, credential)
	if err != nil {
		return nil, err
	}
	ok, err := g.exists(ctx, p.ClientID)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, ErrClientDeleted
	}
	return p, nil
}

// exists reports whether the client id exists, from the cache or the
// store.
func (g *ClientGate) exists(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	now := g.now()
	if exists, ok := g.known.Get(id, now); ok {
		return exists, nil
	}
	gen := g.gen.Load()
	_, err := g.clients.Client(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		g.put(id, false, gen, now)
		return false, nil
	case err != nil:
		// Fail closed, and not as "revoked": the client may be fine.
		return false, fmt.Errorf("%w: client store: %w", ErrUnavailable, err)
	}
	g.put(id, true, gen, now)
	return true, nil
}

// put remembers an answer read at generation gen, unless an invalidation
// happened since.
func (g *ClientGate) put(id string, exists bool, gen uint64, now time.Time) {
	if g.ttl <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gen.Load() != gen {
		return
	}
	// Cloned: the ID may be a piece of the token's payload, which the
	// cache must not keep alive.
	g.known.Put(strings.Clone(id), exists, now.Add(g.ttl), now)
}

// Invalidate drops what the gate remembers about the client clientID, so
// the next token of that client reads the store: call it when the client
// is created, changed or deleted. Store.Follow of
// github.com/audexum/auth/sqlstore calls it for every client change on
// the database's change log.
func (g *ClientGate) Invalidate(clientID string) {
	g.mu.Lock()
	g.gen.Add(1)
	g.known.Delete(clientID)
	g.mu.Unlock()
}

// InvalidateAll drops everything the gate remembers, for when changes may
// have been missed.
func (g *ClientGate) InvalidateAll() {
	g.mu.Lock()
	g.gen.Add(1)
	g.known.Clear()
	g.mu.Unlock()
}

// MatchShape implements [auth.ShapeMatcher]: the gate claims what the
// wrapped verifier claims, or every credential if it does not say.
func (g *ClientGate) MatchShape(credential string) bool {
	m, ok := g.next.(auth.ShapeMatcher)
	return !ok || m.MatchShape(credential)
}

// Ready implements [auth.Readier]: the gate is ready when the wrapped
// verifier is.
func (g *ClientGate) Ready() bool {
	r, ok := g.next.(auth.Readier)
	return !ok || r.Ready()
}
