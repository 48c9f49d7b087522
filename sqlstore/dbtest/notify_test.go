package dbtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// invalidateAPIKeys returns a Watch callback that evicts the changed API
// keys from v's cache, and all of them when the log may have lost
// changes.
func invalidateAPIKeys(v *apikey.Verifier) func(sqlstore.Change) {
	return func(c sqlstore.Change) {
		switch c.Kind {
		case sqlstore.KindAPIKey:
			v.Invalidate(c.ID)
		case sqlstore.KindAll:
			v.InvalidateAll()
		}
	}
}

// watch runs s.Watch with fn until the test ends, and fails the test if
// Watch returns anything but the cancellation.
func watch(t *testing.T, s *sqlstore.Store, fn func(sqlstore.Change)) {
	from, err := s.LatestChange(t.Context())
	if err != nil {
		t.Fatalf("LatestChange: %v", err)
	}
	watchFrom(t, s, from, fn)
}

// watchFrom is watch from a given sequence number.
func watchFrom(t *testing.T, s *sqlstore.Store, from int64, fn func(sqlstore.Change)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, from, fn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
}

// TestRevocationReachesOtherInstance: two instances share a database;
// a key revoked through one stops working in the other, whose verifier
// cache would otherwise keep it for an hour. On PostgreSQL the watcher
// polls only once an hour, so only LISTEN/NOTIFY can deliver in time; on
// SQLite it is the poll of the change log.
func TestRevocationReachesOtherInstance(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		a := openStore(t, db)
		poll := 100 * time.Millisecond
		if db.dialect == sqlstore.Postgres {
			poll = time.Hour
		}
		var errMu sync.Mutex
		var watchErrs []error
		b := openStoreCfg(t, db.open(t), sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true, PollInterval: poll,
			OnError: func(err error) { errMu.Lock(); watchErrs = append(watchErrs, err); errMu.Unlock() }})

		ma, err := apikey.NewManager(apikey.ManagerConfig{Store: a.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		vb, err := apikey.NewVerifier(apikey.Config{Store: b.APIKeys(), CacheTTL: time.Hour, LastUsedInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer vb.Close()

		var mu sync.Mutex
		var seen []sqlstore.Change
		invalidate := invalidateAPIKeys(vb)
		watch(t, b, func(c sqlstore.Change) {
			mu.Lock()
			seen = append(seen, c)
			mu.Unlock()
			invalidate(c)
		})

		key, rec, err := ma.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vb.Verify(t.Context(), key); err != nil {
			t.Fatalf("Verify before revocation: %v", err)
		}
		if err := ma.Revoke(t.Context(), rec.ID, "leaked"); err != nil {
			t.Fatal(err)
		}
		revokedAt := time.Now()
		deadline := revokedAt.Add(5 * time.Second)
		for {
			_, err := vb.Verify(t.Context(), key)
			if errors.Is(err, auth.ErrRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("Verify after revocation: got %v, want nil (cached) or ErrRevoked", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the other instance still accepts the revoked key after %v", time.Since(revokedAt))
			}
			time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting for readiness
		}
		t.Logf("%s: revocation reached the other instance after %v", db.dialect, time.Since(revokedAt).Round(time.Millisecond))
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 || seen[len(seen)-1].Kind != sqlstore.KindAPIKey || seen[len(seen)-1].ID != rec.ID {
			t.Errorf("changes seen: got %+v, want the revocation of %s last", seen, rec.ID)
		}
		errMu.Lock()
		defer errMu.Unlock()
		for _, err := range watchErrs {
			t.Errorf("watcher error: %v", err)
		}
	})
}

// TestLatestChange: the change counter only grows, by one per recorded
// change, and Changes returns them in order.
func TestLatestChange(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		first, err := s.LatestChange(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for range 3 {
			_, rec, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Revoke(t.Context(), rec.ID, ""); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rec.ID)
		}
		last, err := s.LatestChange(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// Two changes per key: its creation and its revocation.
		if last != first+6 {
			t.Errorf("LatestChange: got %d, want %d", last, first+6)
		}
		cs, err := s.Changes(t.Context(), first, 10)
		if err != nil {
			t.Fatal(err)
		}
		var want []sqlstore.Change
		for i, id := range ids {
			for j := range 2 {
				want = append(want, sqlstore.Change{Seq: first + int64(2*i+j) + 1, Kind: sqlstore.KindAPIKey, ID: id})
			}
		}
		if diff := cmp.Diff(want, cs); diff != "" {
			t.Errorf("Changes (-want +got):\n%s", diff)
		}
		if cs, err := s.Changes(t.Context(), last, 10); err != nil || len(cs) != 0 {
			t.Errorf("Changes after the last: got %v, %v; want none", cs, err)
		}
	})
}

// TestWatchReportsLostChanges: a watcher that starts behind the log's
// retention (the rows it has not seen were pruned) is told to drop
// everything before it gets the changes that remain.
func TestWatchReportsLostChanges(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		var clock atomic.Int64
		clock.Store(t0.UnixMicro())
		now := func() time.Time { return time.UnixMicro(clock.Load()) }
		s := openStoreCfg(t, db.open(t), sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true, Now: now,
			PollInterval: 20 * time.Millisecond, ChangeRetention: time.Hour})
		m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		from, err := s.LatestChange(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for range 3 {
			_, rec, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Revoke(t.Context(), rec.ID, ""); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, rec.ID)
			// The next change prunes this one.
			clock.Add((2 * time.Hour).Microseconds())
		}
		got := make(chan sqlstore.Change, 10)
		watchFrom(t, s, from, func(c sqlstore.Change) { got <- c })
		want := []sqlstore.Change{{Kind: sqlstore.KindAll}, {Kind: sqlstore.KindAPIKey, ID: ids[2]}}
		for i, w := range want {
			select {
			case c := <-got:
				if c.Kind != w.Kind || c.ID != w.ID {
					t.Errorf("change %d: got %+v, want kind %q id %q", i, c, w.Kind, w.ID)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("change %d: none delivered within 5 s", i)
			}
		}
	})
}
