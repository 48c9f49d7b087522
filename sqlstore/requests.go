package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audexum/auth"
)

// Defaults for [RequestRecorderConfig].
const (
	DefaultRequestFlushInterval = 10 * time.Second
	DefaultRequestMaxPending    = 10_000
	DefaultRequestFlushTimeout  = 10 * time.Second
	// DefaultRequestRetention keeps a month of hourly counts and a day
	// more, for the 30 daily buckets of [AuditLog.DailyUsage].
	DefaultRequestRetention = 31 * 24 * time.Hour
)

// overflowCredentialID is the credential ID requests are counted under
// when a [RequestRecorder] already holds MaxPending distinct counts. Not
// exported: no credential has this ID (it is not one [UsageID] returns),
// so the usage queries of a credential never meet it.
const overflowCredentialID = "overflow"

// RequestCount is the number of successful authentications of one
// credential in one hour.
type RequestCount struct {
	// Hour is the start of the hour, UTC.
	Hour time.Time
	// CredentialID is what [UsageID] returns for the requests' principal.
	CredentialID string
	Count        int64
}

// UsageID returns the ID a principal's requests and failures are counted
// under, for [RequestRecorder.Record], [FailureRecorder.RecordFrom] and
// the queries of a credential's usage: the key ID for an API key, and the
// client ID for an access token of either grant, so an application's
// requests count together whatever token they carry. It returns "" for a
// nil principal or one without either.
func UsageID(p *auth.Principal) string {
	switch {
	case p == nil:
		return ""
	case p.Method == auth.MethodAPIKey:
		return p.CredentialID
	}
	return p.ClientID
}

// RequestRecorderConfig configures a [RequestRecorder].
type RequestRecorderConfig struct {
	// Interval is how often pending counts are written. If zero,
	// DefaultRequestFlushInterval (10 s).
	Interval time.Duration
	// MaxPending bounds the distinct (hour, credential) counts held
	// between flushes, and kept when the database cannot take them: past
	// it, requests of further credentials are counted under
	// the credential ID "overflow". If zero, DefaultRequestMaxPending
	// (10 000).
	MaxPending int
	// FlushTimeout bounds each write, including the last one in Close.
	// If zero, DefaultRequestFlushTimeout (10 s).
	FlushTimeout time.Duration
	// Retention is how long hourly counts are kept: after each flush, up
	// to 1000 older rows are deleted ([AuditLog.PruneRequests]). If zero,
	// DefaultRequestRetention (31 days).
	Retention time.Duration
	// Now returns the current time, which picks the hour of a request.
	// If nil, time.Now.
	Now func() time.Time
	// OnError, if set, receives the errors of background flushes. The
	// counts of a failed flush are kept (up to MaxPending) and written
	// with the next one.
	OnError func(error)
}

// RequestRecorder counts successful authentications in memory, per hour
// and credential, and adds the counts to table request_counts every
// Interval and on Close, as [FailureRecorder] does for failures: the
// request path only increments a counter under a mutex and never waits for
// the database, which gets one row per credential and hour. Create one
// with [Store.NewRequestRecorder]; it is safe for concurrent use.
type RequestRecorder struct {
	log     *AuditLog
	max     int
	keep    time.Duration
	now     func() time.Time
	p       *periodic  // the flush loop
	flushMu sync.Mutex // one flush at a time
	mu      sync.Mutex
	pending map[requestKey]int64
	closed  bool
}

type requestKey struct {
	hour int64 // Unix microseconds of the hour's start
	id   string
}

const hourMicros = int64(time.Hour / time.Microsecond)

