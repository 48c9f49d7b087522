package jwt

import (
	"sync"

	"github.com/audexum/auth"
)

// tokenCache holds verified tokens, keyed by the whole token string, so a
// repeated token costs a map lookup instead of a signature check. Only
// tokens that passed every check enter it, so a client cannot fill it with
// junk; it is bounded, and full, it evicts an expired entry or an
// arbitrary one. Hits take a read lock only.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]*cacheEntry
	max int
}

// cacheEntry is a verified token: its principal, the time claims and the
// key that verified it, which are checked again on every hit.
type cacheEntry struct {
	p             *auth.Principal
	exp, nbf, iat float64
	has           uint16
	by            signingKey
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[string]*cacheEntry, min(max, 1024)), max: max}
}

func (c *tokenCache) get(token string) *cacheEntry {
	c.mu.RLock()
	e := c.m[token]
	c.mu.RUnlock()
	return e
}

// evictScan bounds the entries looked at for an expired one when the
// cache is full, so an insert stays O(1).
const evictScan = 8

func (c *tokenCache) put(token string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[token]; !ok && len(c.m) >= c.max {
		// Map iteration starts at a random entry: the earliest-expiring
		// of a few is evicted, which favours expired tokens without a
		// sorted structure to maintain on every hit.
		var victim string
		var victimExp float64
		n := 0
		for k, v := range c.m {
			if n == 0 || v.exp < victimExp {
				victim, victimExp = k, v.exp
			}
			if n++; n == evictScan {
				break
			}
		}
		delete(c.m, victim)
	}
	c.m[token] = e
}

// clear drops every entry: called when a key set changed, so tokens signed
// by a removed key stop being accepted at once.
func (c *tokenCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
