package apikey

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] that keeps records in memory, for tests and
// single-process applications whose keys need not survive a restart. The
// zero value is ready to use; it is safe for concurrent use.
type MemoryStore struct {
	mu   sync.RWMutex
	recs map[string]*Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// CreateKey implements [Store].
func (s *MemoryStore) CreateKey(_ context.Context, rec Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertLocked(rec)
}

func (s *MemoryStore) insertLocked(rec Record) error {
	if _, ok := s.recs[rec.ID]; ok {
		return ErrDuplicateID
	}
	if s.recs == nil {
		s.recs = make(map[string]*Record)
	}
	s.recs[rec.ID] = &rec
	return nil
}

// Key implements [Store].
func (s *MemoryStore) Key(_ context.Context, id string) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.recs[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	return *r, nil
}

// ListKeys implements [Store].
func (s *MemoryStore) ListKeys(_ context.Context, f Filter) ([]Record, error) {
	s.mu.RLock()
	out := make([]Record, 0, len(s.recs))
	for _, r := range s.recs {
		if f.Owner != "" && r.Owner != f.Owner {
			continue
		}
		if !f.ExpiresBefore.IsZero() && (r.ExpiresAt.IsZero() || !r.ExpiresAt.Before(f.ExpiresBefore)) {
			continue
		}
		out = append(out, *r)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Record) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeKey implements [Store].
func (s *MemoryStore) RevokeKey(_ context.Context, id string, at time.Time, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	switch {
	case !ok:
		return ErrNotFound
	case r.Revoked():
		return ErrAlreadyRevoked
	}
	r.RevokedAt, r.RevokeReason = at, reason
	return nil
}

// RotateKey implements [Store].
func (s *MemoryStore) RotateKey(_ context.Context, oldID string, next Record, graceUntil, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[oldID]
	switch {
	case !ok:
		return ErrNotFound
	case !old.Active(now) || old.ReplacedBy != "":
		return ErrNotActive
	}
	// CreateKey first: on a duplicate ID nothing has changed yet.
	if err := s.insertLocked(next); err != nil {
		return err
	}
	old.ReplacedBy = next.ID
	if old.ExpiresAt.IsZero() || graceUntil.Before(old.ExpiresAt) {
		old.ExpiresAt = graceUntil
	}
	return nil
}

// TouchLastUsed implements [Store].
func (s *MemoryStore) TouchLastUsed(_ context.Context, batch map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range batch {
		if r, ok := s.recs[id]; ok && t.After(r.LastUsedAt) {
			r.LastUsedAt = t
		}
	}
	return nil
}