// NewRequestRecorder starts a RequestRecorder writing to the Store. Close
// it to stop it and write what it holds. It fails with an error wrapping
// [ErrInvalidConfig] for negative settings.
func (s *Store) NewRequestRecorder(cfg RequestRecorderConfig) (*RequestRecorder, error) {
	if cfg.Interval < 0 || cfg.MaxPending < 0 || cfg.FlushTimeout < 0 || cfg.Retention < 0 {
		return nil, fmt.Errorf("%w: negative RequestRecorderConfig setting", ErrInvalidConfig)
	}
	r := &RequestRecorder{
		log:     s.AuditLog(),
		max:     cmp.Or(cfg.MaxPending, DefaultRequestMaxPending),
		keep:    cmp.Or(cfg.Retention, DefaultRequestRetention),
		now:     cfg.Now,
		pending: make(map[requestKey]int64),
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.p = startPeriodic(cmp.Or(cfg.Interval, DefaultRequestFlushInterval), cmp.Or(cfg.FlushTimeout, DefaultRequestFlushTimeout), r.Flush, cfg.OnError)
	return r, nil
}

// Record counts one successful authentication of credentialID (what
// [UsageID] returns for the principal) in the current hour. The IDs must
// be of credentials that exist (verified ones): each is a row per hour. An
// empty ID is not counted. It never blocks on the database. After Close
// it does nothing.
func (r *RequestRecorder) Record(credentialID string) {
	if credentialID == "" {
		return
	}
	t := r.now().UnixMicro()
	k := requestKey{t - t%hourMicros, credentialID}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.add(k, 1)
}

// add counts n for k, or under the overflow row when full. r.mu is held.
func (r *RequestRecorder) add(k requestKey, n int64) {
	if _, ok := r.pending[k]; !ok {
		if len(r.pending) >= r.max {
			k.id = overflowCredentialID
		} else {
			// The ID may point into a token's claims: the pending map
			// must not keep those alive until the flush.
			k.id = strings.Clone(k.id)
		}
	}
	r.pending[k] += n
}

// Pending returns the number of distinct counts not yet written.
func (r *RequestRecorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Flush writes the pending counts now, then deletes a bounded batch of
// counts older than Retention. On error the counts stay pending (up to
// MaxPending) for the next flush.
func (r *RequestRecorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[requestKey]int64, len(batch))
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	counts := make([]RequestCount, 0, len(batch))
	for k, n := range batch {
		counts = append(counts, RequestCount{Hour: fromMicros(k.hour), CredentialID: k.id, Count: n})
	}
	if err := r.log.AddRequests(ctx, counts); err != nil {
		// One transaction: nothing was written, so everything goes
		// back, overflow rows last so the others keep their own rows if
		// they fit.
		r.mu.Lock()
		for _, overflow := range []bool{false, true} {
			for k, n := range batch {
				if (k.id == overflowCredentialID) == overflow {
					r.add(k, n)
				}
			}
		}
		r.mu.Unlock()
		return err
	}
	_, err := r.log.PruneRequests(ctx, r.now().Add(-r.keep))
	return err
}

// Close stops the periodic flushes, writes the pending counts (within
// FlushTimeout) and returns that write's error. Later Records are
// dropped. Close is idempotent; later calls return nil.
func (r *RequestRecorder) Close() error {
	if !r.p.halt() {
		return nil
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.p.flushNow()
}

// requestChunk bounds the rows of one upsert statement (3 parameters
// each), well under both engines' parameter limits.
const requestChunk = 300

// AddRequests adds counts to the hourly request counts, in one
// transaction: each (credential, hour) is one row whose count grows,
// however many requests and flushes it takes. Hours are truncated; counts
// for the same row are summed first; counts ≤ 0 and empty or unstorable
// IDs are ignored. Credential IDs must come from a bounded set (verified
// credentials, see [RequestRecorder]).
func (a *AuditLog) AddRequests(ctx context.Context, counts []RequestCount) error {
	sum := make(map[requestKey]int64)
	for _, c := range counts {
		if c.Count <= 0 || c.CredentialID == "" || !storable(c.CredentialID) {
			continue
		}
		h := micros(c.Hour)
		sum[requestKey{h - h%hourMicros, c.CredentialID}] += c.Count
	}
	if len(sum) == 0 {
		return nil
	}
	keys := make([]requestKey, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	// Sorted, so two processes flushing overlapping rows lock them in the
	// same order and cannot deadlock.
	slices.SortFunc(keys, func(x, y requestKey) int {
		if c := strings.Compare(x.id, y.id); c != 0 {
			return c
		}
		switch {
		case x.hour < y.hour:
			return -1
		case x.hour > y.hour:
			return 1
		}
		return 0
	})
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(keys, requestChunk) {
			var q strings.Builder
			q.WriteString(`INSERT INTO request_counts (credential_id, hour, n) VALUES `)
			args := make([]any, 0, 3*len(chunk))
			for i, k := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				args = append(args, k.id, k.hour, sum[k])
				n := len(args)
				q.WriteString("($" + strconv.Itoa(n-2) + ", $" + strconv.Itoa(n-1) + ", $" + strconv.Itoa(n) + ")")
			}
			q.WriteString(` ON CONFLICT (credential_id, hour) DO UPDATE SET n = request_counts.n + excluded.n`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add request counts: %w", err)
	}
	return nil
}

// PruneRequests deletes up to 1000 request counts of hours that began
// before before, and returns how many it deleted. A [RequestRecorder]
// calls it after each flush with its Retention.
func (a *AuditLog) PruneRequests(ctx context.Context, before time.Time) (int, error) {
	q := `DELETE FROM request_counts WHERE (credential_id, hour) IN (SELECT credential_id, hour
FROM request_counts WHERE hour < $1 LIMIT ` + strconv.Itoa(pruneBatch)
	if a.s.dialect == Postgres {
		// Never waits for a flush holding the same rows.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := a.s.db.ExecContext(ctx, q+`)`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune request counts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune request counts: %w", err)
	}
	return int(n), nil
}
