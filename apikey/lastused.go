package apikey

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultLastUsedInterval is how often last-used times are written when
// Config.LastUsedInterval is zero.
const DefaultLastUsedInterval = time.Minute

// lastUsed collects, off the request path, the minute each key was last
// used, and hands them to the store in batches. A request only writes to a
// map (at most once a minute per cached key); the store is called by the
// flusher, so a slow store never slows a request.
type lastUsed struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

// mark records that the key of e was used at now, truncated to the minute.
func (l *lastUsed) mark(e *entry, now time.Time) {
	minute := now.Unix() / 60
	if e.lastMinute.Load() == minute || e.lastMinute.Swap(minute) == minute {
		return
	}
	t := time.Unix(minute*60, 0).UTC()
	l.mu.Lock()
	if l.pending == nil {
		l.pending = make(map[string]time.Time)
	}
	// The ID comes from the store's record, never from the presented key,
	// so holding it does not keep the key's secret in memory.
	if t.After(l.pending[e.p.CredentialID]) {
		l.pending[e.p.CredentialID] = t
	}
	l.mu.Unlock()
}

// take removes and returns the pending batch, or nil.
func (l *lastUsed) take() map[string]time.Time {
	l.mu.Lock()
	b := l.pending
	l.pending = nil
	l.mu.Unlock()
	return b
}

// restore puts back a batch the store did not take, keeping later times.
func (l *lastUsed) restore(b map[string]time.Time) {
	l.mu.Lock()
	if l.pending == nil {
		l.pending = b
	} else {
		for id, t := range b {
			if t.After(l.pending[id]) {
				l.pending[id] = t
			}
		}
	}
	l.mu.Unlock()
}

// flush writes the pending batch to s. On failure the batch is kept for
// the next flush.
func (l *lastUsed) flush(ctx context.Context, s Store) error {
	b := l.take()
	if len(b) == 0 {
		return nil
	}
	if err := s.TouchLastUsed(ctx, b); err != nil {
		l.restore(b)
		return fmt.Errorf("apikey: recording last use: %w", err)
	}
	return nil
}
