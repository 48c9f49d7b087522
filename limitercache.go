package auth

import (
	"context"
	"time"

	"github.com/audexum/auth/internal/cache"
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
//
// It is bounded: it remembers at most size keys. When it is full, a new
// key takes the place of a count older than MaxAge or else of the least
// used of 8 keys drawn at random; a forgotten count only costs a round
// trip.
type CachedLimiter struct {
	next   Limiter
	maxAge time.Duration
	counts *cache.Map[string, cachedCount]
}

// cachedCount is what the store last said of a key. The map forgets it
// when it is MaxAge old or its window ends, whichever is first.
type cachedCount struct {
	n      int
	end    time.Time // end of the window the count is for
	window time.Duration
}

// NewCachedLimiter returns a CachedLimiter over next that keeps counts for
// up to maxAge (one second if zero or negative) and remembers at most size
// keys (DefaultThrottleTable if size ≤ 0).
func NewCachedLimiter(next Limiter, maxAge time.Duration, size int) *CachedLimiter {
	if maxAge <= 0 {
		maxAge = time.Second
	}
	if size <= 0 {
		size = DefaultThrottleTable
	}
	return &CachedLimiter{next: next, maxAge: maxAge, counts: cache.New[string, cachedCount](size)}
}

// Count implements [Limiter]: from memory while the cached count is
// younger than MaxAge and its window has not ended, else from the store.
func (c *CachedLimiter) Count(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	if e, ok := c.counts.Get(key, now); ok && e.window == window {
		return e.n, e.end.Sub(now), nil
	}
	n, reset, err := c.next.Count(ctx, key, window, now)
	if err != nil {
		return n, reset, err
	}
	c.store(key, n, reset, window, now)
	return n, reset, nil
}

// Add implements [Limiter]: always in the store, and the new count is
// cached.
func (c *CachedLimiter) Add(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	n, reset, err := c.next.Add(ctx, key, window, now)
	if err != nil {
		return n, reset, err
	}
	c.store(key, n, reset, window, now)
	return n, reset, nil
}

func (c *CachedLimiter) store(key string, n int, reset, window time.Duration, now time.Time) {
	end, expires := now.Add(reset), now.Add(c.maxAge)
	if end.Before(expires) {
		expires = end
	}
	c.counts.Put(key, cachedCount{n: n, end: end, window: window}, expires, now)
}
