package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// TestRetryBusy: isBusy recognises the driver's SQLITE_BUSY, and
// retryBusy retries it until the lock is gone, but not other errors.
func TestRetryBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	holder, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	ctx := context.Background()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}
	// No busy_timeout: a write meets the lock at once.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	write := func() error {
		_, err := other.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`)
		return err
	}
	busy := write()
	if busy == nil || !isBusy(busy) {
		t.Fatalf("write under an exclusive lock: got %v, want SQLITE_BUSY recognised by isBusy", busy)
	}

	calls := 0
	err = retryBusy(ctx, func() error {
		calls++
		if calls == 3 {
			if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
				t.Errorf("COMMIT: %v", err)
			}
		}
		return write()
	})
	if err != nil || calls != 3 {
		t.Errorf("retryBusy: got %v after %d calls, want success on the third", err, calls)
	}

	other2 := errors.New("not busy")
	calls = 0
	if err := retryBusy(ctx, func() error { calls++; return other2 }); err != other2 || calls != 1 {
		t.Errorf("retryBusy of another error: got %v after %d calls, want it at once", err, calls)
	}
}
