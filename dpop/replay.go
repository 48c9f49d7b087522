package dpop

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/audexum/auth/internal/cache"
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
// share (the sqlstore package's Store.DPoPReplays on PostgreSQL), at the
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
// 8 000 DPoP requests a second per instance, in about 60 MB at most.
const DefaultReplayCacheSize = 1 << 20

// replayShards spreads the cache over locks, so concurrent requests do not
// queue on one mutex.
const replayShards = 16

// MemoryReplayCache is a [ReplayStore] in this process's memory. It is
// bounded: it holds at most its size of proofs, and never forgets an
// unexpired one to make room. When it is full of unexpired proofs it
// refuses new ones with [ErrReplayCacheFull] (the Checker then answers
// 503) rather than forget a proof that could still be replayed. An
// expired proof's room is reused: a full cache finds one among 8 drawn
// at random, and drops every expired proof at most once a second. The
// zero value is not usable; call [NewMemoryReplayCache]. It is safe for
// concurrent use.
type MemoryReplayCache struct {
	// Keyed by the first 8 bytes of the ReplayKey, spread by its ninth;
	// each refuses new keys when full of live ones (internal/cache).
	shards [replayShards]*cache.Map[uint64, struct{}]
}

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
		c.shards[i] = cache.NewRefusing[uint64, struct{}](size / replayShards)
	}
	return c, nil
}

// ClaimProof implements [ReplayStore]. The key is a SHA-256 output, so
// its first 8 bytes are as good a map key as all 32: telling two proofs
// apart by 64 bits errs, if ever, by refusing one, never by accepting a
// replay (a replay has the same key).
func (c *MemoryReplayCache) ClaimProof(_ context.Context, key ReplayKey, now, expiresAt time.Time) (bool, error) {
	fresh := false
	ok := c.shards[key[8]%replayShards].Update(binary.LittleEndian.Uint64(key[:8]), now, func(_ *struct{}, expires time.Time, seen bool) time.Time {
		if seen {
			return expires
		}
		// Claimed: remembered until expiresAt, or not at all if that has
		// passed.
		fresh = true
		if !expiresAt.After(now) {
			return now
		}
		return expiresAt
	})
	if !ok {
		return false, ErrReplayCacheFull
	}
	return fresh, nil
}

// Len returns the number of proofs held, expired ones not yet swept
// included: export it as a gauge beside the cache's size, since a full
// cache answers 503 until proofs expire.
func (c *MemoryReplayCache) Len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}
