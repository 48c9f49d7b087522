package auth

import (
	"context"
	"sync"
	"time"
)

// CachedLimiter wraps a shared [Limiter] so that Count is answered from
// memory for up to MaxAge after the shared store last said how many events
// a key has, while every Add still goes to the store. With a database
// limiter, a request that fails nothing then costs no round trip at all,
// instead of one per request.
//
// The price is staleness: failures recorded by other instances reach this
// one's Count within MaxAge. A caller spreading attempts over N instances
// gets at most a few more tries than MaxFailures, never N×MaxFailures: this
// instance's own Adds update its cache at once. Create one with
// [NewCachedLimiter]; it is safe for concurrent use.
type CachedLimiter struct {
	next   Limiter
	maxAge time.Duration
	size   int

	mu      sync.Mutex
	entries map[string]cachedCount
}

type cachedCount struct {
	n       int
	end     time.Time // end of the window the count is for
	fetched time.Time
	window  time.Duration
}

// NewCachedLimiter returns a CachedLimiter over next that keeps counts for
// up to maxAge (one second if zero or negative) and remembers at most size
// keys (DefaultThrottleTable if size ≤ 0); when full it forgets them all,
// which only costs round trips.
func NewCachedLimiter(next Limiter, maxAge time.Duration, size int) *CachedLimiter {
	if maxAge <= 0 {
		maxAge = time.Second
	}
	if size <= 0 {
		size = DefaultThrottleTable
	}
	return &CachedLimiter{next: next, maxAge: maxAge, size: size, entries: make(map[string]cachedCount)}
}

// Count implements [Limiter]: from memory while the cached count is
// younger than MaxAge and its window has not ended, else from the store.
func (c *CachedLimiter) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.window == window && now.Before(e.end) && now.Sub(e.fetched) < c.maxAge {
		return e.n, e.end.Sub(now), nil
	}
	n, reset, err := c.next.Count(ctx, key, window, now)
	if err != nil {
		return n, reset, err
	}
	c.store(key, cachedCount{n: n, end: now.Add(reset), fetched: now, window: window})
	return n, reset, nil
}

// Add implements [Limiter]: always in the store, and the new count is
// cached.
func (c *CachedLimiter) Add(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	n, reset, err := c.next.Add(ctx, key, window, now)
	if err != nil {
		return n, reset, err
	}
	c.store(key, cachedCount{n: n, end: now.Add(reset), fetched: now, window: window})
	return n, reset, nil
}

func (c *CachedLimiter) store(key string, e cachedCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		clear(c.entries)
	}
	c.entries[key] = e
}
