package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestDriverBusyError pins what sqlstore's retry of SQLITE_BUSY relies on:
// modernc.org/sqlite reports a write under another connection's lock as an
// error with a Code method whose low byte is 5 (SQLITE_BUSY).
func TestDriverBusyError(t *testing.T) {
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
	for _, q := range []string{`CREATE TABLE t (x INTEGER)`, `BEGIN EXCLUSIVE`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// No busy_timeout: a write meets the lock at once.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, `INSERT INTO t (x) VALUES (1)`)
	var coded interface{ Code() int }
	if !errors.As(err, &coded) || coded.Code()&0xff != 5 {
		t.Fatalf("write under an exclusive lock: got %v, want an error with Code() 5 (SQLITE_BUSY)", err)
	}
}
