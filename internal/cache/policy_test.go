package cache

// The benchmark that chose the Map's eviction policy (docs/benchmarks.md,
// "One bounded cache"). Each candidate is a bounded string → int map with
// expiry, safe for concurrent use, of the same size, under the same
// workloads:
//
//   - hot: parallel Gets of 256 keys, each used 4 times before, in a map
//     half full (a full sharded LRU would have dropped some: its shards
//     fill unevenly): the repeated token or key of busy clients, the hit
//     path's cost and allocations;
//   - hot-serial: the same Gets from one goroutine, as the request
//     benchmarks of the packages make them;
//   - flood: every operation Puts a key never seen before into a full
//     map, an attacker's unique keys: the insert path under eviction;
//   - flood+hot: the flood, with one Get of a hot key every 32
//     operations, so each hot key is asked for once every 8 192, twice the
//     size: legitimate clients coming back while an attacker floods.
//     "hot-hit-%" is how many of those Gets hit;
//   - flood-idle: the 256 keys used 4 times each, then 4 times the size
//     of unique keys while they are not used, as a network being
//     throttled waits out its window: "hot-kept-%" is how many are still
//     held.
//
// The candidates: "sampled" is Map (8 random entries, expired first, else
// the least used); "random" drops a uniformly random entry (the policy of
// the apikey, client gate and revocation caches before Map); "clock" is
// CLOCK (second chance: a hit sets a bit, the hand clears it or evicts);
// "lru16" is an LRU in 16 shards, each under a mutex. Their hit paths are
// written as Map's is (no defer), so the comparison is of policies.

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type candidate interface {
	get(key string, now time.Time) (int, bool)
	put(key string, v int, exp, now time.Time)
}

const benchSize = 4096

var candidates = []struct {
	name string
	new  func(size int) candidate
}{
	{"sampled", func(n int) candidate { return sampledCandidate{New[string, int](n)} }},
	{"random", func(n int) candidate { return newRandomCache(n) }},
	{"clock", func(n int) candidate { return newClockCache(n) }},
	{"lru16", func(n int) candidate { return newLRUCache(n) }},
}

func BenchmarkPolicy(b *testing.B) {
	keys := make([]string, 1<<20) // made beforehand: the loops measure the caches
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%07d-%s", i, "x.y.z")
	}
	hot := make([]string, 256)
	for i := range hot {
		hot[i] = fmt.Sprintf("hot-%02d-%s", i, "x.y.z")
	}
	exp := t0.Add(time.Hour)
	fill := func(c candidate) {
		for _, k := range hot {
			c.put(k, 1, exp, t0)
		}
		for i := range benchSize/2 - len(hot) {
			c.put(keys[len(keys)-1-i], 1, exp, t0)
		}
		for _, k := range hot {
			for range 3 {
				c.get(k, t0)
			}
		}
	}
	for _, cand := range candidates {
		b.Run(cand.name+"/hot", func(b *testing.B) {
			c := cand.new(benchSize)
			fill(c)
			var next atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) * 7
				for pb.Next() {
					if _, ok := c.get(hot[i%len(hot)], t0); !ok {
						b.Error("hot key missing")
						return
					}
					i++
				}
			})
		})
		b.Run(cand.name+"/hot-serial", func(b *testing.B) {
			c := cand.new(benchSize)
			fill(c)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := c.get(hot[i%len(hot)], t0); !ok {
					b.Fatal("hot key missing")
				}
				i++
			}
		})
		b.Run(cand.name+"/flood", func(b *testing.B) {
			c := cand.new(benchSize)
			fill(c)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c.put(keys[i%len(keys)], i, exp, t0)
			}
		})
		b.Run(cand.name+"/flood+hot", func(b *testing.B) {
			c := cand.new(benchSize)
			fill(c)
			var tries, hits int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%32 == 31 {
					tries++
					if _, ok := c.get(hot[(i/32)%len(hot)], t0); ok {
						hits++
					}
					continue
				}
				c.put(keys[i%len(keys)], i, exp, t0)
			}
			b.ReportMetric(100*float64(hits)/float64(max(tries, 1)), "hot-hit-%")
		})
		b.Run(cand.name+"/flood-idle", func(b *testing.B) {
			kept := 0
			for range b.N {
				c := cand.new(benchSize)
				for _, k := range hot {
					c.put(k, 1, exp, t0)
					for range 3 {
						c.get(k, t0)
					}
				}
				for i := range 4 * benchSize {
					c.put(keys[i], i, exp, t0)
				}
				for _, k := range hot {
					if _, ok := c.get(k, t0); ok {
						kept++
					}
				}
			}
			b.ReportMetric(100*float64(kept)/float64(b.N*len(hot)), "hot-kept-%")
		})
	}
}

// TestCandidates checks the candidates are caches at all: bounded, a put
// key is found, an expired one is not.
func TestCandidates(t *testing.T) {
	for _, cand := range candidates {
		t.Run(cand.name, func(t *testing.T) {
			c := cand.new(64)
			c.put("a", 1, at(time.Minute), t0)
			if v, ok := c.get("a", t0); !ok || v != 1 {
				t.Errorf("get(a) = %d, %v", v, ok)
			}
			if _, ok := c.get("a", at(time.Minute)); ok {
				t.Error("expired entry found")
			}
			for i := range 1000 {
				c.put(fmt.Sprint(i), i, at(time.Minute), t0)
			}
			found := 0
			for i := range 1000 {
				if _, ok := c.get(fmt.Sprint(i), t0); ok {
					found++
				}
			}
			if found > 64 {
				t.Errorf("%d keys found in a cache of 64", found)
			}
		})
	}
}

