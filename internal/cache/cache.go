// Package cache is the one bounded map with expiry behind every cache and
// counter table of this module: the in-memory and cached limiters of auth,
// the verified-token cache of jwt, the key cache of apikey, the client
// gate and revocation cache of oauth, and the replay cache and client
// nonces of dpop.
//
// # Bound
//
// A [Map] holds at most the number of entries it was made with, whatever
// its callers put in it: memory is bounded by construction, not by a
// janitor. It grows its storage as it fills, up to that size, and never
// past it. It starts no goroutine and has nothing to close. It never
// reads the clock: every call takes the time from its caller, which has
// read its own clock (injectable, for tests) once for the request. A Map
// is safe for concurrent use.
//
// # Policy
//
// Every entry counts its uses (a hit of Get, a Put or Update of a live
// entry), up to 255. When a full Map must make room for a new key, it
// looks at 8 of its entries chosen at random and drops the first one that
// has expired or, if none has, the one used least, and of those the one
// that expires soonest. An entry is gone at its expiry: Get misses it,
// Update sees no value, and its room is the first taken.
//
// This is the only eviction policy of the module; it was chosen against
// CLOCK (second chance), a sharded LRU and plain random eviction by the
// benchmarks in policy_test.go and docs/benchmarks.md:
//
//   - A hit costs a read lock, a map lookup and an index: no list to
//     reorder and no lock to take for writing, unlike an LRU. The use
//     count stops at 255, so the hits of a hot entry stop writing to it.
//   - Nothing is allocated per hit, and nothing per insert once the Map
//     has grown: entries live in one slice, replaced in place.
//   - An attacker flooding unique keys makes entries used once. Those are
//     what a sample finds and drops, so an entry used more (a repeated
//     token, a network being throttled) stays however long the flood,
//     until it expires. Under LRU or CLOCK a flood of as many new keys as
//     the size pushes out every entry not used in the meantime; under
//     random eviction, any entry goes with the same odds as the flood's.
//   - The sample is drawn at random, so no order of requests makes the
//     Map drop a chosen entry.
//
// The price is that an entry used often is kept over newer ones until it
// expires: give every entry an expiry.
//
// # Refusing maps
//
// A Map made by [NewRefusing] never drops an unexpired entry: when it is
// full of them, a new key is refused (Put and Update return false). That
// is the replay cache's mode, where forgetting a live entry would let a
// proof be replayed, so full must mean "unavailable", never "forget". A
// full refusing Map reuses an expired entry found among 8 sampled, and at
// most once a second drops every expired entry, so refusing a new key
// costs a few lookups, not a pass over the Map.
//
// # Not caches
//
// Two tables keyed by request data stay outside, because dropping an
// entry of either would be a bug, not a miss. The auth.AttemptCounter's
// table of attempts in flight holds the state of requests being served
// (their counts, the channel their waiters sleep on): it is bounded by
// the requests in progress, plus at most 1 024 idle entries, and a Map
// would have to either drop a live entry, breaking the burst bound, or
// refuse one, turning a full table into a lockout. The sqlstore
// recorders' pending counts are buffers emptied by every flush: full, they
// add to an overflow row rather than forget a count.
package cache

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// sample is how many entries are looked at to choose one to drop.
	sample = 8
	// maxUses is where an entry's use count stops.
	maxUses = 255
	// sweepGap is the least time between two sweeps of a full refusing
	// Map, in nanoseconds.
	sweepGap = int64(time.Second)
)

// Map is a bounded map from K to V whose entries expire; see the package
// documentation for its bound and policy. Create one with [New] or
// [NewRefusing].
type Map[K comparable, V any] struct {
	mu     sync.RWMutex
	index  map[K]int32 // key → position in slots
	slots  []slot[K, V]
	size   int
	refuse bool
	swept  int64 // refusing Map: Unix nanoseconds of the last sweep
	// rng draws the samples, with the write lock held: seeded from the
	// runtime's random source, so nobody outside knows its sequence, and
	// cheaper than that source for the eight draws of each eviction.
	rng rand.PCG
}

type slot[K comparable, V any] struct {
	key K
	val V
	exp int64 // Unix nanoseconds; 0: never
	// uses is written with atomics by readers holding the read lock, and
	// plainly with the write lock held.
	uses uint32
}

// New returns a Map holding at most size entries (at least 1) that drops
// one to make room for a new key when full.
func New[K comparable, V any](size int) *Map[K, V] {
	m := &Map[K, V]{index: make(map[K]int32), size: min(max(size, 1), math.MaxInt32)}
	m.rng.Seed(rand.Uint64(), rand.Uint64())
	return m
}

// NewRefusing returns a Map holding at most size entries (at least 1)
// that refuses a new key rather than drop an unexpired entry.
func NewRefusing[K comparable, V any](size int) *Map[K, V] {
	m := New[K, V](size)
	m.refuse = true
	return m
}

// alive reports whether an entry expiring at exp is there at now: it is
// gone at its expiry, not after it.
func alive(exp, now int64) bool { return exp == 0 || now < exp }

// unixNano is t in Unix nanoseconds, or 0 (never) for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Get returns the value of key if it has one that has not expired at now,
// and counts a use of it.
func (m *Map[K, V]) Get(key K, now time.Time) (V, bool) {
	m.mu.RLock()
	if i, ok := m.index[key]; ok {
		s := &m.slots[i]
		if alive(s.exp, now.UnixNano()) {
			if atomic.LoadUint32(&s.uses) < maxUses {
				atomic.AddUint32(&s.uses, 1)
			}
			v := s.val
			m.mu.RUnlock()
			return v, true
		}
	}
	m.mu.RUnlock()
	var zero V
	return zero, false
}

