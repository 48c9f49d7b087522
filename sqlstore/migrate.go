package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds the schema, one file per version, named
// NNNN_what.sql and numbered from 0001 without gaps. A released file is
// never edited: changes go in a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockID is the PostgreSQL advisory lock that serializes migrations
// of several instances starting at once ("audx" in ASCII).
const migrateLockID = 0x61756478

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations for d, in order.
func migrations(d Dialect) ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	words := schemaWords(d)
	var ms []migration
	for _, e := range ents {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("sqlstore: migration %q out of sequence", name)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: words.Replace(string(b))})
	}
	return ms, nil
}

// SchemaVersion is the schema version this package creates: the number
// of its embedded migrations.
func SchemaVersion() int {
	ms, err := migrations(SQLite)
	if err != nil {
		return 0
	}
	return len(ms)
}

// Migrate brings the database's schema up to this package's version and
// returns it. It is idempotent, and safe when several processes run it at
// once: on PostgreSQL they queue on an advisory lock, on SQLite on the
// database's single write lock, and the later ones find the work done. All
// pending migrations apply in one transaction, so a failure leaves the
// schema as it was. A database migrated by a newer version of the package
// is refused with [ErrSchemaTooNew], untouched.
//
// [Open] calls Migrate; call it yourself to migrate without opening a
// Store (a deployment step, say).
func Migrate(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	ms, err := migrations(d)
	if err != nil {
		return 0, err
	}
	var version int
	err = withMigrationLock(ctx, db, d, func(q querier) error {
		var err error
		version, err = migrateLocked(ctx, q, ms, time.Now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return version, nil
}

// querier is what *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func migrateLocked(ctx context.Context, q querier, ms []migration, now time.Time) (int, error) {
	if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`); err != nil {
		return 0, err
	}
	var have int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return 0, err
	}
	if have > len(ms) {
		return 0, fmt.Errorf("%w: database is at version %d, this program knows %d", ErrSchemaTooNew, have, len(ms))
	}
	for _, m := range ms[have:] {
		if _, err := q.ExecContext(ctx, m.sql); err != nil {
			return 0, fmt.Errorf("%s: %w", m.name, err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, micros(now)); err != nil {
			return 0, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return len(ms), nil
}

// withMigrationLock runs fn in one transaction that no other migration can
// run beside.
func withMigrationLock(ctx context.Context, db *sql.DB, d Dialect, fn func(q querier) error) error {
	if d == Postgres {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// Held until the transaction ends; a crashed migrator's session
		// ends and releases it.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLockID)); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	}

	// SQLite: BEGIN IMMEDIATE takes the write lock before the first read,
	// waiting for it under busy_timeout, whatever _txlock the DSN chose.
	// database/sql cannot say IMMEDIATE, so the transaction is driven by
	// hand on a dedicated connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	if err = fn(conn); err == nil {
		_, err = conn.ExecContext(ctx, `COMMIT`)
	}
	if err != nil {
		// Not under ctx: a cancelled ctx must not leave the connection in
		// a transaction for the pool to hand out.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
			// Still in a transaction, or unknown: close the connection
			// instead of returning it to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	return nil
}

// checkSQLite fails unless a connection of db has the settings the store
// relies on. Every connection of a pool opened with one DSN has the same.
func checkSQLite(ctx context.Context, db *sql.DB) error {
	var fk, busy int
	if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		return fmt.Errorf("sqlstore: checking SQLite settings: %w", err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
		return fmt.Errorf("sqlstore: checking SQLite settings: %w", err)
	}
	var errs []error
	if fk != 1 {
		// Without it, deleting a parent row leaves orphans behind.
		errs = append(errs, fmt.Errorf("%w: foreign_keys is off", ErrConnectionSetup))
	}
	if busy <= 0 {
		// Without it, a write that meets another writer fails at once
		// with SQLITE_BUSY instead of waiting its turn.
		errs = append(errs, fmt.Errorf("%w: busy_timeout is 0", ErrConnectionSetup))
	}
	return errors.Join(errs...)
}
