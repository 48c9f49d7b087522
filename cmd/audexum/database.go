package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/audexum/auth/sqlstore"
)

// sqliteDatabase makes sure the SQLite database of cm is there to open.
// Only serve (create) makes a new one: a management command on a data
// directory with no database is a mistyped --data-dir, and creating an
// empty database there would hide the mistake behind "not found" answers.
// A zero-length file is never taken for a new database: it is what a
// crash or a careless copy leaves, and its keys and clients are gone.
func sqliteDatabase(ctx context.Context, cm common, create bool) error {
	name := cm.dsn()
	if cm.db == "" {
		if _, err := os.Stat(cm.dataDir); !create && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no Audexum database in %s (start `audexum serve` once, or pass --data-dir)", cm.dataDir)
		}
		if err := privateDir(cm.dataDir); err != nil {
			return err
		}
		if _, err := os.Stat(name); !create && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no Audexum database in %s (start `audexum serve` once, or pass --data-dir)", cm.dataDir)
		}
	}
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return fmt.Errorf("no Audexum database at %s (start `audexum serve --db %s` once, or check --db)", name, shellQuote(name))
		}
		return createDatabase(ctx, name)
	case err != nil:
		return fmt.Errorf("database: %w", err)
	case fi.IsDir():
		return fmt.Errorf("database %s is a directory", name)
	case fi.Size() == 0:
		return fmt.Errorf("database %s is empty (0 bytes), not an Audexum database: restore it from a backup, or remove it and start `audexum serve` to make a new one", name)
	}
	return nil
}

// createDatabase makes a new SQLite database at name, with its schema, as
// one unit: built in a temporary file of the same directory (mode 0600,
// which SQLite gives the -wal and -shm files too) and linked to name only
// if name is still absent. Of processes starting at once, one database
// wins and the others open it; a crash leaves no half-made file at name,
// only a temporary one beside it.
func createDatabase(ctx context.Context, name string) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	if err := initDatabase(ctx, tmp); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := os.Link(tmp, name); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("database: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// initDatabase applies the schema to the SQLite file tmp and leaves every
// page in the file itself (no write-ahead log beside it), synced.
func initDatabase(ctx context.Context, tmp string) error {
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(tmp))
	if err != nil {
		return err
	}
	if _, err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		db.Close()
		return err
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
