package oauth

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemoryClientStore is a [ClientStore] in memory, for tests and single
// instances. The zero value is not usable; call [NewMemoryClientStore]. It
// is safe for concurrent use.
type MemoryClientStore struct {
	mu      sync.RWMutex
	clients map[string]*Client
}

// NewMemoryClientStore returns an empty MemoryClientStore.
func NewMemoryClientStore() *MemoryClientStore {
	return &MemoryClientStore{clients: make(map[string]*Client)}
}

// CreateClient implements [ClientStore].
func (s *MemoryClientStore) CreateClient(_ context.Context, c *Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return ErrAlreadyExists
	}
	s.clients[c.ID] = c.Clone()
	return nil
}

// Client implements [ClientStore].
func (s *MemoryClientStore) Client(_ context.Context, id string) (*Client, error) {
	s.mu.RLock()
	c, ok := s.clients[id]
	s.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	return c.Clone(), nil
}

// ListClients implements [ClientStore].
func (s *MemoryClientStore) ListClients(context.Context) ([]*Client, error) {
	s.mu.RLock()
	out := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c.Clone())
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ListClientsByOwner returns the clients whose Owner is owner, ordered by
// ID; none for the empty owner (operator-managed clients belong to no
// account).
func (s *MemoryClientStore) ListClientsByOwner(_ context.Context, owner string) ([]*Client, error) {
	var out []*Client
	if owner == "" {
		return out, nil
	}
	s.mu.RLock()
	for _, c := range s.clients {
		if c.Owner == owner {
			out = append(out, c.Clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// RotateClientSecret implements [ClientStore].
func (s *MemoryClientStore) RotateClientSecret(_ context.Context, id string, secret ClientSecret, oldUntil time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return ErrNotFound
	}
	d := c.Clone()
	kept := d.Secrets[:0]
	for _, old := range d.Secrets {
		if old.ExpiresAt.IsZero() || oldUntil.Before(old.ExpiresAt) {
			old.ExpiresAt = oldUntil
		}
		// Secrets that had expired when the new one was made are dropped.
		if old.Active(secret.CreatedAt) {
			kept = append(kept, old)
		}
	}
	d.Secrets = append(kept, secret)
	s.clients[id] = d
	return nil
}

// DeleteClient implements [ClientStore].
func (s *MemoryClientStore) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return ErrNotFound
	}
	delete(s.clients, id)
	return nil
}

// MemoryGrantStore is a [GrantStore] in memory, for tests and single
// instances. The zero value is not usable; call [NewMemoryGrantStore]. It
// is safe for concurrent use; each method holds one lock for its whole
// step, which makes claims and rotations atomic.
//
// Expired codes, expired grants and expired revocations are dropped from
// time to time as calls pass in the current time.
type MemoryGrantStore struct {
	mu      sync.Mutex
	codes   map[Hash]*Code
	grants  map[string]*memGrant
	tokens  map[Hash]*RefreshToken
	revoked map[string]time.Time // jti → expiry
	ops     int
}

type memGrant struct {
	g      Grant
	head   Hash
	tokens []Hash
}

// NewMemoryGrantStore returns an empty MemoryGrantStore.
func NewMemoryGrantStore() *MemoryGrantStore {
	return &MemoryGrantStore{
		codes:   make(map[Hash]*Code),
		grants:  make(map[string]*memGrant),
		tokens:  make(map[Hash]*RefreshToken),
		revoked: make(map[string]time.Time),
	}
}

// sweepEvery is how many writes pass between two sweeps of expired
// records; codeRetention is how long a used or expired code is kept, so a
// replay shortly after expiry is still recognised as reuse.
const (
	sweepEvery    = 1024
	codeRetention = time.Hour
)

// sweep drops records that expired before now. s.mu is held.
func (s *MemoryGrantStore) sweep(now time.Time) {
	s.ops++
	if s.ops < sweepEvery {
		return
	}
	s.ops = 0
	for h, c := range s.codes {
		if c.ExpiresAt.Add(codeRetention).Before(now) {
			delete(s.codes, h)
		}
	}
	for jti, exp := range s.revoked {
		if exp.Before(now) {
			delete(s.revoked, jti)
		}
	}
	for id, mg := range s.grants {
		if !mg.g.ExpiresAt.IsZero() && mg.g.ExpiresAt.Add(codeRetention).Before(now) {
			for _, h := range mg.tokens {
				delete(s.tokens, h)
			}
			delete(s.grants, id)
		}
	}
}

// CreateCode implements [GrantStore].
func (s *MemoryGrantStore) CreateCode(_ context.Context, c *Code) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(c.CreatedAt)
	if _, ok := s.codes[c.Hash]; ok {
		return ErrAlreadyExists
	}
	d := *c
	s.codes[c.Hash] = &d
	return nil
}

