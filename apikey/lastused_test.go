package apikey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

func lastUsed(t *testing.T, fx *fixture, id string) time.Time {
	t.Helper()
	rec, err := fx.store.Store.Key(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.LastUsedAt
}

func TestLastUsed(t *testing.T) {
	fx := newFixture(t)
	fx.clock.Advance(90 * time.Second) // 10:01:30
	key, rec := fx.create(apikey.CreateParams{})
	v := fx.verifier()
	ctx := t.Context()
	minute := fx.clock.Now().Truncate(time.Minute)

	if err := v.Flush(ctx); err != nil || fx.store.touches.Load() != 0 {
		t.Errorf("Flush with nothing pending: error %v, %d store writes; want nil, 0", err, fx.store.touches.Load())
	}
	for range 5 {
		if _, err := v.Verify(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if got := lastUsed(t, fx, rec.ID); !got.IsZero() {
		t.Errorf("LastUsedAt before flush = %v, want zero: the request path never writes", got)
	}
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(t, fx, rec.ID); !got.Equal(minute) {
		t.Errorf("LastUsedAt = %v, want %v (minute precision)", got, minute)
	}
	// Same minute again: nothing new to write.
	v.Verify(ctx, key)
	v.Flush(ctx)
	if got := fx.store.touches.Load(); got != 1 {
		t.Errorf("store writes = %d, want 1", got)
	}

	// The store fails: the batch is kept and written by the next flush.
	fx.clock.Advance(2 * time.Minute)
	v.Verify(ctx, key)
	fx.store.fail.Store(true)
	if err := v.Flush(ctx); !errors.Is(err, errDatabaseDown) {
		t.Errorf("Flush with the store down: error = %v, want it to wrap the store's", err)
	}
	fx.store.fail.Store(false)
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := lastUsed(t, fx, rec.ID), minute.Add(2*time.Minute); !got.Equal(want) {
		t.Errorf("LastUsedAt after retry = %v, want %v", got, want)
	}
}

// blockingStore's TouchLastUsed waits until released, like a database
// stuck on a lock.
type blockingStore struct {
	*countingStore
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) TouchLastUsed(ctx context.Context, b map[string]time.Time) error {
	close(s.entered)
	<-s.release
	return s.countingStore.TouchLastUsed(ctx, b)
}

// TestSlowStoreDoesNotSlowRequests: while a flush is stuck in the store,
// requests are still answered.
func TestSlowStoreDoesNotSlowRequests(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	bs := &blockingStore{countingStore: fx.store, entered: make(chan struct{}), release: make(chan struct{})}
	v, err := apikey.NewVerifier(apikey.Config{Store: bs, Now: fx.clock.Now, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error)
	go func() { flushed <- v.Flush(context.Background()) }()
	<-bs.entered
	fx.clock.Advance(time.Minute) // a new minute: the request records a use
	for range 10 {
		if _, err := v.Verify(t.Context(), key); err != nil {
			t.Errorf("Verify during a stuck flush: %v", err)
		}
	}
	close(bs.release)
	if err := <-flushed; err != nil {
		t.Errorf("Flush: %v", err)
	}
}

func TestCloseFlushes(t *testing.T) {
	fx := newFixture(t)
	key, rec := fx.create(apikey.CreateParams{})
	fx.vcfg.LastUsedInterval = 0 // the default background flusher
	v, err := apikey.NewVerifier(fx.vcfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := lastUsed(t, fx, rec.ID); got.IsZero() {
		t.Error("LastUsedAt not written by Close")
	}
	if err := v.Close(); !errors.Is(err, apikey.ErrClosed) {
		t.Errorf("second Close: error = %v, want ErrClosed", err)
	}
	// After Close, requests still get answers, from the store: the cache
	// no longer hears of the Manager's changes.
	fx.store.gets.Store(0)
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Errorf("Verify after Close: %v, want it to still work", err)
	}
	if err := fx.mgr.Revoke(t.Context(), rec.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), key); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("Verify after Close and Revoke: error = %v, want ErrRevoked", err)
	}
	if got := fx.store.gets.Load(); got != 2 {
		t.Errorf("store lookups after Close = %d, want 2 (no cache)", got)
	}
}

// TestBackgroundFlushReportsErrors: the flusher runs on its interval and
// hands errors to OnError (the package never logs).
func TestBackgroundFlushReportsErrors(t *testing.T) {
	fx := newFixture(t)
	key, _ := fx.create(apikey.CreateParams{})
	errc := make(chan error, 1)
	fx.vcfg.LastUsedInterval = time.Millisecond
	fx.vcfg.OnError = func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	v := fx.verifier()
	fx.store.failTouch.Store(true) // lookups work, writes fail
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, errDatabaseDown) {
		t.Errorf("OnError got %v, want the store's error", err)
	}
}
