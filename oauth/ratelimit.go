package oauth

import (
	"sync"
	"time"
)

// maxTrackedClients bounds the failure counters kept, so a flood of
// made-up client IDs cannot grow memory without limit.
const maxTrackedClients = 10000

// failureLimiter counts failed client authentications per client ID in a
// fixed window. After max failures within the window, the ID is refused
// until the window ends, even with the right secret: the attacker guessing
// secrets gets nothing more from the endpoint than the owner's retry
// logic. It is safe for concurrent use.
type failureLimiter struct {
	max    int
	window time.Duration

	mu     sync.Mutex
	counts map[string]*failureCount
}

type failureCount struct {
	start time.Time
	n     int
}

func newFailureLimiter(maxFailures int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: maxFailures, window: window, counts: make(map[string]*failureCount)}
}

// blocked reports whether id is refused at now, and for how long.
func (l *failureLimiter) blocked(id string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[id]
	if !ok {
		return 0, false
	}
	end := c.start.Add(l.window)
	if !now.Before(end) {
		delete(l.counts, id)
		return 0, false
	}
	if c.n < l.max {
		return 0, false
	}
	return end.Sub(now), true
}

// fail records a failure of id at now.
func (l *failureLimiter) fail(id string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[id]
	if ok && !now.Before(c.start.Add(l.window)) {
		c.start, c.n = now, 0
	}
	if !ok {
		if len(l.counts) >= maxTrackedClients {
			l.evict(now)
		}
		c = &failureCount{start: now}
		l.counts[id] = c
	}
	c.n++
}

// evict drops expired counters, and if none expired, an arbitrary one (map
// order): under a flood of fresh IDs the table stays bounded. l.mu is held.
func (l *failureLimiter) evict(now time.Time) {
	for id, c := range l.counts {
		if !now.Before(c.start.Add(l.window)) {
			delete(l.counts, id)
		}
	}
	for id := range l.counts {
		if len(l.counts) < maxTrackedClients {
			break
		}
		delete(l.counts, id)
	}
}
