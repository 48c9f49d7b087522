package dpop

import (
	"context"
	"encoding/binary"
	"sync"
	"time"
)

// ReplayKey identifies one accepted proof: the SHA-256 of the proof key's
// thumbprint and the proof's "jti". Two clients cannot collide on a jti,
// and a key of fixed size keeps a store's rows and a cache's entries
// small whatever the client put in "jti".
type ReplayKey [32]byte

// ReplayStore remembers the proofs a [Checker] has accepted, so that each
// is accepted once (RFC 9449 §11.1): a captured request replayed, proof
// and all, is refused.
//
// The [MemoryReplayCache] serves one instance. Instances of a fleet behind
// a load balancer each see only their own requests, so a proof replayed to
// another instance would pass its cache: give every instance a store they
// share (the sqlstore package's Store.DPoPReplay on PostgreSQL), at the
// cost of one write per DPoP request.
//
// Implementations must be safe for concurrent use.
type ReplayStore interface {
	// ClaimProof records key until expiresAt and reports whether it was
	// new: false when key is already recorded with an expiry after now.
	// It must be one atomic step, so of concurrent claims of one key
	// exactly one returns true. An error means the answer is unknown;
	// the proof is then refused as unavailable (503), never accepted.
	ClaimProof(ctx context.Context, key ReplayKey, now, expiresAt time.Time) (bool, error)
}

// DefaultReplayCacheSize is the number of proofs a [MemoryReplayCache]
// remembers when its size is zero: with the default one-minute window, a
// proof is remembered for at most two minutes, so this serves a sustained
// 8 000 DPoP requests a second per instance, in about 40 MB at most.
const DefaultReplayCacheSize = 1 << 20

// replayShards spreads the cache over locks, so concurrent requests do not
// queue on one mutex.
const replayShards = 16

// MemoryReplayCache is a [ReplayStore] in this process's memory, bounded:
// it holds at most its size of unexpired proofs. When it is full it
// refuses new proofs with [ErrReplayCacheFull] (the Checker then answers
// 503) rather than forget a proof that could still be replayed; entries
// leave as they expire, swept in amortized constant time. The zero value
// is not usable; call [NewMemoryReplayCache]. It is safe for concurrent
// use.
type MemoryReplayCache struct {
	shards [replayShards]replayShard
}

type replayShard struct {
	mu      sync.Mutex
	m       map[uint64]int64 // key prefix → expiry, Unix nanoseconds
	max     int
	inserts int   // since the last sweep
	swept   int64 // when, Unix nanoseconds
}

// fullSweepGap is the least time between two sweeps of a full shard: a
// full cache refuses new proofs at the cost of a map lookup, not of a
// pass over the shard per request.
const fullSweepGap = int64(time.Second)

// NewMemoryReplayCache returns a cache that remembers at most size proofs
// (if zero, [DefaultReplayCacheSize]; at least 16).
func NewMemoryReplayCache(size int) (*MemoryReplayCache, error) {
	switch {
	case size < 0:
		return nil, configError("negative replay cache size")
	case size == 0:
		size = DefaultReplayCacheSize
	case size < replayShards:
		size = replayShards
	}
	c := &MemoryReplayCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]int64)
		c.shards[i].max = size / replayShards
	}
	return c, nil
}

// ClaimProof implements [ReplayStore]. The key is a SHA-256 output, so
// its first 8 bytes are as good a map key as all 32: telling two proofs
// apart by 64 bits errs, if ever, by refusing one, never by accepting a
// replay (a replay has the same key).
func (c *MemoryReplayCache) ClaimProof(_ context.Context, key ReplayKey, now, expiresAt time.Time) (bool, error) {
	k := binary.LittleEndian.Uint64(key[:8])
	s := &c.shards[key[8]%replayShards]
	n, exp := now.UnixNano(), expiresAt.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[k]; ok && e > n {
		return false, nil
	}
	switch {
	case len(s.m) >= s.max:
		if n-s.swept >= fullSweepGap {
			s.sweep(n)
		}
		if len(s.m) >= s.max {
			return false, ErrReplayCacheFull
		}
	case s.inserts >= max(len(s.m), 1024):
		// Sweeping costs one pass over the shard; doing it only after
		// as many inserts as the shard holds keeps it amortized O(1)
		// per insert.
		s.sweep(n)
	}
	s.m[k] = exp
	s.inserts++
	return true, nil
}

func (s *replayShard) sweep(now int64) {
	for k, e := range s.m {
		if e <= now {
			delete(s.m, k)
		}
	}
	s.inserts, s.swept = 0, now
}

// Len returns the number of proofs held, expired ones not yet swept
// included.
func (c *MemoryReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
