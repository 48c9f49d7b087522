// Package apikeytest provides the contract every [apikey.Store] must meet,
// as a test suite for implementations to run with [Run]:
//
//	apikeytest.Run(t, func(t *testing.T) apikey.Store { return newTestStore(t) })
package apikeytest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// Run runs the store contract as subtests of t. newStore must return an
// empty store for each call; it may register cleanups with t.
func Run(t *testing.T, newStore func(t *testing.T) apikey.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, apikey.Store)
	}{
		{"InsertGet", testInsertGet},
		{"GetUnknown", testGetUnknown},
		{"InsertDuplicate", testInsertDuplicate},
		{"GetReturnsCopy", testGetReturnsCopy},
		{"List", testList},
		{"Revoke", testRevoke},
		{"Rotate", testRotate},
		{"RotateDuplicateChangesNothing", testRotateDuplicate},
		{"RotateConcurrent", testRotateConcurrent},
		{"TouchLastUsed", testTouchLastUsed},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// base is a fixed instant at microsecond precision, the finest a SQL store
// is expected to keep.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// id returns a valid 12-character key ID for n.
func id(n int) string { return fmt.Sprintf("id%010d", n) }

// record returns a record with every field set that CreateKey stores.
func record(n int) apikey.Record {
	return apikey.Record{
		ID:            id(n),
		Hash:          sha256.Sum256([]byte(id(n))),
		PepperVersion: n % 3,
		Env:           apikey.EnvLive,
		Name:          fmt.Sprintf("key %d", n),
		Description:   "for the contract test — ünïcode",
		Owner:         "owner-a",
		Scopes:        auth.MustScopes("data:read", "data:write"),
		CreatedAt:     at(time.Duration(n) * time.Minute),
		ExpiresAt:     at(90 * 24 * time.Hour),
	}
}

func insert(t *testing.T, s apikey.Store, recs ...apikey.Record) {
	t.Helper()
	for _, r := range recs {
		if err := s.CreateKey(t.Context(), r); err != nil {
			t.Fatalf("CreateKey(%s): %v", r.ID, err)
		}
	}
}

func get(t *testing.T, s apikey.Store, id string) apikey.Record {
	t.Helper()
	r, err := s.Key(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// diff describes how two records differ, or returns "". Times compare
// with Equal (a store may return another location).
func diff(got, want apikey.Record) string {
	var d []string
	check := func(field string, eq bool, g, w any) {
		if !eq {
			d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Hash", got.Hash == want.Hash, got.Hash, want.Hash) //consttime:public a conformance test comparing the hash it stored
	check("PepperVersion", got.PepperVersion == want.PepperVersion, got.PepperVersion, want.PepperVersion)
	check("Env", got.Env == want.Env, got.Env, want.Env)
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("Description", got.Description == want.Description, got.Description, want.Description)
	check("Owner", got.Owner == want.Owner, got.Owner, want.Owner)
	check("Scopes", got.Scopes.Equal(want.Scopes), got.Scopes, want.Scopes)
	check("CreatedAt", got.CreatedAt.Equal(want.CreatedAt), got.CreatedAt, want.CreatedAt)
	check("ExpiresAt", got.ExpiresAt.Equal(want.ExpiresAt), got.ExpiresAt, want.ExpiresAt)
	check("RevokedAt", got.RevokedAt.Equal(want.RevokedAt), got.RevokedAt, want.RevokedAt)
	check("RevokeReason", got.RevokeReason == want.RevokeReason, got.RevokeReason, want.RevokeReason)
	check("RotatedFrom", got.RotatedFrom == want.RotatedFrom, got.RotatedFrom, want.RotatedFrom)
	check("ReplacedBy", got.ReplacedBy == want.ReplacedBy, got.ReplacedBy, want.ReplacedBy)
	check("LastUsedAt", got.LastUsedAt.Equal(want.LastUsedAt), got.LastUsedAt, want.LastUsedAt)
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprint(d)
}

func wantRecord(t *testing.T, s apikey.Store, want apikey.Record) {
	t.Helper()
	if d := diff(get(t, s, want.ID), want); d != "" {
		t.Errorf("record %s differs: %s", want.ID, d)
	}
}

func testInsertGet(t *testing.T, s apikey.Store) {
	full := record(1)
	full.RotatedFrom = id(99)
	full.LastUsedAt = at(time.Hour)
	noExpiry := record(2)
	noExpiry.ExpiresAt = time.Time{}
	noExpiry.Scopes = auth.Scopes{}
	noExpiry.Env = apikey.EnvTest
	noExpiry.Description = ""
	insert(t, s, full, noExpiry)
	wantRecord(t, s, full)
	wantRecord(t, s, noExpiry)
}

func testGetUnknown(t *testing.T, s apikey.Store) {
	insert(t, s, record(1))
	if _, err := s.Key(t.Context(), id(2)); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

func testInsertDuplicate(t *testing.T, s apikey.Store) {
	first := record(1)
	insert(t, s, first)
	second := record(1)
	second.Name = "impostor"
	if err := s.CreateKey(t.Context(), second); !errors.Is(err, apikey.ErrDuplicateID) {
		t.Errorf("CreateKey(duplicate) error = %v, want ErrDuplicateID", err)
	}
	wantRecord(t, s, first)
}

func testGetReturnsCopy(t *testing.T, s apikey.Store) {
	r := record(1)
	insert(t, s, r)
	got := get(t, s, r.ID)
	got.Name = "changed by caller"
	got.Hash[0] ^= 0xff
	wantRecord(t, s, r)
}

func testList(t *testing.T, s apikey.Store) {
	a := record(3) // created last
	b := record(1)
	b.Owner = "owner-b"
	b.ExpiresAt = at(time.Hour)
	c := record(2)
	c.ExpiresAt = time.Time{} // never expires
	d := record(4)
	d.CreatedAt = c.CreatedAt // same time as c: ordered by ID after it
	d.ExpiresAt = at(2 * time.Hour)
	insert(t, s, a, b, c, d)
	tests := []struct {
		name string
		f    apikey.Filter
		want []string
	}{
		{"all", apikey.Filter{}, []string{b.ID, c.ID, d.ID, a.ID}},
		{"owner", apikey.Filter{Owner: "owner-a"}, []string{c.ID, d.ID, a.ID}},
		{"unknown owner", apikey.Filter{Owner: "nobody"}, nil},
		// Expiring strictly before: d expires at exactly 2h.
		{"expires before", apikey.Filter{ExpiresBefore: at(2 * time.Hour)}, []string{b.ID}},
		{"expires before, later", apikey.Filter{ExpiresBefore: at(3 * time.Hour)}, []string{b.ID, d.ID}},
		{"owner and expiry", apikey.Filter{Owner: "owner-a", ExpiresBefore: at(3 * time.Hour)}, []string{d.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.ListKeys(t.Context(), tt.f)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List IDs = %v, want %v", got, tt.want)
			}
		})
	}
	recs, _ := s.ListKeys(t.Context(), apikey.Filter{Owner: "owner-b"})
	if len(recs) == 1 {
		if d := diff(recs[0], b); d != "" {
			t.Errorf("listed record differs: %s", d)
		}
	}
}

func testRevoke(t *testing.T, s apikey.Store) {
	r := record(1)
	insert(t, s, r)
	if err := s.RevokeKey(t.Context(), r.ID, at(time.Hour), "leaked"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	want := r
	want.RevokedAt, want.RevokeReason = at(time.Hour), "leaked"
	wantRecord(t, s, want)
	if err := s.RevokeKey(t.Context(), r.ID, at(2*time.Hour), "again"); !errors.Is(err, apikey.ErrAlreadyRevoked) {
		t.Errorf("second Revoke error = %v, want ErrAlreadyRevoked", err)
	}
	wantRecord(t, s, want) // the first revocation stands
	if err := s.RevokeKey(t.Context(), id(2), at(time.Hour), ""); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Revoke(unknown) error = %v, want ErrNotFound", err)
	}
}

func testRotate(t *testing.T, s apikey.Store) {
	now := at(24 * time.Hour)
	grace := now.Add(24 * time.Hour)
	tests := []struct {
		name        string
		old         func(apikey.Record) apikey.Record
		wantErr     error
		wantExpires func(apikey.Record) time.Time // old's expiry afterwards
	}{
		{"active, expiring later", func(r apikey.Record) apikey.Record { return r }, nil,
			func(apikey.Record) time.Time { return grace }},
		{"active, no expiry", func(r apikey.Record) apikey.Record { r.ExpiresAt = time.Time{}; return r }, nil,
			func(apikey.Record) time.Time { return grace }},
		// min(own, grace): a key about to expire is not extended.
		{"active, expiring within grace", func(r apikey.Record) apikey.Record { r.ExpiresAt = now.Add(time.Hour); return r }, nil,
			func(r apikey.Record) time.Time { return r.ExpiresAt }},
		{"revoked", func(r apikey.Record) apikey.Record { r.RevokedAt = at(time.Hour); return r }, apikey.ErrNotActive, nil},
		{"expired", func(r apikey.Record) apikey.Record { r.ExpiresAt = at(time.Hour); return r }, apikey.ErrNotActive, nil},
		// Expiry is exclusive: a key expiring exactly now is expired.
		{"expiring exactly now", func(r apikey.Record) apikey.Record { r.ExpiresAt = now; return r }, apikey.ErrNotActive, nil},
		{"already rotated", func(r apikey.Record) apikey.Record { r.ReplacedBy = id(999); return r }, apikey.ErrNotActive, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.old(record(10 * (i + 1)))
			insert(t, s, old)
			next := record(10*(i+1) + 1)
			next.RotatedFrom = old.ID
			err := s.RotateKey(t.Context(), old.ID, next, grace, now)
			if !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
				t.Fatalf("Rotate error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				wantRecord(t, s, old) // unchanged
				if _, err := s.Key(t.Context(), next.ID); !errors.Is(err, apikey.ErrNotFound) {
					t.Errorf("Get(new key) after refused rotation: error = %v, want ErrNotFound", err)
				}
				return
			}
			wantOld := old
			wantOld.ReplacedBy = next.ID
			wantOld.ExpiresAt = tt.wantExpires(old)
			wantRecord(t, s, wantOld)
			wantRecord(t, s, next)
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if err := s.RotateKey(t.Context(), id(5), record(6), grace, now); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("Rotate(unknown) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Key(t.Context(), id(6)); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("new key inserted by a refused rotation: Get error = %v", err)
		}
	})
}

func testRotateDuplicate(t *testing.T, s apikey.Store) {
	old, other := record(1), record(2)
	insert(t, s, old, other)
	next := other // an ID that exists
	next.Name = "impostor"
	err := s.RotateKey(t.Context(), old.ID, next, at(48*time.Hour), at(24*time.Hour))
	if !errors.Is(err, apikey.ErrDuplicateID) {
		t.Errorf("Rotate to an existing ID: error = %v, want ErrDuplicateID", err)
	}
	wantRecord(t, s, old)
	wantRecord(t, s, other)
}

// testRotateConcurrent: of many concurrent rotations of one key, exactly
// one wins; the others change nothing.
func testRotateConcurrent(t *testing.T, s apikey.Store) {
	old := record(1)
	insert(t, s, old)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := record(100 + i)
			next.RotatedFrom = old.ID
			<-start
			errs[i] = s.RotateKey(t.Context(), old.ID, next, at(48*time.Hour), at(24*time.Hour))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded, want exactly one", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, apikey.ErrNotActive):
			t.Errorf("losing rotation %d: error = %v, want ErrNotActive", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded, want exactly one")
	}
	recs, err := s.ListKeys(t.Context(), apikey.Filter{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var rotated []string
	for _, r := range recs {
		if r.RotatedFrom == old.ID {
			rotated = append(rotated, r.ID)
		}
	}
	if want := []string{id(100 + winner)}; !slices.Equal(rotated, want) {
		t.Errorf("keys rotated from the old one: got %v, want %v", rotated, want)
	}
	if got := get(t, s, old.ID).ReplacedBy; got != id(100+winner) {
		t.Errorf("old ReplacedBy = %q, want %q", got, id(100+winner))
	}
}

func testTouchLastUsed(t *testing.T, s apikey.Store) {
	a, b := record(1), record(2)
	insert(t, s, a, b)
	steps := []struct {
		batch map[string]time.Time
		wantA time.Time
		wantB time.Time
	}{
		{map[string]time.Time{a.ID: at(2 * time.Minute)}, at(2 * time.Minute), time.Time{}},
		// Earlier time for a (a late batch): ignored. Unknown ID: ignored.
		{map[string]time.Time{a.ID: at(time.Minute), b.ID: at(3 * time.Minute), id(9): at(time.Hour)}, at(2 * time.Minute), at(3 * time.Minute)},
		{map[string]time.Time{a.ID: at(5 * time.Minute)}, at(5 * time.Minute), at(3 * time.Minute)},
		{map[string]time.Time{}, at(5 * time.Minute), at(3 * time.Minute)},
	}
	for i, st := range steps {
		if err := s.TouchLastUsed(t.Context(), st.batch); err != nil {
			t.Fatalf("step %d: TouchLastUsed: %v", i, err)
		}
		if got := get(t, s, a.ID).LastUsedAt; !got.Equal(st.wantA) {
			t.Errorf("step %d: a.LastUsedAt = %v, want %v", i, got, st.wantA)
		}
		if got := get(t, s, b.ID).LastUsedAt; !got.Equal(st.wantB) {
			t.Errorf("step %d: b.LastUsedAt = %v, want %v", i, got, st.wantB)
		}
	}
	if _, err := s.Key(t.Context(), id(9)); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("TouchLastUsed created unknown ID: Get error = %v", err)
	}
}

// testConcurrent mixes every operation from several goroutines, for the
// race detector and to check each key ends as its goroutine left it.
func testConcurrent(t *testing.T, s apikey.Store) {
	const workers, perWorker = 4, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers*perWorker*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := t.Context()
			for k := range perWorker {
				r := record(1000 + w*perWorker + k)
				if err := s.CreateKey(ctx, r); err != nil {
					errc <- fmt.Errorf("calling CreateKey: %w", err)
					continue
				}
				if err := s.TouchLastUsed(ctx, map[string]time.Time{r.ID: at(time.Minute)}); err != nil {
					errc <- fmt.Errorf("calling TouchLastUsed: %w", err)
				}
				if _, err := s.ListKeys(ctx, apikey.Filter{}); err != nil {
					errc <- fmt.Errorf("calling List: %w", err)
				}
				if k%2 == 0 {
					if err := s.RevokeKey(ctx, r.ID, at(time.Hour), "test"); err != nil {
						errc <- fmt.Errorf("calling Revoke: %w", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for w := range workers {
		for k := range perWorker {
			r := get(t, s, id(1000+w*perWorker+k))
			if got, want := r.Revoked(), k%2 == 0; got != want {
				t.Errorf("%s revoked = %v, want %v", r.ID, got, want)
			}
			if !r.LastUsedAt.Equal(at(time.Minute)) {
				t.Errorf("%s LastUsedAt = %v, want %v", r.ID, r.LastUsedAt, at(time.Minute))
			}
		}
	}
}