// Put sets the value of key until expires (the zero time: until dropped).
// It returns false, storing nothing, only when a refusing Map is full of
// unexpired entries and key is not one of them.
func (m *Map[K, V]) Put(key K, val V, expires, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, _ := m.slotFor(key, now.UnixNano())
	if s == nil {
		return false
	}
	s.val, s.exp = val, unixNano(expires)
	return true
}

// Update calls f, with the write lock held, on the value of key, which f
// may change in place, and on its expiry: f returns the expiry to keep
// (the one it was given, to leave it). found reports whether key had an
// unexpired value; if not, f gets the zero value and the zero time (no
// expiry). It returns false without calling f only when a refusing Map is
// full of unexpired entries and key is not one of them. f must not call
// the Map.
func (m *Map[K, V]) Update(key K, now time.Time, f func(val *V, expires time.Time, found bool) time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, found := m.slotFor(key, now.UnixNano())
	if s == nil {
		return false
	}
	// The expiry goes in and out by value: a pointer to it, given to an
	// unknown f, would put it on the heap on every call.
	var exp time.Time
	if s.exp != 0 {
		exp = time.Unix(0, s.exp)
	}
	s.exp = unixNano(f(&s.val, exp, found))
	return true
}

// Delete drops key.
func (m *Map[K, V]) Delete(key K) {
	m.mu.Lock()
	if i, ok := m.index[key]; ok {
		m.remove(i)
	}
	m.mu.Unlock()
}

// Clear drops every entry.
func (m *Map[K, V]) Clear() {
	m.mu.Lock()
	clear(m.index)
	clear(m.slots) // let go of what the values point to
	m.slots = m.slots[:0]
	m.mu.Unlock()
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (m *Map[K, V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.slots)
}

// slotFor returns the slot of key, counting a use: its own, if key is
// held (found reports whether its value is unexpired; an expired one is
// zeroed), or a zeroed new one, or nil when a refusing Map has no room.
// m.mu is held for writing.
func (m *Map[K, V]) slotFor(key K, now int64) (s *slot[K, V], found bool) {
	if i, ok := m.index[key]; ok {
		s = &m.slots[i]
		if alive(s.exp, now) {
			if s.uses < maxUses {
				s.uses++
			}
			return s, true
		}
		*s = slot[K, V]{key: s.key, uses: 1}
		return s, false
	}
	i, ok := m.room(now)
	if !ok {
		return nil, false
	}
	m.index[key] = i
	s = &m.slots[i]
	s.key, s.uses = key, 1
	return s, false
}

// room returns the position of a zeroed slot for a new key: a new slot
// while the Map is not full, else one whose entry it dropped by the
// policy. ok is false when a refusing Map is full of unexpired entries.
func (m *Map[K, V]) room(now int64) (i int32, ok bool) {
	if m.refuse && len(m.slots) >= m.size && now-m.swept >= sweepGap {
		m.sweep(now)
	}
	if n := len(m.slots); n < m.size {
		if n == cap(m.slots) {
			grown := make([]slot[K, V], n, min(max(2*n, 16), m.size))
			copy(grown, m.slots)
			m.slots = grown
		}
		m.slots = m.slots[:n+1]
		return int32(n), true
	}
	i = m.victim(now)
	if m.refuse && alive(m.slots[i].exp, now) {
		return 0, false
	}
	delete(m.index, m.slots[i].key)
	m.slots[i] = slot[K, V]{}
	return i, true
}

// victim chooses the entry to drop among sample ones drawn at random: the
// first expired one, else the one used least, expiring soonest among
// those. m.mu is held for writing.
func (m *Map[K, V]) victim(now int64) int32 {
	n := uint64(len(m.slots))
	best := int32(-1)
	var r uint64
	for j := range sample {
		// Each 64 random bits make two draws: a 32-bit half times n,
		// shifted down, falls in [0, n) (n < 2³¹), with a bias under
		// n/2³² that no caller can steer.
		if j%2 == 0 {
			r = m.rng.Uint64()
		} else {
			r >>= 32
		}
		i := int32((r & math.MaxUint32) * n >> 32)
		s := &m.slots[i]
		if !alive(s.exp, now) {
			return i
		}
		if best < 0 {
			best = i
		} else if b := &m.slots[best]; s.uses < b.uses || s.uses == b.uses && sooner(s.exp, b.exp) {
			best = i
		}
	}
	return best
}

// sooner reports whether expiry a comes before expiry b (0 is never).
func sooner(a, b int64) bool { return a != 0 && (b == 0 || a < b) }

// sweep drops every expired entry. m.mu is held for writing.
func (m *Map[K, V]) sweep(now int64) {
	for i := 0; i < len(m.slots); {
		if alive(m.slots[i].exp, now) {
			i++
		} else {
			m.remove(int32(i)) // the last entry moves to i: look at i again
		}
	}
	m.swept = now
}

// remove drops the entry at i, moving the last entry into its place.
// m.mu is held for writing.
func (m *Map[K, V]) remove(i int32) {
	last := int32(len(m.slots) - 1)
	delete(m.index, m.slots[i].key)
	if i != last {
		m.slots[i] = m.slots[last]
		m.index[m.slots[i].key] = i
	}
	m.slots[last] = slot[K, V]{}
	m.slots = m.slots[:last]
}
