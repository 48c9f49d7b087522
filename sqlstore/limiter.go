package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/audexum/auth"
)

// Limits is an [auth.Limits] on the database (table rate_limits), for a
// fleet of instances that must share limits: a [auth.Throttle] given the
// Limits of a Store on PostgreSQL sees the failures recorded by every
// instance on the same database. Get it from [Store.Limits]; it is safe
// for concurrent use.
//
// Windows are fixed and aligned to the Unix epoch (a one-minute window
// runs from one whole minute to the next), so all instances agree on them
// without talking to each other; their clocks should agree to well within
// a window. Each Add is one atomic upsert (INSERT … ON CONFLICT … DO
// UPDATE … RETURNING), so concurrent Adds from any number of processes
// count exactly; each Count is one SELECT. Rows of ended windows are
// deleted in bounded batches by the Adds that start new windows (see
// [Limits.Sweep]), so the table holds about one row per key active in the
// current window, whatever the traffic.
//
// On SQLite the Limits works the same, but every Add is a write, and
// SQLite has one writer at a time: prefer [auth.NewMemoryLimiter] for a
// single process on SQLite.
type Limits struct {
	s *Store
	// newRows counts Adds that started a window; every sweepEvery-th
	// sweeps.
	newRows  atomic.Uint64
	sweeping atomic.Bool
}

var _ auth.Limiter = (*Limits)(nil)

// Limits returns the database limiter of the Store.
func (s *Store) Limits() *Limits { return &Limits{s: s} }

const (
	// limiterSweepBatch bounds the rows one sweep deletes.
	limiterSweepBatch = 200
	// sweepEvery: one Add in this many that start a window also sweeps.
	// A sweep deletes up to limiterSweepBatch rows, so deletion outpaces
	// creation (200 per 16 new rows) while there are ended windows, at
	// the cost of one extra statement for one new window in 16.
	sweepEvery = 16
	// maxLimiterKey is the longest key stored as it is; longer ones (or
	// ones that are not storable text) are stored as their SHA-256, so a
	// caller cannot make index entries large.
	maxLimiterKey = 200
)

const (
	limiterAdd = `INSERT INTO rate_limits (key, window_start, window_end, n) VALUES ($1, $2, $3, 1)
ON CONFLICT (key, window_start) DO UPDATE SET n = rate_limits.n + 1
RETURNING n`
	limiterCount = `SELECT n FROM rate_limits WHERE key = $1 AND window_start = $2`
)

// window returns the start and end, in microseconds, of the window of
// length w that contains now.
func window(w time.Duration, now time.Time) (start, end int64, err error) {
	wu := w.Microseconds()
	if wu <= 0 {
		return 0, 0, fmt.Errorf("%w: limiter window %v is shorter than a microsecond", ErrInvalidConfig, w)
	}
	t := now.UnixMicro()
	start = t - t%wu
	if t < 0 && t%wu != 0 {
		start -= wu
	}
	return start, start + wu, nil
}

// limiterKey returns the stored key: the window length in microseconds,
// a colon and the caller's key, so one key counted in windows of two
// lengths has two counts even where the windows start together.
func limiterKey(key string, w time.Duration) string {
	prefix := strconv.FormatInt(w.Microseconds(), 10) + ":"
	if len(key) <= maxLimiterKey && storable(key) {
		return prefix + key
	}
	sum := sha256.Sum256([]byte(key))
	return prefix + "sha256:" + hex.EncodeToString(sum[:])
}

// Count implements [auth.Limiter] with one SELECT.
func (l *Limits) Count(ctx context.Context, key string, w time.Duration, now time.Time) (int, time.Duration, error) {
	start, end, err := window(w, now)
	if err != nil {
		return 0, 0, err
	}
	reset := time.Duration(end-now.UnixMicro()) * time.Microsecond
	st, err := l.s.stmt(ctx, limiterCount)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: limiter count: %w", err)
	}
	var n int64
	switch err := st.QueryRowContext(ctx, limiterKey(key, w), start).Scan(&n); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, reset, nil
	case err != nil:
		return 0, 0, fmt.Errorf("sqlstore: limiter count: %w", err)
	}
	return int(n), reset, nil
}

// Add implements [auth.Limiter] with one upsert. One Add in sweepEvery
// that starts a window then also deletes a bounded batch of ended windows
// ([Limits.Sweep]); an error of that sweep goes to [Config.OnError] and
// does not fail the Add.
func (l *Limits) Add(ctx context.Context, key string, w time.Duration, now time.Time) (int, time.Duration, error) {
	start, end, err := window(w, now)
	if err != nil {
		return 0, 0, err
	}
	st, err := l.s.stmt(ctx, limiterAdd)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: limiter add: %w", err)
	}
	var n int64
	if err := st.QueryRowContext(ctx, limiterKey(key, w), start, end).Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("sqlstore: limiter add: %w", err)
	}
	if n == 1 && l.newRows.Add(1)%sweepEvery == 0 && l.sweeping.CompareAndSwap(false, true) {
		// One sweep at a time per Limiter: concurrent Adds would only
		// compete for the same rows.
		_, serr := l.Sweep(ctx, now)
		l.sweeping.Store(false)
		if serr != nil && l.s.onError != nil {
			l.s.onError(serr)
		}
	}
	return int(n), time.Duration(end-now.UnixMicro()) * time.Microsecond, nil
}

// Sweep deletes up to 200 rows of windows that ended before now and
// returns how many it deleted. Adds call it on their own; call it from a
// janitor to empty the table faster. On PostgreSQL it skips rows other
// transactions hold, so it never waits for an Add.
func (l *Limits) Sweep(ctx context.Context, now time.Time) (int, error) {
	q := `DELETE FROM rate_limits WHERE (key, window_start) IN (SELECT key, window_start FROM rate_limits
WHERE window_end <= $1 LIMIT ` + strconv.Itoa(limiterSweepBatch)
	if l.s.dialect == Postgres {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := l.s.db.ExecContext(ctx, q+`)`, now.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: limiter sweep: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: limiter sweep: %w", err)
	}
	return int(n), nil
}
