package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// codedError is a driver error with an SQLite result code, the shape of
// modernc.org/sqlite's (the tests in sqlstore/dbtest check that the real
// driver's SQLITE_BUSY has it).
type codedError int

func (e codedError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e codedError) Code() int     { return int(e) }

// TestIsBusy: SQLITE_BUSY and its extended codes are recognised, wrapped
// or not, by their code or by the text other drivers use; nothing else is.
func TestIsBusy(t *testing.T) {
	for _, tt := range []struct {
		err  error
		busy bool
	}{
		{codedError(5), true},
		{codedError(517), true},                           // SQLITE_BUSY_SNAPSHOT
		{fmt.Errorf("insert: %w", codedError(261)), true}, // SQLITE_BUSY_RECOVERY, wrapped
		{errors.New("database is locked (5) (SQLITE_BUSY)"), true},
		{codedError(6), false}, // SQLITE_LOCKED is another error
		{codedError(19), false},
		{errors.New("no such table: t"), false},
	} {
		if got := isBusy(tt.err); got != tt.busy {
			t.Errorf("isBusy(%v) = %v, want %v", tt.err, got, tt.busy)
		}
	}
}

// TestRetryBusy: retryBusy retries SQLITE_BUSY until the lock is gone,
// but returns any other error at once, and stops when ctx ends.
func TestRetryBusy(t *testing.T) {
	ctx := context.Background()
	calls := 0
	err := retryBusy(ctx, func() error {
		if calls++; calls < 3 {
			return codedError(5)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("retryBusy: got %v after %d calls, want success on the third", err, calls)
	}
	other := errors.New("not busy")
	calls = 0
	if err := retryBusy(ctx, func() error { calls++; return other }); err != other || calls != 1 {
		t.Errorf("retryBusy of another error: got %v after %d calls, want it at once", err, calls)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	calls = 0
	if err := retryBusy(cctx, func() error { calls++; return codedError(5) }); !isBusy(err) || calls != 1 {
		t.Errorf("retryBusy with an ended context: got %v after %d calls, want the busy error after one", err, calls)
	}
}
