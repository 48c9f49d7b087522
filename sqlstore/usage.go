package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RecentFailure is one failed authentication of a credential known to
// exist, as [AuditLog.RecentFailures] returns it: when, why and from where,
// never the credential that was presented.
type RecentFailure struct {
	At time.Time
	// Reason is the failure's reason label, as the recorder's caller gave
	// it ("secret_mismatch", "revoked", "throttled", …).
	Reason string
	// Network is the client network it came from: an IPv4 address or an
	// IPv6 /64, as the recorder's caller gave it.
	Network string
}

// UsageBucket is the traffic of one credential in one hour or one day.
type UsageBucket struct {
	// Start is the start of the hour or of the day (UTC midnight).
	Start time.Time
	// Requests is the number of successful authentications
	// ([RequestRecorder]).
	Requests int64
	// Failures is the number of failed ones by reason ([FailureRecorder]):
	// the reasons are the recorder caller's labels, so a refusal for too
	// many attempts is there under its label ("throttled" in the
	// reference server). Nil when there were none.
	Failures map[string]int64
}

// Usage ranges.
const (
	// HourlyBuckets is the number of buckets of [AuditLog.HourlyUsage]:
	// the last 24 hours.
	HourlyBuckets = 24
	// DailyBuckets is the number of buckets of [AuditLog.DailyUsage]:
	// the last 30 days.
	DailyBuckets = 30
)

// HourlyUsage returns the traffic of credentialID (an ID [UsageID]
// returns: an API key ID or a client ID) in the last 24 hours, one bucket
// per hour, oldest first: the last bucket is the hour now is in, so far.
// Every hour has its bucket, with zero counts when there was no traffic.
func (a *AuditLog) HourlyUsage(ctx context.Context, credentialID string, now time.Time) ([]UsageBucket, error) {
	return a.usage(ctx, credentialID, now, time.Hour, HourlyBuckets)
}

// DailyUsage is [AuditLog.HourlyUsage] for the last 30 days, one bucket
// per UTC day, the last one being today so far.
func (a *AuditLog) DailyUsage(ctx context.Context, credentialID string, now time.Time) ([]UsageBucket, error) {
	return a.usage(ctx, credentialID, now, 24*time.Hour, DailyBuckets)
}

// usage fills n buckets of length step, aligned to the Unix epoch (so
// days start at UTC midnight), the last one holding now.
func (a *AuditLog) usage(ctx context.Context, id string, now time.Time, step time.Duration, n int) ([]UsageBucket, error) {
	stepUS := int64(step / time.Microsecond)
	t := micros(now)
	last := t - t%stepUS
	first := last - int64(n-1)*stepUS
	end := last + stepUS
	out := make([]UsageBucket, n)
	for i := range out {
		out[i].Start = fromMicros(first + int64(i)*stepUS)
	}
	if id == "" || !storable(id) {
		return out, nil
	}
	rows, err := a.s.db.QueryContext(ctx, `SELECT hour, n FROM request_counts
WHERE credential_id = $1 AND hour >= $2 AND hour < $3`, id, first, end)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	for rows.Next() {
		var hour, count int64
		if err := rows.Scan(&hour, &count); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: usage: %w", err)
		}
		out[(hour-first)/stepUS].Requests += count
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	// Summed by the database: a month of one key's failures is up to
	// 43 200 minutes per reason, the answer at most n rows per reason.
	// The step is this package's constant, not input.
	bucket := `minute - minute % ` + strconv.FormatInt(stepUS, 10)
	rows, err = a.s.db.QueryContext(ctx, `SELECT `+bucket+`, reason, SUM(n) FROM audit_failures
WHERE key_id = $1 AND minute >= $2 AND minute < $3 GROUP BY `+bucket+`, reason`, id, first, end)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			start, count int64
			reason       string
		)
		if err := rows.Scan(&start, &reason, &count); err != nil {
			return nil, fmt.Errorf("sqlstore: usage: %w", err)
		}
		b := &out[(start-first)/stepUS]
		if b.Failures == nil {
			b.Failures = make(map[string]int64)
		}
		b.Failures[reason] += count
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	return out, nil
}

