package dpop_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth/dpop"
)

func replayKey(i uint64) dpop.ReplayKey {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	return dpop.ReplayKey(sha256.Sum256(b[:]))
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestReplayCacheBounded sends 1 000 000 distinct proofs through a cache
// of 65 536, at 1 000 proofs a second of fake time (1 000 s), each remembered for
// two minutes (a one-minute window): the cache holds at most its size,
// refuses with ErrReplayCacheFull rather than forget a live proof, lets
// proofs in again as old ones expire, and its memory stays bounded by its
// size, not by the traffic.
func TestReplayCacheBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("1 000 000 proofs")
	}
	const size, total, perSecond = 1 << 16, 1_000_000, 1_000
	c, err := dpop.NewMemoryReplayCache(size)
	if err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	var accepted, full int
	var peak uint64
	for i := uint64(0); i < total; i++ {
		now := t0.Add(time.Duration(i) * time.Second / perSecond)
		fresh, err := c.ClaimProof(t.Context(), replayKey(i), now, now.Add(2*time.Minute))
		switch {
		case errors.Is(err, dpop.ErrReplayCacheFull):
			full++
		case err != nil || !fresh:
			t.Fatalf("proof %d: %v, %v", i, fresh, err)
		default:
			accepted++
		}
		if i%100_000 == 0 {
			if n := c.Len(); n > size {
				t.Fatalf("after %d proofs: %d held, want at most %d", i, n, size)
			}
			if h := heapInUse(); h > peak {
				peak = h
			}
		}
	}
	// 1 000 a second for two minutes is 120 000 live proofs, more
	// than fit: many were refused, and more got in as others
	// expired.
	if full == 0 || accepted <= size {
		t.Errorf("accepted %d, refused %d: want refusals, and more accepted than the size", accepted, full)
	}
	grown := int64(peak) - int64(before)
	t.Logf("accepted %d, refused %d, heap grew by %d KB for %d entries", accepted, full, grown/1024, size)
	// A map entry is 16 bytes plus overhead; 200 bytes each is a
	// generous bound that an unbounded cache (a million entries) would
	// break many times over.
	if grown > 200*size {
		t.Errorf("heap grew by %d bytes, want under %d", grown, 200*size)
	}
}

// TestReplayCacheExpiry: a proof is refused while remembered and may be
// claimed again once expired (it could not pass the iat check by then
// anyway).
func TestReplayCacheExpiry(t *testing.T) {
	c, err := dpop.NewMemoryReplayCache(0)
	if err != nil {
		t.Fatal(err)
	}
	k := replayKey(1)
	exp := t0.Add(time.Minute)
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{t0, true}, {t0, false}, {t0.Add(59 * time.Second), false}, {exp, true},
	} {
		if got, err := c.ClaimProof(t.Context(), k, tc.now, exp); got != tc.want || err != nil {
			t.Errorf("at %v: got %v, %v, want %v", tc.now.Sub(t0), got, err, tc.want)
		}
	}
	if _, err := dpop.NewMemoryReplayCache(-1); !errors.Is(err, dpop.ErrInvalidConfig) {
		t.Errorf("negative size: got %v", err)
	}
}

// TestReplayCacheConcurrent: of many concurrent claims of one proof,
// exactly one wins.
func TestReplayCacheConcurrent(t *testing.T) {
	c, err := dpop.NewMemoryReplayCache(1024)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(50) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if ok, err := c.ClaimProof(t.Context(), replayKey(i), t0, t0.Add(time.Minute)); ok && err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("proof %d: %d claims won, want 1", i, n)
		}
	}
}
