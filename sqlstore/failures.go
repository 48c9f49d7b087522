package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults for [FailureRecorderConfig].
const (
	DefaultFailureFlushInterval = 10 * time.Second
	DefaultFailureMaxPending    = 10_000
	DefaultFailureFlushTimeout  = 10 * time.Second
	DefaultFailureRetention     = 90 * 24 * time.Hour
)

// overflowReason is the reason failures are counted under when a
// [FailureRecorder] already holds MaxPending distinct counts. Not
// exported: nothing outside compares with it, and the docs of
// MaxPending spell the value out for readers of the audit trail.
const overflowReason = "overflow"

// RecentFailuresKept is how many of the latest failures of each
// credential [FailureRecorder.RecordFrom] keeps, in memory between flushes
// and in the database: the most [AuditLog.RecentFailures] returns,
// whatever limit its caller (a portal's page of a credential's recent
// failures) asks for.
const RecentFailuresKept = 50

// maxNetworkLength bounds the stored network text: an IPv6 prefix in its
// longest form is 43 bytes.
const maxNetworkLength = 64

// FailureRecorderConfig configures a [FailureRecorder].
type FailureRecorderConfig struct {
	// Interval is how often pending counts are written. If zero,
	// DefaultFailureFlushInterval (10 s).
	Interval time.Duration
	// MaxPending bounds the distinct (minute, key ID, reason) counts held
	// between flushes, and kept when the database cannot take them. Past
	// it, failures of new combinations are counted under
	// ([UnknownKeyID], reason "overflow"). If zero,
	// DefaultFailureMaxPending (10 000).
	MaxPending int
	// FlushTimeout bounds each write, including the last one in Close.
	// If zero, DefaultFailureFlushTimeout (10 s).
	FlushTimeout time.Duration
	// Retention is how long failure counts and recent failures are
	// kept: after each flush, up to 1000 older rows of each are deleted
	// ([AuditLog.PruneFailures]). If zero, DefaultFailureRetention (90
	// days).
	Retention time.Duration
	// Now returns the current time, which picks the minute of a failure.
	// If nil, time.Now.
	Now func() time.Time
	// OnError, if set, receives the errors of background flushes. The
	// counts of a failed flush are kept (up to MaxPending) and written
	// with the next one.
	OnError func(error)
}

// FailureRecorder counts failed authentications in memory, per minute, key
// ID and reason, and adds the counts to the audit trail
// ([AuditLog.AddFailures]) every Interval and on Close: the request path
// only increments a counter under a mutex, and never waits for the
// database; the database gets one row per minute, key and reason, never
// one per failure. Create one with [Store.NewFailureRecorder]; it is safe
// for concurrent use.
type FailureRecorder struct {
	log     *AuditLog
	max     int
	keep    time.Duration
	now     func() time.Time
	p       *periodic  // the flush loop
	flushMu sync.Mutex // one flush at a time
	mu      sync.Mutex
	pending map[failureKey]int64
	recent  map[string][]RecentFailure // per key ID, oldest first, at most RecentFailuresKept
	closed  bool
}

type failureKey struct {
	minute        int64 // Unix microseconds of the minute's start
	keyID, reason string
}

// NewFailureRecorder starts a FailureRecorder writing to the Store's audit
// trail. Close it to stop it and write what it holds. It fails with an
// error wrapping [ErrInvalidConfig] for negative settings.
func (s *Store) NewFailureRecorder(cfg FailureRecorderConfig) (*FailureRecorder, error) {
	if cfg.Interval < 0 || cfg.MaxPending < 0 || cfg.FlushTimeout < 0 || cfg.Retention < 0 {
		return nil, fmt.Errorf("%w: negative FailureRecorderConfig setting", ErrInvalidConfig)
	}
	r := &FailureRecorder{
		log:     s.AuditLog(),
		max:     cfg.MaxPending,
		keep:    cfg.Retention,
		now:     cfg.Now,
		pending: make(map[failureKey]int64),
		recent:  make(map[string][]RecentFailure),
	}
	if r.max == 0 {
		r.max = DefaultFailureMaxPending
	}
	if r.keep == 0 {
		r.keep = DefaultFailureRetention
	}
	if r.now == nil {
		r.now = time.Now
	}
	interval := cfg.Interval
	if interval == 0 {
		interval = DefaultFailureFlushInterval
	}
	r.p = startPeriodic(interval, cmp.Or(cfg.FlushTimeout, DefaultFailureFlushTimeout), r.Flush, cfg.OnError)
	return r, nil
}