// RecentFailures returns the latest failures of credentialID (an ID
// [UsageID] returns), newest first, at most limit of them (and at most
// [RecentFailuresKept]).
func (a *AuditLog) RecentFailures(ctx context.Context, credentialID string, limit int) ([]RecentFailure, error) {
	limit = min(limit, RecentFailuresKept)
	if limit <= 0 || credentialID == "" || !storable(credentialID) {
		return []RecentFailure{}, nil
	}
	rows, err := a.s.db.QueryContext(ctx, `SELECT at, reason, network FROM recent_failures
WHERE credential_id = $1 ORDER BY at DESC, seq DESC LIMIT `+strconv.Itoa(limit), credentialID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recent failures: %w", err)
	}
	defer rows.Close()
	out := []RecentFailure{}
	for rows.Next() {
		var (
			f  RecentFailure
			at int64
		)
		if err := rows.Scan(&at, &f.Reason, &f.Network); err != nil {
			return nil, fmt.Errorf("sqlstore: recent failures: %w", err)
		}
		f.At = fromMicros(at)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: recent failures: %w", err)
	}
	return out, nil
}

// recentChunk bounds the rows of one insert (4 parameters each) and the
// credentials of one trim.
const recentChunk = 200

// addRecentFailures stores the latest failures of each credential of
// batch, then keeps only the newest RecentFailuresKept rows of each of
// those credentials: the table holds at most that many per credential,
// whatever the traffic.
func (a *AuditLog) addRecentFailures(ctx context.Context, batch map[string][]RecentFailure) error {
	if len(batch) == 0 {
		return nil
	}
	type row struct {
		id string
		f  RecentFailure
	}
	// Sorted, so concurrent flushes touch rows in the same order.
	ids := slices.Sorted(maps.Keys(batch))
	var rows []row
	for _, id := range ids {
		if !storable(id) {
			continue
		}
		for _, f := range batch[id] {
			if !storable(f.Reason) {
				f.Reason = "other"
			}
			if len(f.Network) > maxNetworkLength || !storable(f.Network) {
				f.Network = "unknown"
			}
			rows = append(rows, row{id, f})
		}
	}
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(rows, recentChunk) {
			var q strings.Builder
			q.WriteString(`INSERT INTO recent_failures (credential_id, at, reason, network) VALUES `)
			args := make([]any, 0, 4*len(chunk))
			for i, r := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				args = append(args, r.id, micros(r.f.At), r.f.Reason, r.f.Network)
				n := len(args)
				q.WriteString("($" + strconv.Itoa(n-3) + ", $" + strconv.Itoa(n-2) + ", $" + strconv.Itoa(n-1) + ", $" + strconv.Itoa(n) + ")")
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		for chunk := range slices.Chunk(ids, recentChunk) {
			args := make([]any, len(chunk))
			marks := make([]string, len(chunk))
			for i, id := range chunk {
				args[i], marks[i] = id, "$"+strconv.Itoa(i+1)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM recent_failures WHERE seq IN (
	SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY credential_id ORDER BY at DESC, seq DESC) AS n
		FROM recent_failures WHERE credential_id IN (`+strings.Join(marks, ", ")+`)) AS ranked
	WHERE n > `+strconv.Itoa(RecentFailuresKept)+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add recent failures: %w", err)
	}
	return nil
}

// pruneRecentFailures deletes up to 1000 recent failures from before
// before, and returns how many it deleted.
func (a *AuditLog) pruneRecentFailures(ctx context.Context, before time.Time) (int, error) {
	q := `DELETE FROM recent_failures WHERE seq IN (SELECT seq FROM recent_failures WHERE at < $1 LIMIT ` + strconv.Itoa(pruneBatch)
	if a.s.dialect == Postgres {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := a.s.db.ExecContext(ctx, q+`)`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune recent failures: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune recent failures: %w", err)
	}
	return int(n), nil
}
