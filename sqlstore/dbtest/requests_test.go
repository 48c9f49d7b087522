package dbtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/sqlstore"
)

// overflowCredentialID is the credential ID RequestRecorderConfig's
// MaxPending documents for the requests counted past it.
const overflowCredentialID = "overflow"

type requestRow struct {
	ID   string
	Hour time.Time
	N    int64
}

func requestRows(t *testing.T, db testDB) []requestRow {
	t.Helper()
	rows, err := db.open(t).QueryContext(t.Context(), `SELECT credential_id, hour, n FROM request_counts ORDER BY credential_id, hour`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []requestRow
	for rows.Next() {
		var r requestRow
		var hour int64
		if err := rows.Scan(&r.ID, &hour, &r.N); err != nil {
			t.Fatal(err)
		}
		r.Hour = time.UnixMicro(hour).UTC()
		out = append(out, r)
	}
	return out
}

// TestRequestCounts: successful requests are counted per credential and
// hour, one row each however many flushes, and read back as hourly and
// daily buckets with the failures by reason.
func TestRequestCounts(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := t.Context()
		s := openStore(t, db)
		clk := &fakeClock{t: t0.Add(5 * time.Minute)}
		// An hour: only the explicit flushes write.
		r, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{Interval: time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		f, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		send := func() {
			clk.set(t0.Add(5 * time.Minute))
			for range 3 {
				r.Record("k1")
			}
			r.Record("adxc_app")
			r.Record("") // no credential: not counted
			f.RecordFrom("k1", "secret_mismatch", "203.0.113.7")
			f.RecordFrom("k1", "secret_mismatch", "2001:db8:1:2::/64")
			f.RecordFrom("adxc_app", "insufficient_scope", "198.51.100.1")
			clk.set(t0.Add(65 * time.Minute))
			r.Record("k1")
			f.RecordFrom("k1", "throttled", "203.0.113.7")
		}
		send()
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		send()
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		h1 := t0.Add(time.Hour)
		want := []requestRow{{"adxc_app", t0, 2}, {"k1", t0, 6}, {"k1", h1, 2}}
		if diff := cmp.Diff(want, requestRows(t, db)); diff != "" {
			t.Errorf("request_counts (-want +got):\n%s", diff)
		}

		now := t0.Add(70 * time.Minute)
		hourly, err := s.AuditLog().HourlyUsage(ctx, "k1", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(hourly) != sqlstore.HourlyBuckets || !hourly[0].Start.Equal(h1.Add(-23*time.Hour)) || !hourly[23].Start.Equal(h1) {
			t.Fatalf("hourly buckets: %d, from %v to %v", len(hourly), hourly[0].Start, hourly[len(hourly)-1].Start)
		}
		wantLast := []sqlstore.UsageBucket{
			{Start: t0, Requests: 6, Failures: map[string]int64{"secret_mismatch": 4}},
			{Start: h1, Requests: 2, Failures: map[string]int64{"throttled": 2}},
		}
		if diff := cmp.Diff(wantLast, hourly[22:]); diff != "" {
			t.Errorf("last two hours of k1 (-want +got):\n%s", diff)
		}
		for _, b := range hourly[:22] {
			if b.Requests != 0 || b.Failures != nil {
				t.Errorf("hour %v: %+v, want empty", b.Start, b)
			}
		}
		daily, err := s.AuditLog().DailyUsage(ctx, "k1", now)
		if err != nil {
			t.Fatal(err)
		}
		day := t0.Truncate(24 * time.Hour)
		wantDay := sqlstore.UsageBucket{Start: day, Requests: 8, Failures: map[string]int64{"secret_mismatch": 4, "throttled": 2}}
		if len(daily) != sqlstore.DailyBuckets || !cmp.Equal(wantDay, daily[29]) || !daily[0].Start.Equal(day.Add(-29*24*time.Hour)) {
			t.Errorf("daily usage: %d buckets, first %v, last %+v; want 30, last %+v", len(daily), daily[0].Start, daily[len(daily)-1], wantDay)
		}
		app, err := s.AuditLog().HourlyUsage(ctx, "adxc_app", now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(sqlstore.UsageBucket{Start: t0, Requests: 2, Failures: map[string]int64{"insufficient_scope": 2}}, app[22]); diff != "" {
			t.Errorf("application's hour (-want +got):\n%s", diff)
		}

		// The latest failures, newest first (the order of recording
		// among equal times), with their networks.
		recent, err := s.AuditLog().RecentFailures(ctx, "k1", 4)
		if err != nil {
			t.Fatal(err)
		}
		wantRecent := []sqlstore.RecentFailure{
			{At: t0.Add(65 * time.Minute), Reason: "throttled", Network: "203.0.113.7"},
			{At: t0.Add(65 * time.Minute), Reason: "throttled", Network: "203.0.113.7"},
			{At: t0.Add(5 * time.Minute), Reason: "secret_mismatch", Network: "2001:db8:1:2::/64"},
			{At: t0.Add(5 * time.Minute), Reason: "secret_mismatch", Network: "203.0.113.7"},
		}
		if diff := cmp.Diff(wantRecent, recent); diff != "" {
			t.Errorf("recent failures (-want +got):\n%s", diff)
		}
	})
}

// TestUsageID: the key ID for API keys, the client ID for tokens of both
// grants, so an application counts as one.
func TestUsageID(t *testing.T) {
	for _, tt := range []struct {
		p    *auth.Principal
		want string
	}{
		{nil, ""},
		{&auth.Principal{Method: auth.MethodAPIKey, CredentialID: "key1", Subject: "usr_ann"}, "key1"},
		{&auth.Principal{Method: auth.MethodClientCredentials, CredentialID: "jti-1", ClientID: "adxc_a", Subject: "adxc_a"}, "adxc_a"},
		{&auth.Principal{Method: auth.MethodAuthorizationCode, CredentialID: "jti-2", ClientID: "adxc_a", Subject: "usr_ann"}, "adxc_a"},
	} {
		if got := sqlstore.UsageID(tt.p); got != tt.want {
			t.Errorf("UsageID(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestRequestCountBounds: distinct credentials between flushes are
// capped (the rest count under "overflow"); a flush that fails keeps the
// counts; recent failures stay at RecentFailuresKept per credential in
// memory and in the database, and unknown credentials get none.
func TestRequestCountBounds(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := t.Context()
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		clk := &fakeClock{t: t0}
		r, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{Interval: time.Hour, MaxPending: 2, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for i := range 5 {
			r.Record(fmt.Sprintf("k%d", i))
		}
		if got := r.Pending(); got != 3 {
			t.Errorf("pending = %d, want 3 (MaxPending 2 plus the overflow row)", got)
		}
		if _, err := h.ExecContext(ctx, `ALTER TABLE request_counts RENAME TO request_counts_away`); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err == nil {
			t.Fatal("Flush without the table: got nil error")
		}
		if got := r.Pending(); got != 3 {
			t.Errorf("pending after a failed flush = %d, want 3", got)
		}
		if _, err := h.ExecContext(ctx, `ALTER TABLE request_counts_away RENAME TO request_counts`); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		want := []requestRow{{"k0", t0, 1}, {"k1", t0, 1}, {overflowCredentialID, t0, 3}}
		if diff := cmp.Diff(want, requestRows(t, db)); diff != "" {
			t.Errorf("request_counts after the retry (-want +got):\n%s", diff)
		}

		f, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// 70 failures of k1 in one flush, 70 more in another: 50 kept,
		// the newest.
		for round := range 2 {
			for i := range 70 {
				clk.set(t0.Add(time.Duration(round*70+i) * time.Second))
				f.RecordFrom("k1", "secret_mismatch", fmt.Sprintf("192.0.2.%d", i))
			}
			f.RecordFrom(sqlstore.UnknownKeyID, "malformed", "192.0.2.1")
			if err := f.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var rows, unknown int
		if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM recent_failures WHERE credential_id = 'k1'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM recent_failures WHERE credential_id <> 'k1'`).Scan(&unknown); err != nil {
			t.Fatal(err)
		}
		if rows != sqlstore.RecentFailuresKept || unknown != 0 {
			t.Errorf("recent_failures: %d rows of k1 (want %d), %d of others (want 0)", rows, sqlstore.RecentFailuresKept, unknown)
		}
		recent, err := s.AuditLog().RecentFailures(ctx, "k1", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != sqlstore.RecentFailuresKept || !recent[0].At.Equal(t0.Add(139*time.Second)) || !recent[49].At.Equal(t0.Add(90*time.Second)) {
			t.Errorf("recent failures: %d, newest %v, oldest %v; want 50 from +139s down to +90s", len(recent), recent[0].At.Sub(t0), recent[len(recent)-1].At.Sub(t0))
		}
		// Text no engine keeps is replaced, not refused.
		f.RecordFrom("k2", "bad\x00reason", "net\xff")
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuditLog().RecentFailures(ctx, "k2", 5); err != nil || len(got) != 1 || got[0].Reason != "other" || got[0].Network != "unknown" {
			t.Errorf("hostile failure text: %+v, %v", got, err)
		}
		if _, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{MaxPending: -1}); !errors.Is(err, sqlstore.ErrInvalidConfig) {
			t.Errorf("negative MaxPending: got %v, want ErrInvalidConfig", err)
		}
	})
}

// TestRequestCountRetention: counts and recent failures older than the
// retention are deleted after a flush, in batches of 1000.
func TestRequestCountRetention(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := t.Context()
		s := openStore(t, db)
		var old []sqlstore.RequestCount
		for i := range 1200 {
			old = append(old, sqlstore.RequestCount{Hour: t0.Add(-40 * 24 * time.Hour), CredentialID: fmt.Sprintf("k%04d", i), Count: 1})
		}
		old = append(old, sqlstore.RequestCount{Hour: t0.Add(-30 * 24 * time.Hour), CredentialID: "kept", Count: 5})
		if err := s.AuditLog().AddRequests(ctx, old); err != nil {
			t.Fatal(err)
		}
		clk := &fakeClock{t: t0}
		r, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{Interval: time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		r.Record("k1")
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(requestRows(t, db)); n != 202 {
			t.Errorf("after one flush: %d rows, want 202 (1000 of 1200 old ones pruned)", n)
		}
		r.Record("k1")
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		want := []requestRow{{"k1", t0, 2}, {"kept", t0.Add(-30 * 24 * time.Hour), 5}}
		if diff := cmp.Diff(want, requestRows(t, db)); diff != "" {
			t.Errorf("after the second flush (-want +got):\n%s", diff)
		}
		if n, err := s.AuditLog().PruneRequests(ctx, t0); err != nil || n != 1 {
			t.Errorf("PruneRequests(t0): %d, %v; want the one older row", n, err)
		}

		// Recent failures follow the failure recorder's retention.
		f, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Retention: 24 * time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		clk.set(t0.Add(-48 * time.Hour))
		f.RecordFrom("k1", "revoked", "192.0.2.1")
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		clk.set(t0)
		f.RecordFrom("k1", "revoked", "192.0.2.2")
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuditLog().RecentFailures(ctx, "k1", 10); err != nil || len(got) != 1 || got[0].Network != "192.0.2.2" {
			t.Errorf("recent failures after pruning: %+v, %v; want the newer one only", got, err)
		}
	})
}

// TestRequestRecorderConcurrent: many goroutines counting while flushes
// run lose no request; Close writes the rest and later records are
// dropped.
func TestRequestRecorderConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		clk := &fakeClock{t: t0}
		r, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{Interval: 5 * time.Millisecond, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				for range 200 {
					r.Record(fmt.Sprintf("k%d", i%3))
				}
			})
		}
		wg.Go(func() {
			for range 5 {
				if err := r.Flush(t.Context()); err != nil {
					t.Errorf("Flush: %v", err)
				}
			}
		})
		wg.Wait()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		r.Record("k0")
		var total int64
		for _, row := range requestRows(t, db) {
			total += row.N
		}
		if total != racers*200 {
			t.Errorf("counted %d requests, want %d", total, racers*200)
		}
	})
}

// The interval flush writes without being asked.
func TestRequestRecorderInterval(t *testing.T) {
	db := sqliteDB(t)
	s := openStore(t, db)
	r, err := s.NewRequestRecorder(sqlstore.RequestRecorderConfig{Interval: 20 * time.Millisecond, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Record("k1")
	deadline := time.Now().Add(10 * time.Second)
	for len(requestRows(t, db)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no flush within 10s of a 20ms interval")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
