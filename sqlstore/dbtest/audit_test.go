package dbtest

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// auditRow is what a test compares of an audit event.
type auditRow struct {
	Kind    sqlstore.Kind
	Action  sqlstore.AuditAction
	Subject string
	Actor   string
}

func auditRows(t *testing.T, s *sqlstore.Store) ([]auditRow, []sqlstore.AuditEvent) {
	t.Helper()
	evs, err := s.AuditLog().Events(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var rows []auditRow
	for _, e := range evs {
		rows = append(rows, auditRow{e.Kind, e.Action, e.SubjectID, e.Actor})
	}
	return rows, evs
}

// secretForms are the ways a secret could leak into a row: itself, its
// SHA-256 in hex and base64, and (for API keys) the secret part alone.
func secretForms(secret string) []string {
	sum := sha256.Sum256([]byte(secret))
	forms := []string{secret, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]),
		base64.RawURLEncoding.EncodeToString(sum[:])}
	if parts := strings.Split(secret, "_"); len(parts) == 4 {
		forms = append(forms, parts[3])
	}
	return forms
}

// scanForSecrets fails the test if any column of any row of table holds
// one of the secrets in any of its forms.
func scanForSecrets(t *testing.T, h *sql.DB, table string, secrets []string) (rows int) {
	t.Helper()
	rs, err := h.QueryContext(t.Context(), `SELECT * FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	for rs.Next() {
		rows++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var text string
			switch v := v.(type) {
			case []byte:
				text = string(v) + " " + hex.EncodeToString(v)
			default:
				text = fmt.Sprint(v)
			}
			for _, sec := range secrets {
				for _, form := range secretForms(sec) {
					if strings.Contains(text, form) {
						t.Errorf("%s.%s holds a secret (%q): %q", table, cols[i], form, text)
					}
				}
			}
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every lifecycle action of keys and clients leaves one audit row, with
// the actor of its context, and no row holds a key or secret.
func TestAuditLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		ctx := sqlstore.WithActor(t.Context(), "cli:alice")
		keys, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: s.Clients()})
		if err != nil {
			t.Fatal(err)
		}
		key1, rec1, err := keys.Create(ctx, apikey.CreateParams{Name: "reports", Owner: "acme", Scopes: mustScopes("data:read")})
		if err != nil {
			t.Fatal(err)
		}
		key2, rec2, err := keys.Rotate(ctx, rec1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, rec2.ID, "leaked in a ticket"); err != nil {
			t.Fatal(err)
		}
		cl, secret1, err := reg.Register(ctx, oauth.Registration{Name: "Backend", Type: oauth.ClientServer, Scopes: mustScopes("data:read"), Owner: "usr_ann"})
		if err != nil {
			t.Fatal(err)
		}
		secret2, err := reg.RotateSecret(ctx, cl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Delete(ctx, cl.ID); err != nil {
			t.Fatal(err)
		}
		// Without an actor in the context: "unknown".
		_, rec3, err := keys.Create(t.Context(), apikey.CreateParams{Name: "anon", Owner: "acme"})
		if err != nil {
			t.Fatal(err)
		}

		got, evs := auditRows(t, s)
		want := []auditRow{
			{sqlstore.KindAPIKey, sqlstore.ActionCreated, rec1.ID, "cli:alice"},
			{sqlstore.KindAPIKey, sqlstore.ActionRotated, rec1.ID, "cli:alice"},
			{sqlstore.KindAPIKey, sqlstore.ActionCreated, rec2.ID, "cli:alice"},
			{sqlstore.KindAPIKey, sqlstore.ActionRevoked, rec2.ID, "cli:alice"},
			{sqlstore.KindClient, sqlstore.ActionCreated, cl.ID, "cli:alice"},
			{sqlstore.KindClient, sqlstore.ActionSecretRotated, cl.ID, "cli:alice"},
			{sqlstore.KindClient, sqlstore.ActionDeleted, cl.ID, "cli:alice"},
			{sqlstore.KindAPIKey, sqlstore.ActionCreated, rec3.ID, sqlstore.UnknownActor},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("audit rows (-want +got):\n%s", diff)
		}
		// The details name what changed, and every event of a key or an
		// owned client names its owner.
		wantDetails := []sqlstore.AuditDetails{
			{Name: "reports", Owner: "acme", Scopes: []string{"data:read"}},
			{Name: "reports", Owner: "acme", RotatedTo: rec2.ID},
			{Name: "reports", Owner: "acme", Scopes: []string{"data:read"}, RotatedFrom: rec1.ID},
			{Owner: "acme", Reason: "leaked in a ticket"},
			{Name: "Backend", Owner: "usr_ann", Type: "server", Scopes: []string{"data:read"}, GrantTypes: cl.GrantTypes},
			{Owner: "usr_ann"},
			{Name: "Backend", Owner: "usr_ann"},
			{Name: "anon", Owner: "acme"},
		}
		var gotDetails []sqlstore.AuditDetails
		for _, e := range evs {
			gotDetails = append(gotDetails, e.Details)
		}
		ignoreTimes := cmpopts.IgnoreFields(sqlstore.AuditDetails{}, "ExpiresAt", "OldValidUntil")
		if diff := cmp.Diff(wantDetails, gotDetails, ignoreTimes, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("audit details (-want +got):\n%s", diff)
		}
		if evs[1].Details.OldValidUntil == nil || evs[5].Details.OldValidUntil == nil {
			t.Errorf("rotations without the old credential's end: %+v, %+v", evs[1].Details, evs[5].Details)
		}

		if n := scanForSecrets(t, h, "audit_events", []string{key1, key2, secret1, secret2}); n != len(want) {
			t.Errorf("audit_events has %d rows, want %d", n, len(want))
		}
	})
}

// A refused action leaves no row, and an action whose audit row cannot be
// written does not happen.
func TestAuditAtomic(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		ctx := t.Context()
		keys, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		_, rec, err := keys.Create(ctx, apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, rec.ID, "first"); err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, rec.ID, "second"); !errors.Is(err, apikey.ErrAlreadyRevoked) {
			t.Fatalf("second revoke: got %v, want ErrAlreadyRevoked", err)
		}
		if err := keys.Revoke(ctx, "nosuchkey123", "x"); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("revoke unknown: got %v, want ErrNotFound", err)
		}
		if got, _ := auditRows(t, s); len(got) != 2 {
			t.Errorf("got %d audit rows after create, revoke and two refused revokes, want 2: %v", len(got), got)
		}

		// The audit table made unwritable (renamed away, on both
		// engines): the revocation must roll back with its audit row.
		_, rec2, err := keys.Create(ctx, apikey.CreateParams{Name: "k2", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ExecContext(ctx, `ALTER TABLE audit_events RENAME TO audit_events_away`); err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, rec2.ID, "no audit"); err == nil {
			t.Fatal("revoke without an audit table: got nil error")
		}
		r, err := s.APIKeys().Key(ctx, rec2.ID)
		if err != nil || r.Revoked() {
			t.Errorf("after a revoke whose audit row failed: revoked %v, err %v; want not revoked", r.Revoked(), err)
		}
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Failure counts match the traffic, one row per (minute, key, reason),
// however many flushes.
func TestFailureRecorderCounts(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		clk := &fakeClock{t: t0.Add(10 * time.Second)}
		// An hour: only the explicit flushes write.
		r, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		traffic := []struct {
			at     time.Duration // after t0
			key    string
			reason string
			n      int
		}{
			{10 * time.Second, "unknown", "malformed", 30},
			{20 * time.Second, "k1", "secret_mismatch", 5},
			{50 * time.Second, "unknown", "malformed", 4},
			{70 * time.Second, "unknown", "malformed", 7},
			{70 * time.Second, "k1", "revoked", 2},
		}
		send := func() {
			for _, tr := range traffic {
				clk.set(t0.Add(tr.at))
				for range tr.n {
					r.Record(tr.key, tr.reason)
				}
			}
		}
		send()
		if err := r.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		// The same traffic again: the same rows, twice the counts.
		send()
		if err := r.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		got, err := s.AuditLog().Failures(t.Context(), t0)
		if err != nil {
			t.Fatal(err)
		}
		m1 := t0.Add(time.Minute)
		want := []sqlstore.FailureCount{
			{Minute: t0, KeyID: "k1", Reason: "secret_mismatch", Count: 10},
			{Minute: t0, KeyID: "unknown", Reason: "malformed", Count: 68},
			{Minute: m1, KeyID: "k1", Reason: "revoked", Count: 4},
			{Minute: m1, KeyID: "unknown", Reason: "malformed", Count: 14},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failure counts (-want +got):\n%s", diff)
		}
		if n := scanForSecrets(t, h, "audit_failures", nil); n != len(want) {
			t.Errorf("audit_failures has %d rows, want %d (one per minute, key and reason)", n, len(want))
		}
		// since picks whole minutes.
		if got, err := s.AuditLog().Failures(t.Context(), m1.Add(30*time.Second)); err != nil || len(got) != 2 {
			t.Errorf("Failures since the second minute: %d rows, %v; want 2", len(got), err)
		}
	})
}

func TestFailureRecorderConcurrentAndClose(t *testing.T) {
	s := openStore(t, sqliteDB(t))
	clk := &fakeClock{t: t0}
	r, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for range 100 {
				r.Record("unknown", "malformed")
			}
		})
	}
	wg.Wait()
	// Close writes what is pending; later failures are dropped.
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r.Record("unknown", "malformed")
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	got, err := s.AuditLog().Failures(t.Context(), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []sqlstore.FailureCount{{Minute: t0, KeyID: "unknown", Reason: "malformed", Count: racers * 100}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure counts (-want +got):\n%s", diff)
	}
}

// The interval flush writes without being asked.
func TestFailureRecorderInterval(t *testing.T) {
	s := openStore(t, sqliteDB(t))
	clk := &fakeClock{t: t0}
	r, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: 20 * time.Millisecond, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Record("unknown", "no_credential")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.AuditLog().Failures(t.Context(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Count == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flush within 10s of a 20ms interval: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFailureRecorderBounds(t *testing.T) {
	db := sqliteDB(t)
	h := db.open(t)
	s := openStoreOn(t, h, sqlstore.SQLite)
	clk := &fakeClock{t: t0}
	r, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, MaxPending: 2, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 5 {
		r.Record(fmt.Sprintf("k%d", i), "secret_mismatch")
	}
	// Two rows as given, the rest folded into one overflow row.
	if got := r.Pending(); got != 3 {
		t.Errorf("pending = %d, want 3 (MaxPending 2 plus the overflow row)", got)
	}
	// A flush that fails keeps the counts for the next one.
	ctx := t.Context()
	if _, err := h.ExecContext(ctx, `ALTER TABLE audit_failures RENAME TO audit_failures_away`); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err == nil {
		t.Fatal("Flush without the table: got nil error")
	}
	if got := r.Pending(); got != 3 {
		t.Errorf("pending after a failed flush = %d, want 3", got)
	}
	if _, err := h.ExecContext(ctx, `ALTER TABLE audit_failures_away RENAME TO audit_failures`); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditLog().Failures(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, f := range got {
		total += f.Count
	}
	if len(got) != 3 || total != 5 {
		t.Errorf("after the retry: %d rows counting %d failures, want 3 rows counting 5: %v", len(got), total, got)
	}
	if _, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: -1}); !errors.Is(err, sqlstore.ErrInvalidConfig) {
		t.Errorf("negative interval: got %v, want ErrInvalidConfig", err)
	}
}

// Counts older than Retention are deleted after a flush; newer ones stay.
func TestFailureRecorderRetention(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		ctx := t.Context()
		old := []sqlstore.FailureCount{
			{Minute: t0.Add(-48 * time.Hour), KeyID: "unknown", Reason: "malformed", Count: 3},
			{Minute: t0.Add(-25 * time.Hour), KeyID: "k1", Reason: "revoked", Count: 1},
			{Minute: t0.Add(-time.Hour), KeyID: "k1", Reason: "revoked", Count: 2},
		}
		if err := s.AuditLog().AddFailures(ctx, old); err != nil {
			t.Fatal(err)
		}
		clk := &fakeClock{t: t0}
		r, err := s.NewFailureRecorder(sqlstore.FailureRecorderConfig{Interval: time.Hour, Retention: 24 * time.Hour, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		r.Record("unknown", "malformed")
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := s.AuditLog().Failures(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want := []sqlstore.FailureCount{
			{Minute: t0.Add(-time.Hour), KeyID: "k1", Reason: "revoked", Count: 2},
			{Minute: t0, KeyID: "unknown", Reason: "malformed", Count: 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failure counts after pruning (-want +got):\n%s", diff)
		}
	})
}