// ClaimCode implements [GrantStore].
func (s *MemoryGrantStore) ClaimCode(_ context.Context, hash Hash, now time.Time) (*Code, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok {
		return nil, ErrNotFound
	}
	d := *c
	if !c.UsedAt.IsZero() {
		return &d, ErrCodeUsed
	}
	c.UsedAt = now
	d.UsedAt = now
	return &d, nil
}

// CreateGrant implements [GrantStore].
func (s *MemoryGrantStore) CreateGrant(_ context.Context, g *Grant, head *RefreshToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(g.CreatedAt)
	if _, ok := s.grants[g.ID]; ok {
		return ErrAlreadyExists
	}
	if _, ok := s.tokens[head.Hash]; ok {
		return ErrAlreadyExists
	}
	t := *head
	t.GrantID = g.ID
	s.grants[g.ID] = &memGrant{g: *g, head: t.Hash, tokens: []Hash{t.Hash}}
	s.tokens[t.Hash] = &t
	return nil
}

// RefreshToken implements [GrantStore].
func (s *MemoryGrantStore) RefreshToken(_ context.Context, hash Hash) (*Grant, *RefreshToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok {
		return nil, nil, ErrNotFound
	}
	mg, ok := s.grants[t.GrantID]
	if !ok {
		return nil, nil, ErrNotFound
	}
	g, tc := mg.g, *t
	return &g, &tc, nil
}

// RotateRefreshToken implements [GrantStore].
func (s *MemoryGrantStore) RotateRefreshToken(_ context.Context, old Hash, next *RefreshToken, now, graceFrom time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	t, ok := s.tokens[old]
	if !ok {
		return ErrNotFound
	}
	mg, ok := s.grants[t.GrantID]
	if !ok {
		return ErrNotFound
	}
	if mg.g.Revoked() {
		return ErrGrantRevoked
	}
	if _, dup := s.tokens[next.Hash]; dup {
		return ErrAlreadyExists
	}
	switch {
	case t.RotatedAt.IsZero():
		t.RotatedAt = now
	case !t.RotatedAt.Before(graceFrom):
		// A concurrent refresh of the same token within the grace
		// window: the head it produced is superseded, so the family
		// still has exactly one.
		if h, ok := s.tokens[mg.head]; ok && h.RotatedAt.IsZero() {
			h.RotatedAt = now
		}
	default:
		s.revokeLocked(mg, now)
		return ErrRefreshReused
	}
	n := *next
	n.GrantID = mg.g.ID
	n.RotatedAt = time.Time{}
	s.tokens[n.Hash] = &n
	mg.head = n.Hash
	mg.tokens = append(mg.tokens, n.Hash)
	return nil
}

// revokeLocked revokes mg and its unexpired access tokens. s.mu is held.
func (s *MemoryGrantStore) revokeLocked(mg *memGrant, now time.Time) {
	if mg.g.RevokedAt.IsZero() {
		mg.g.RevokedAt = now
	}
	for _, h := range mg.tokens {
		t := s.tokens[h]
		if t == nil || t.AccessTokenID == "" || !now.Before(t.AccessTokenExpiresAt) {
			continue
		}
		if exp, ok := s.revoked[t.AccessTokenID]; !ok || exp.Before(t.AccessTokenExpiresAt) {
			s.revoked[t.AccessTokenID] = t.AccessTokenExpiresAt
		}
	}
}

// RevokeGrant implements [GrantStore].
func (s *MemoryGrantStore) RevokeGrant(_ context.Context, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg, ok := s.grants[id]
	if !ok {
		// A tombstone: CreateGrant with this ID will fail.
		s.grants[id] = &memGrant{g: Grant{ID: id, CreatedAt: now, RevokedAt: now, ExpiresAt: now.Add(codeRetention)}}
		return nil
	}
	s.revokeLocked(mg, now)
	return nil
}

// RevokeAccessToken implements [GrantStore].
func (s *MemoryGrantStore) RevokeAccessToken(_ context.Context, jti string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.revoked[jti]; !ok || exp.Before(expiresAt) {
		s.revoked[jti] = expiresAt
	}
	return nil
}

// IsRevoked implements [GrantStore].
func (s *MemoryGrantStore) IsRevoked(_ context.Context, jti string) (bool, error) {
	s.mu.Lock()
	_, ok := s.revoked[jti]
	s.mu.Unlock()
	return ok, nil
}