// Record counts one failure of keyID (use [UnknownKeyID] unless the
// failure shows the key exists) for reason, in the current minute. Both
// must come from bounded sets: each distinct pair is a row per minute. It
// never blocks on the database. After Close it does nothing.
func (r *FailureRecorder) Record(keyID, reason string) {
	t := r.now().UnixMicro()
	minute := t - t%int64(time.Minute/time.Microsecond)
	k := failureKey{minute, keyID, reason}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.add(k, 1)
}

// RecordFrom is [FailureRecorder.Record] for a failure from the given
// client network (an IPv4 address or an IPv6 /64, as text): if keyID names
// a credential (it is not [UnknownKeyID]), the failure is also kept among
// that credential's latest ([AuditLog.RecentFailures]), with its time,
// reason and network, never the credential presented. Per credential, the
// latest [RecentFailuresKept] are kept; details of more than MaxPending
// credentials between two flushes are dropped (their counts are not).
func (r *FailureRecorder) RecordFrom(keyID, reason, network string) {
	now := r.now()
	t := now.UnixMicro()
	minute := t - t%int64(time.Minute/time.Microsecond)
	k := failureKey{minute, keyID, reason}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.add(k, 1)
	if keyID == "" || keyID == UnknownKeyID {
		return
	}
	r.addRecent(keyID, RecentFailure{At: fromMicros(t), Reason: reason, Network: network})
}

// addRecent keeps f among the latest failures of id. r.mu is held.
func (r *FailureRecorder) addRecent(id string, f RecentFailure) {
	list, ok := r.recent[id]
	if !ok {
		if len(r.recent) >= r.max {
			return
		}
		id = strings.Clone(id)
	}
	if len(list) >= RecentFailuresKept {
		list = append(list[:0], list[len(list)-RecentFailuresKept+1:]...)
	}
	r.recent[id] = append(list, f)
}

// add counts n for k, or under the overflow row when full. r.mu is held.
func (r *FailureRecorder) add(k failureKey, n int64) {
	if _, ok := r.pending[k]; !ok && len(r.pending) >= r.max {
		k.keyID, k.reason = UnknownKeyID, overflowReason
	}
	r.pending[k] += n
}

// Pending returns the number of distinct counts not yet written.
func (r *FailureRecorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Flush writes the pending counts now, then deletes a bounded batch of
// counts older than Retention. On error the counts stay pending (up to
// MaxPending) for the next flush.
func (r *FailureRecorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	batch, recent := r.pending, r.recent
	r.pending = make(map[failureKey]int64, len(batch))
	r.recent = make(map[string][]RecentFailure, len(recent))
	r.mu.Unlock()
	if len(batch) == 0 && len(recent) == 0 {
		return nil
	}
	if err := r.write(ctx, batch); err != nil {
		r.restoreRecent(recent)
		return err
	}
	if err := r.log.addRecentFailures(ctx, recent); err != nil {
		r.restoreRecent(recent)
		return err
	}
	before := r.now().Add(-r.keep)
	_, err := r.log.PruneFailures(ctx, before)
	if err == nil {
		_, err = r.log.pruneRecentFailures(ctx, before)
	}
	return err
}

// restoreRecent puts back the latest failures a flush did not write,
// keeping the newest within the bounds.
func (r *FailureRecorder) restoreRecent(recent map[string][]RecentFailure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, list := range recent {
		newer := r.recent[id]
		delete(r.recent, id)
		for _, f := range list {
			r.addRecent(id, f)
		}
		for _, f := range newer {
			r.addRecent(id, f)
		}
	}
}

// write adds batch to the table, or puts it back.
func (r *FailureRecorder) write(ctx context.Context, batch map[failureKey]int64) error {
	counts := make([]FailureCount, 0, len(batch))
	for k, n := range batch {
		counts = append(counts, FailureCount{Minute: fromMicros(k.minute), KeyID: k.keyID, Reason: k.reason, Count: n})
	}
	err := r.log.AddFailures(ctx, counts)
	if err != nil {
		// AddFailures is one transaction: nothing was written, so
		// everything goes back, overflow rows last so the others keep
		// their own rows if they fit.
		r.mu.Lock()
		for k, n := range batch {
			if k.reason != overflowReason {
				r.add(k, n)
			}
		}
		for k, n := range batch {
			if k.reason == overflowReason {
				r.add(k, n)
			}
		}
		r.mu.Unlock()
	}
	return err
}

// Close stops the periodic flushes, writes the pending counts (within
// FlushTimeout) and returns that write's error. Later Records are
// dropped. Close is idempotent; later calls return nil.
func (r *FailureRecorder) Close() error {
	if !r.p.halt() {
		return nil
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.p.flushNow()
}
