package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// errClientDeleted is the reason given when a token's client no longer
// exists.
var errClientDeleted = errors.New("audexum: the token's client was deleted")

// clientGate wraps the access-token verifier so that tokens of a deleted
// client stop working within the change log's delay (about a second),
// instead of living on until they expire. Access tokens are stateless
// JWTs, so deleting a client cannot revoke them one by one; the gate keeps
// the set of existing client IDs in memory and refuses the rest.
type clientGate struct {
	next interface {
		auth.Verifier
		auth.ShapeMatcher
	}
	clients oauth.ClientStore

	mu    sync.RWMutex
	known map[string]bool
}

func newClientGate(ctx context.Context, next interface {
	auth.Verifier
	auth.ShapeMatcher
}, clients oauth.ClientStore) (*clientGate, error) {
	g := &clientGate{next: next, clients: clients}
	if err := g.reloadAll(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// MatchShape claims what the token verifier claims.
func (g *clientGate) MatchShape(credential string) bool { return g.next.MatchShape(credential) }

// Verify verifies the token, then refuses it if its client is gone.
func (g *clientGate) Verify(ctx context.Context, credential string) (*auth.Principal, error) {
	p, err := g.next.Verify(ctx, credential)
	if err != nil {
		return nil, err
	}
	g.mu.RLock()
	ok := g.known[p.ClientID]
	g.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %w", auth.ErrRevoked, errClientDeleted)
	}
	return p, nil
}

func (g *clientGate) reloadAll(ctx context.Context) error {
	cls, err := g.clients.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	known := make(map[string]bool, len(cls))
	for _, c := range cls {
		known[c.ID] = true
	}
	g.mu.Lock()
	g.known = known
	g.mu.Unlock()
	return nil
}

// changed updates one client after the change log names it.
func (g *clientGate) changed(ctx context.Context, id string) error {
	_, err := g.clients.Client(ctx, id)
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		g.mu.Lock()
		delete(g.known, id)
		g.mu.Unlock()
	case err != nil:
		return err
	default:
		g.mu.Lock()
		g.known[id] = true
		g.mu.Unlock()
	}
	return nil
}

// Ready reports whether the token verifier is ready (auth.Readier).
func (g *clientGate) Ready() bool {
	r, ok := g.next.(auth.Readier)
	return !ok || r.Ready()
}
