package dbtest

import (
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth/dpop"
)

func randomReplayKey() dpop.ReplayKey {
	var k dpop.ReplayKey
	rand.Read(k[:])
	return k
}

// Two instances on one database accept a DPoP proof once in all: the
// second claim, on either, is refused until the proof expires, and then
// the row is taken over.
func TestDPoPReplayShared(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		a, b := st[0].DPoPReplays(), st[1].DPoPReplays()
		k := randomReplayKey()
		exp := t0.Add(2 * time.Minute)
		for i, tc := range []struct {
			now  time.Time
			want bool
		}{
			{t0, true},
			{t0.Add(time.Second), false},
			{exp.Add(-time.Microsecond), false},
			// Expired: the proof's iat no longer passes, so the row may
			// go to a new claim.
			{exp, true},
		} {
			var s dpop.ReplayStore = a
			if i%2 == 1 {
				s = b
			}
			got, err := s.ClaimProof(t.Context(), k, tc.now, exp)
			if err != nil || got != tc.want {
				t.Errorf("claim %d at %v: got %v, %v, want %v", i, tc.now.Sub(t0), got, err, tc.want)
			}
		}
	})
}

// Of many concurrent claims of one proof, spread over two instances,
// exactly one wins.
func TestDPoPReplayConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		for round := range 5 {
			k := randomReplayKey()
			var wins atomic.Int32
			errs := race(func(i int) error {
				ok, err := st[i%2].DPoPReplays().ClaimProof(t.Context(), k, t0, t0.Add(time.Minute))
				if ok {
					wins.Add(1)
				}
				return err
			})
			for _, err := range errs {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
			if n := wins.Load(); n != 1 {
				t.Fatalf("round %d: %d claims won, want 1", round, n)
			}
		}
	})
}

// Expired proofs are swept in batches by the claims themselves, so the
// table does not grow with traffic.
func TestDPoPReplaySweep(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		r := s.DPoPReplays()
		for i := range 300 {
			if ok, err := r.ClaimProof(t.Context(), randomReplayKey(), t0, t0.Add(time.Minute)); !ok || err != nil {
				t.Fatalf("claim %d: %v, %v", i, ok, err)
			}
		}
		count := func() int {
			var n int
			if err := db.open(t).QueryRow(`SELECT COUNT(*) FROM dpop_proofs`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// An hour later the 300 have expired: the claims that follow
		// sweep them on their way (one claim in 64 sweeps).
		later := t0.Add(time.Hour)
		for i := range 64 {
			if ok, err := r.ClaimProof(t.Context(), randomReplayKey(), later, later.Add(time.Minute)); !ok || err != nil {
				t.Fatalf("claim %d: %v, %v", i, ok, err)
			}
		}
		if n := count(); n != 64 {
			t.Errorf("after the sweeping claims: %d rows, want only the 64 live ones", n)
		}
		if n, err := r.Sweep(t.Context(), later.Add(2*time.Minute)); n != 64 || err != nil {
			t.Errorf("Sweep: %d, %v", n, err)
		}
	})
}
