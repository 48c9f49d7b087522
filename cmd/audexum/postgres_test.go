package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
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

// TestPostgresOneIssuer: a fleet on one PostgreSQL database has one
// issuer. serve needs --issuer there, and an instance started with
// another issuer than the first one's is refused instead of minting
// tokens the others would refuse.
func TestPostgresOneIssuer(t *testing.T) {
	e := newPostgresEnv(t)
	r := e.run("", "serve", "--addr", "127.0.0.1:0")
	if want := "audexum: serve: --issuer is required with a PostgreSQL database: every instance must put the same issuer in its tokens (for example --issuer https://auth.example.com)\n"; r.code != 2 || r.stderr != want {
		t.Errorf("serve without --issuer: exit %d, stderr %q; want exit 2, %q", r.code, r.stderr, want)
	}
	s := e.startServer("--issuer", "https://auth.example")
	r = e.run("", "serve", "--addr", "127.0.0.1:0", "--issuer", "https://other.example")
	if want := "audexum: --issuer https://other.example: another issuer serves this database (every instance must use the one it was first started with): sqlstore: another issuer serves this database: this database's issuer is https://auth.example, not https://other.example\n"; r.code != 1 || r.stderr != want {
		t.Errorf("second instance with another issuer: exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}
	// The same issuer is welcome.
	e.startServer("--issuer", "https://auth.example").stop(t)
	s.stop(t)
}

// TestDatabaseFromEnvironment: the DSN, with its password, may come from
// AUDEXUM_DB instead of --db, and --help does not print it.
func TestDatabaseFromEnvironment(t *testing.T) {
	e := newPostgresEnv(t)
	viaEnv := &env{t: t, dataDir: e.dataDir, environ: append([]string{envDB + "=" + e.db}, e.environ...)}
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "via-flag", "--scope", "data:read", "--json")
	if out := viaEnv.ok("apikey", "list"); !strings.Contains(out, k.ID) {
		t.Errorf("apikey list with %s: key %s not listed:\n%s", envDB, k.ID, out)
	}
	if r := viaEnv.run("", "apikey", "list", "-h"); strings.Contains(r.stdout+r.stderr, e.db) {
		t.Errorf("apikey list -h prints the DSN from %s", envDB)
	}
}
