package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/audexum/auth/sqlstore"
)

// newPostgresEnv returns an env on a fresh PostgreSQL schema, whose
// commands have a key-encryption key (serve needs one on PostgreSQL), or
// skips the test, saying why, when no test database is configured.
func newPostgresEnv(t *testing.T) *env {
	t.Helper()
	dsn := os.Getenv("AUDEXUM_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("AUDEXUM_TEST_POSTGRES_DSN is not set; run scripts/postgres-for-tests.sh to test against PostgreSQL")
	}
	e := newEnv(t)
	e.db = freshPostgresDB(t, dsn)
	e.environ = []string{envKEK + "=" + sqlstore.GenerateKeyEncryptionKey()}
	return e
}

// freshPostgresDB creates a new, empty schema in the database dsn points
// at, drops it when the test ends, and returns a DSN whose search_path is
// that schema, so each test starts from nothing and tests do not see each
// other's keys. (The test role owns its database but may not create
// databases.)
func freshPostgresDB(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "audexum_cli_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("AUDEXUM_TEST_POSTGRES_DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
