package auth

import (
	"context"
	"testing"
	"time"
)

// countingLimiter counts the calls that reach the shared store.
type countingLimiter struct {
	*MemoryLimiter
	counts, adds int
}

func (c *countingLimiter) Count(ctx context.Context, k string, w time.Duration, now time.Time) (int, time.Duration, error) {
	c.counts++
	return c.MemoryLimiter.Count(ctx, k, w, now)
}

func (c *countingLimiter) Add(ctx context.Context, k string, w time.Duration, now time.Time) (int, time.Duration, error) {
	c.adds++
	return c.MemoryLimiter.Add(ctx, k, w, now)
}

func TestCachedLimiter(t *testing.T) {
	ctx := context.Background()
	shared := &countingLimiter{MemoryLimiter: NewMemoryLimiter(0)}
	c := NewCachedLimiter(shared, time.Second, 0)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const w = time.Minute

	// 100 checks within MaxAge: one round trip.
	for i := range 100 {
		if n, _, _ := c.Count(ctx, "a", w, t0.Add(time.Duration(i)*time.Millisecond)); n != 0 {
			t.Fatalf("count = %d, want 0", n)
		}
	}
	if shared.counts != 1 {
		t.Errorf("store Counts = %d, want 1", shared.counts)
	}
	// Our own Add is seen at once, without a Count.
	c.Add(ctx, "a", w, t0)
	if n, _, _ := c.Count(ctx, "a", w, t0.Add(10*time.Millisecond)); n != 1 || shared.counts != 1 {
		t.Errorf("after Add: count %d with %d store Counts, want 1 and 1", n, shared.counts)
	}
	// Another instance's Add is seen once the cached count is MaxAge old.
	shared.MemoryLimiter.Add(ctx, "a", w, t0)
	if n, _, _ := c.Count(ctx, "a", w, t0.Add(500*time.Millisecond)); n != 1 {
		t.Errorf("within MaxAge: count %d, want the cached 1", n)
	}
	if n, _, _ := c.Count(ctx, "a", w, t0.Add(time.Second)); n != 2 {
		t.Errorf("after MaxAge: count %d, want 2", n)
	}
	// A window that ended is never answered from the cache.
	before := shared.counts
	if n, _, _ := c.Count(ctx, "a", w, t0.Add(w)); n != 0 || shared.counts != before+1 {
		t.Errorf("next window: count %d, store Counts %d, want 0 and %d", n, shared.counts, before+1)
	}
	// Errors are not cached.
	c2 := NewCachedLimiter(brokenLimiter{}, time.Second, 0)
	if _, _, err := c2.Count(ctx, "a", w, t0); err == nil {
		t.Error("error from the store was swallowed")
	}
}

func TestCachedLimiterBounded(t *testing.T) {
	c := NewCachedLimiter(NewMemoryLimiter(0), time.Second, 10)
	now := time.Now()
	for i := range 1000 {
		c.Count(context.Background(), string(rune('a'+i%26))+string(rune(i)), time.Minute, now)
	}
	if n := c.counts.Len(); n > 10 {
		t.Errorf("cache holds %d keys, want at most 10", n)
	}
}
