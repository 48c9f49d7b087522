package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/audexum/auth/dpop"
)

// DPoPReplays is a [dpop.ReplayStore] on the database (table
// dpop_proofs), for a fleet of resource servers and authorization
// servers that must accept each DPoP proof once in all: a proof replayed
// to another instance is refused there too. Get it from
// [Store.DPoPReplays]; it is safe for concurrent use.
//
// Each ClaimProof is one atomic statement, an insert that replaces only an
// expired row (INSERT … ON CONFLICT … DO UPDATE … WHERE), so of concurrent
// claims of one proof, from any number of processes, exactly one wins.
// Rows of expired proofs are deleted in bounded batches by the claims
// themselves (see [DPoPReplays.Sweep]), so the table holds about the
// proofs of the last two windows.
//
// It costs one database write per DPoP request: on a single instance, or
// on SQLite (one writer at a time), the Checker's default in-memory cache
// serves better.
type DPoPReplays struct {
	s       *Store
	claims  atomic.Uint64
	running atomic.Bool
}

var _ dpop.ReplayStore = (*DPoPReplays)(nil)

// DPoPReplays returns the store of accepted DPoP proofs.
func (s *Store) DPoPReplays() *DPoPReplays { return &DPoPReplays{s: s} }

const (
	// dpopClaim inserts the proof, or takes over a row that has expired;
	// a row that has not is left alone and no row is affected.
	dpopClaim = `INSERT INTO dpop_proofs (id, expires_at) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE dpop_proofs.expires_at <= $3`
	// dpopSweepEvery: one claim in this many also sweeps.
	dpopSweepEvery = 64
	// dpopSweepBatch bounds the rows one sweep deletes: more than the
	// claims between two sweeps, so the table does not grow.
	dpopSweepBatch = 500
)

// ClaimProof implements [dpop.ReplayStore] with one statement. One claim
// in 64 then also deletes a bounded batch of expired rows; an error of
// that sweep goes to [Config.OnError] and does not fail the claim.
func (r *DPoPReplays) ClaimProof(ctx context.Context, key dpop.ReplayKey, now, expiresAt time.Time) (bool, error) {
	st, err := r.s.stmt(ctx, dpopClaim)
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim DPoP proof: %w", err)
	}
	res, err := st.ExecContext(ctx, key[:], micros(expiresAt), micros(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim DPoP proof: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim DPoP proof: %w", err)
	}
	if r.claims.Add(1)%dpopSweepEvery == 0 && r.running.CompareAndSwap(false, true) {
		_, serr := r.Sweep(ctx, now)
		r.running.Store(false)
		if serr != nil && r.s.onError != nil {
			r.s.onError(serr)
		}
	}
	return n == 1, nil
}

// Sweep deletes up to 500 rows of proofs that expired before now and
// returns how many it deleted. Claims call it on their own. On PostgreSQL
// it skips rows other transactions hold, so it never waits for a claim.
func (r *DPoPReplays) Sweep(ctx context.Context, now time.Time) (int, error) {
	q := `DELETE FROM dpop_proofs WHERE id IN (SELECT id FROM dpop_proofs WHERE expires_at <= $1 LIMIT ` + strconv.Itoa(dpopSweepBatch)
	if r.s.dialect == Postgres {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := r.s.db.ExecContext(ctx, q+`)`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: sweep DPoP proofs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: sweep DPoP proofs: %w", err)
	}
	return int(n), nil
}