type sampledCandidate struct{ m *Map[string, int] }

func (c sampledCandidate) get(k string, now time.Time) (int, bool) { return c.m.Get(k, now) }
func (c sampledCandidate) put(k string, v int, exp, now time.Time) { c.m.Put(k, v, exp, now) }

// randomCache drops a uniformly random entry when full.
type randomCache struct {
	mu    sync.RWMutex
	index map[string]int32
	slots []slot[string, int]
	size  int
}

func newRandomCache(size int) *randomCache {
	return &randomCache{index: make(map[string]int32), size: size}
}

func (c *randomCache) get(k string, now time.Time) (int, bool) {
	c.mu.RLock()
	if i, ok := c.index[k]; ok && alive(c.slots[i].exp, now.UnixNano()) {
		v := c.slots[i].val
		c.mu.RUnlock()
		return v, true
	}
	c.mu.RUnlock()
	return 0, false
}

func (c *randomCache) put(k string, v int, exp, _ time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[k]
	if !ok {
		if len(c.slots) < c.size {
			c.slots = append(c.slots, slot[string, int]{})
			i = int32(len(c.slots) - 1)
		} else {
			i = int32(rand.IntN(len(c.slots)))
			delete(c.index, c.slots[i].key)
		}
		c.index[k] = i
	}
	c.slots[i] = slot[string, int]{key: k, val: v, exp: exp.UnixNano()}
}

// clockCache is CLOCK: a hit sets the entry's bit; to make room, the hand
// takes the first entry that has expired or has its bit clear, clearing
// the bits it passes.
type clockCache struct {
	mu    sync.RWMutex
	index map[string]int32
	slots []clockSlot
	hand  int
	size  int
}

type clockSlot struct {
	key string
	val int
	exp int64
	ref uint32
}

func newClockCache(size int) *clockCache {
	return &clockCache{index: make(map[string]int32), size: size}
}

func (c *clockCache) get(k string, now time.Time) (int, bool) {
	c.mu.RLock()
	if i, ok := c.index[k]; ok {
		s := &c.slots[i]
		if alive(s.exp, now.UnixNano()) {
			if atomic.LoadUint32(&s.ref) == 0 {
				atomic.StoreUint32(&s.ref, 1)
			}
			v := s.val
			c.mu.RUnlock()
			return v, true
		}
	}
	c.mu.RUnlock()
	return 0, false
}

func (c *clockCache) put(k string, v int, exp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[k]
	if !ok {
		if len(c.slots) < c.size {
			c.slots = append(c.slots, clockSlot{})
			i = int32(len(c.slots) - 1)
		} else {
			n := now.UnixNano()
			for {
				s := &c.slots[c.hand]
				if !alive(s.exp, n) || s.ref == 0 {
					break
				}
				s.ref = 0
				c.hand = (c.hand + 1) % len(c.slots)
			}
			i = int32(c.hand)
			c.hand = (c.hand + 1) % len(c.slots)
			delete(c.index, c.slots[i].key)
		}
		c.index[k] = i
	}
	c.slots[i] = clockSlot{key: k, val: v, exp: exp.UnixNano()}
}

// lruCache is an LRU in 16 shards, each a map and a doubly linked list
// over a slice (no allocation per entry), under a mutex: a hit moves the
// entry to the front, so it takes the shard's lock for writing.
type lruCache struct {
	seed   maphash.Seed
	shards [16]lruShard
}

type lruShard struct {
	mu         sync.Mutex
	index      map[string]int32
	nodes      []lruNode
	head, tail int32 // most and least recently used; -1 when empty
	size       int
}

type lruNode struct {
	key        string
	val        int
	exp        int64
	prev, next int32
}

func newLRUCache(size int) *lruCache {
	c := &lruCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i] = lruShard{index: make(map[string]int32), head: -1, tail: -1, size: max(size/len(c.shards), 1)}
	}
	return c
}

func (c *lruCache) shard(k string) *lruShard {
	return &c.shards[maphash.String(c.seed, k)%uint64(len(c.shards))]
}

func (c *lruCache) get(k string, now time.Time) (int, bool) {
	s := c.shard(k)
	s.mu.Lock()
	i, ok := s.index[k]
	if !ok || !alive(s.nodes[i].exp, now.UnixNano()) {
		s.mu.Unlock()
		return 0, false
	}
	s.unlink(i)
	s.pushFront(i)
	v := s.nodes[i].val
	s.mu.Unlock()
	return v, true
}

func (c *lruCache) put(k string, v int, exp, _ time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[k]
	switch {
	case ok:
		s.unlink(i)
	case len(s.nodes) < s.size:
		s.nodes = append(s.nodes, lruNode{})
		i = int32(len(s.nodes) - 1)
	default:
		i = s.tail
		s.unlink(i)
		delete(s.index, s.nodes[i].key)
	}
	s.index[k] = i
	s.nodes[i] = lruNode{key: k, val: v, exp: exp.UnixNano()}
	s.pushFront(i)
}

func (s *lruShard) unlink(i int32) {
	n := &s.nodes[i]
	if n.prev >= 0 {
		s.nodes[n.prev].next = n.next
	} else {
		s.head = n.next
	}
	if n.next >= 0 {
		s.nodes[n.next].prev = n.prev
	} else {
		s.tail = n.prev
	}
}

func (s *lruShard) pushFront(i int32) {
	n := &s.nodes[i]
	n.prev, n.next = -1, s.head
	if s.head >= 0 {
		s.nodes[s.head].prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}
