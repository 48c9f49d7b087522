package apikey

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audexum/auth"
	bounded "github.com/audexum/auth/internal/cache"
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

// cache remembers what the store said of key IDs: the record of a known
// ID (positive) or that an ID is unknown (negative). The two sides are
// separate bounded maps (internal/cache) of CacheSize entries each, so a
// flood of made-up IDs cannot evict the entries of real keys. Full, a
// side gives a new ID the place of an expired entry or else of the least
// used of 8 drawn at random.
//
// Invalidation bumps gen; a fill that read the store before an
// invalidation carries the old gen and is dropped, so a lookup racing a
// revocation cannot put the revoked key back. mu orders fills and
// invalidations; lookups take only the maps' read locks.
type cache struct {
	ttl, negTTL time.Duration // <= 0: that side is off

	gen atomic.Uint64 // changed only with mu held
	off atomic.Bool   // set by close: every lookup misses, nothing is put

	mu  sync.Mutex
	pos *bounded.Map[string, *entry]
	neg *bounded.Map[string, struct{}]
}

func newCache(ttl, negTTL time.Duration, size int) *cache {
	return &cache{
		ttl: ttl, negTTL: negTTL,
		pos: bounded.New[string, *entry](size),
		neg: bounded.New[string, struct{}](size),
	}
}

// get returns the fresh entry for id, or negative=true if id is fresh in
// the negative cache, or neither.
func (c *cache) get(id string, now time.Time) (e *entry, negative bool) {
	if c.off.Load() {
		return nil, false
	}
	if e, ok := c.pos.Get(id, now); ok {
		return e, false
	}
	if c.negTTL > 0 {
		_, negative = c.neg.Get(id, now)
	}
	return nil, negative
}

// generation is read before a store lookup and passed to put.
func (c *cache) generation() uint64 { return c.gen.Load() }

// putPositive caches e under id for the TTL unless an invalidation
// happened since gen. id must not share memory with a presented key.
func (c *cache) putPositive(id string, e *entry, gen uint64, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	if c.gen.Load() == gen && !c.off.Load() {
		c.pos.Put(id, e, now.Add(c.ttl), now)
		c.neg.Delete(id)
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
		c.neg.Put(id, struct{}{}, now.Add(c.negTTL), now)
	}
	c.mu.Unlock()
}

func (c *cache) invalidate(id string) {
	c.mu.Lock()
	c.gen.Add(1)
	c.pos.Delete(id)
	c.neg.Delete(id)
	c.mu.Unlock()
}

func (c *cache) invalidateAll() {
	c.mu.Lock()
	c.gen.Add(1)
	c.pos.Clear()
	c.neg.Clear()
	c.mu.Unlock()
}

// close turns the cache off for good and empties it.
func (c *cache) close() {
	c.mu.Lock()
	c.off.Store(true)
	c.mu.Unlock()
	c.invalidateAll()
}
