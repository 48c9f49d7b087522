package apikey

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audexum/auth"
)

// Cache defaults.
const (
	DefaultCacheTTL         = 30 * time.Second
	DefaultNegativeCacheTTL = 5 * time.Second
	DefaultCacheSize        = 10_000
)

// entry is what the verifier keeps of a stored record: enough to judge a
// presented key without the store, and the principal to hand out.
type entry struct {
	hash    [HashSize]byte
	pepper  int
	revoked bool
	expires time.Time // zero: never
	p       *auth.Principal
	until   time.Time // the cache entry's own expiry

	// lastMinute is the Unix minute last reported to the last-used
	// tracker, so a busy key takes the tracker's lock once a minute.
	lastMinute atomic.Int64

	// seen is the key that last matched hash, XORed with pad. A request
	// presenting the same key is then checked with a constant-time
	// comparison instead of a SHA-256 (or HMAC), which would otherwise be
	// the most expensive step of every request. The key is held only in
	// this process's memory, which sees every key it is sent anyway, and
	// only while the entry is cached; the mask keeps it out of plain
	// sight in a core dump scanned for "adx_live_".
	seen atomic.Pointer[masked]
	pad  masked
}

// masked is a key with its length in the last byte, XORed with a pad, in
// words so the comparison takes a few instructions.
type masked [(MaxKeyLength + 1 + 7) / 8]uint64

func newEntry(r *Record) *entry {
	e := &entry{
		hash:    r.Hash,
		pepper:  r.PepperVersion,
		revoked: r.Revoked(),
		expires: r.ExpiresAt,
		p: &auth.Principal{
			Subject:      r.Owner,
			Scopes:       r.Scopes,
			Method:       auth.MethodAPIKey,
			CredentialID: r.ID,
			ExpiresAt:    r.ExpiresAt,
		},
	}
	var b [len(masked{}) * 8]byte
	rand.Read(b[:])
	for i := range e.pad {
		e.pad[i] = binary.LittleEndian.Uint64(b[i*8:])
	}
	return e
}

func (e *entry) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

// mask returns key masked with pad, or false if key is too long.
func mask(key string, pad *masked) (m masked, ok bool) {
	var buf [len(masked{}) * 8]byte
	if len(key) >= len(buf) {
		return m, false
	}
	copy(buf[:], key)
	buf[len(buf)-1] = byte(len(key))
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(buf[i*8:]) ^ pad[i]
	}
	return m, true
}

// matchesSeen reports whether key is the key last remembered by
// rememberSeen. Its time does not depend on the content of either key.
func (e *entry) matchesSeen(key string) bool {
	seen := e.seen.Load()
	if seen == nil {
		return false
	}
	m, ok := mask(key, &e.pad)
	if !ok {
		return false
	}
	var diff uint64
	for i := range m {
		diff |= m[i] ^ seen[i]
	}
	return diff == 0
}

// rememberSeen records key, which has just matched the stored hash.
func (e *entry) rememberSeen(key string) {
	if m, ok := mask(key, &e.pad); ok {
		e.seen.Store(&m)
	}
}

// cache is a bounded map from key ID to entry (positive) or to the expiry
// of a "no such key" answer (negative). The two have separate maps and
// caps, so a flood of made-up IDs cannot evict the entries of real keys.
//
// Invalidation bumps gen; a fill that read the store before an
// invalidation carries the old gen and is dropped, so a lookup racing a
// revocation cannot put the revoked key back.
type cache struct {
	ttl, negTTL time.Duration // <= 0: that side is off
	size        int

	gen atomic.Uint64 // changed only with mu held
	off atomic.Bool   // set by close: every lookup misses, nothing is put

	mu  sync.RWMutex
	pos map[string]*entry
	neg map[string]time.Time
}

func newCache(ttl, negTTL time.Duration, size int) *cache {
	return &cache{
		ttl: ttl, negTTL: negTTL, size: size,
		pos: make(map[string]*entry),
		neg: make(map[string]time.Time),
	}
}

// get returns the fresh entry for id, or negative=true if id is fresh in
// the negative cache, or neither.
func (c *cache) get(id string, now time.Time) (e *entry, negative bool) {
	if c.off.Load() {
		return nil, false
	}
	c.mu.RLock()
	e = c.pos[id]
	if e != nil && !now.Before(e.until) {
		e = nil
	}
	if e == nil && c.negTTL > 0 {
		if until, ok := c.neg[id]; ok && now.Before(until) {
			negative = true
		}
	}
	c.mu.RUnlock()
	return e, negative
}

// generation is read before a store lookup and passed to put.
func (c *cache) generation() uint64 { return c.gen.Load() }

// putPositive caches e under id unless an invalidation happened since gen.
// id must not share memory with a presented key.
func (c *cache) putPositive(id string, e *entry, gen uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	e.until = now.Add(c.ttl)
	c.mu.Lock()
	if c.gen.Load() == gen && !c.off.Load() {
		if _, ok := c.pos[id]; !ok && len(c.pos) >= c.size {
			evictOne(c.pos)
		}
		c.pos[id] = e
		delete(c.neg, id)
	}
	c.mu.Unlock()
}

// putNegative remembers that id is unknown. id must not share memory with
// a presented key.
func (c *cache) putNegative(id string, gen uint64, now time.Time) {
	if c.negTTL <= 0 {
		return
	}
	c.mu.Lock()
	if c.gen.Load() == gen && !c.off.Load() {
		if _, ok := c.neg[id]; !ok && len(c.neg) >= c.size {
			evictOne(c.neg)
		}
		c.neg[id] = now.Add(c.negTTL)
	}
	c.mu.Unlock()
}

// evictOne removes an arbitrary entry. Map iteration starts at a random
// place, so this is random eviction: no bookkeeping on the hit path, and
// no order an attacker can steer.
func evictOne[V any](m map[string]V) {
	for k := range m {
		delete(m, k)
		return
	}
}

func (c *cache) invalidate(id string) {
	c.mu.Lock()
	c.gen.Add(1)
	delete(c.pos, id)
	delete(c.neg, id)
	c.mu.Unlock()
}

func (c *cache) invalidateAll() {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.pos)
	clear(c.neg)
	c.mu.Unlock()
}

// close turns the cache off for good and empties it.
func (c *cache) close() {
	c.mu.Lock()
	c.off.Store(true)
	c.mu.Unlock()
	c.invalidateAll()
}
