package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/audexum/auth"
	"github.com/audexum/auth/sqlstore"
)

// postgresEnv names the variable holding the DSN of a PostgreSQL database
// the tests may create schemas in. scripts/postgres-for-tests.sh starts
// one and prints it.
const postgresEnv = "AUDEXUM_TEST_POSTGRES_DSN"

// testDB is one empty database; open returns a new, independent *sql.DB
// handle on it each time it is called (a second process, as far as the
// database can tell).
type testDB struct {
	dialect sqlstore.Dialect
	open    func(t testing.TB) *sql.DB
	// pgConfig is the parsed connection config, PostgreSQL only.
	pgConfig *pgx.ConnConfig
	// path and dsn are the database file and its data source name,
	// SQLite only.
	path, dsn string
}

// stdlibDSN registers db's PostgreSQL config with pgx's stdlib and
// returns the name sql.Open("pgx", …) accepts for it.
func stdlibDSN(t testing.TB, db testDB) string {
	name := stdlib.RegisterConnConfig(db.pgConfig.Copy())
	t.Cleanup(func() { stdlib.UnregisterConnConfig(name) })
	return name
}

// fresh returns another empty database of the same engine.
func (db testDB) fresh(t testing.TB) testDB {
	if db.dialect == sqlstore.Postgres {
		return postgresDB(t)
	}
	return sqliteDB(t)
}

// engines runs fn once per engine as subtests "sqlite" and "postgres",
// each with a fresh database. The PostgreSQL run is skipped, with the
// reason printed, when no test database is configured.
func engines(t *testing.T, fn func(t *testing.T, db testDB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresDB(t)) })
}

// sqliteDB returns a fresh SQLite database in a temporary file.
func sqliteDB(t testing.TB) testDB {
	path := filepath.Join(t.TempDir(), "audexum.db")
	dsn := sqlstore.SQLiteDSN(path)
	return testDB{
		dialect: sqlstore.SQLite,
		path:    path,
		dsn:     dsn,
		open: func(t testing.TB) *sql.DB {
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				t.Fatalf("sql.Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
}

// postgresDB returns a fresh schema of the test database, dropped when the
// test ends, or skips the test when none is configured.
func postgresDB(t testing.TB) testDB {
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skip(postgresEnv + " not set: skipping PostgreSQL test (run scripts/postgres-for-tests.sh and export what it prints)")
	}
	base, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parsing %s: %v", postgresEnv, err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "audexum_test_" + hex.EncodeToString(b[:])

	admin := stdlib.OpenDB(*base)
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db := stdlib.OpenDB(*base)
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	cfg := base.Copy()
	cfg.RuntimeParams["search_path"] = schema
	return testDB{
		dialect:  sqlstore.Postgres,
		pgConfig: cfg,
		open: func(t testing.TB) *sql.DB {
			db := stdlib.OpenDB(*cfg.Copy())
			// Bounded, as a production pool is: two handles racing 50
			// goroutines would otherwise use up the server's default
			// 100 connections.
			db.SetMaxOpenConns(16)
			t.Cleanup(func() { db.Close() })
			return db
		},
	}
}

// waitForNotification is Config.WaitForNotification for pgx.
func waitForNotification(ctx context.Context, c any) error {
	_, err := c.(*stdlib.Conn).Conn().WaitForNotification(ctx)
	return err
}

// openStore opens a Store on a new handle of db.
func openStore(t testing.TB, db testDB) *sqlstore.Store {
	t.Helper()
	return openStoreOn(t, db.open(t), db.dialect)
}

func openStoreOn(t testing.TB, h *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	return openStoreCfg(t, h, sqlstore.Config{Dialect: d, InsecurePlaintextSigningKeys: true})
}

// openStoreCfg opens a Store with cfg, adding the pgx notification waiter
// on PostgreSQL.
func openStoreCfg(t testing.TB, h *sql.DB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	if cfg.Dialect == sqlstore.Postgres && cfg.WaitForNotification == nil {
		cfg.WaitForNotification = waitForNotification
	}
	s, err := sqlstore.Open(context.Background(), h, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustScopes(toks ...string) auth.Scopes { return auth.MustScopes(toks...) }
