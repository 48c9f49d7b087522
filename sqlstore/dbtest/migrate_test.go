package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/audexum/auth/sqlstore"
)

func migrationRows(t *testing.T, h *sql.DB) (count, max int) {
	t.Helper()
	if err := h.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&count, &max); err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return count, max
}

// TestMigrateIdempotentAndConcurrent: instances starting at once on an
// empty database (each with its own handle) all open it; the migrations
// ran once; opening again changes nothing.
func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		const n = 8
		handles := make([]*sql.DB, n)
		for i := range handles {
			handles[i] = db.open(t)
		}
		errs := make([]error, n)
		versions := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				s, err := sqlstore.Open(context.Background(), handles[i], sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true})
				if err == nil {
					versions[i] = s.SchemaVersion()
					s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		want := sqlstore.SchemaVersion()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Open %d: %v", i, errs[i])
			} else if versions[i] != want {
				t.Errorf("Open %d: SchemaVersion() = %d, want %d", i, versions[i], want)
			}
		}
		if count, max := migrationRows(t, handles[0]); count != want || max != want {
			t.Errorf("schema_migrations: got %d rows up to %d, want %d up to %d", count, max, want, want)
		}
		if v, err := sqlstore.Migrate(t.Context(), handles[0], db.dialect); err != nil || v != want {
			t.Errorf("Migrate again: got %d, %v; want %d, nil", v, err, want)
		}
		if count, _ := migrationRows(t, handles[0]); count != want {
			t.Errorf("after migrating again: %d rows, want %d", count, want)
		}
	})
}

// TestMigrateRefusesNewerSchema: a database a newer program migrated is
// refused, and left as it was.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		openStoreOn(t, h, db.dialect)
		future := sqlstore.SchemaVersion() + 1
		if _, err := h.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'future.sql', 0)`, future); err != nil {
			t.Fatal(err)
		}
		_, err := sqlstore.Open(t.Context(), db.open(t), sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true})
		if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
			t.Errorf("Open: got %v, want ErrSchemaTooNew", err)
		}
		if count, max := migrationRows(t, h); count != future || max != future {
			t.Errorf("schema_migrations changed: %d rows up to %d", count, max)
		}
	})
}

// TestOpenRequiresKeyEncryptionKey: a Config that sets neither
// KeyEncryptionKey nor InsecurePlaintextSigningKeys is refused before
// Open touches the database, with an error that names the missing field;
// with InsecurePlaintextSigningKeys, the Store opens and keeps the signing
// keys in clear, as it says.
func TestOpenRequiresKeyEncryptionKey(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s, err := sqlstore.Open(t.Context(), h, sqlstore.Config{Dialect: db.dialect})
		if !errors.Is(err, sqlstore.ErrInvalidConfig) || !strings.Contains(err.Error(), "KeyEncryptionKey") {
			t.Fatalf("Open without a key-encryption key: got %v, want ErrInvalidConfig naming KeyEncryptionKey", err)
		}
		if s != nil {
			t.Errorf("Open returned a Store with its error")
		}
		var tables int
		if err := h.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&tables); err == nil {
			t.Errorf("the refused Open migrated the database")
		}

		var warnings []error
		s, err = sqlstore.Open(t.Context(), h, sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true,
			OnWarning: func(err error) { warnings = append(warnings, err) }})
		if err != nil {
			t.Fatalf("Open with InsecurePlaintextSigningKeys: %v", err)
		}
		defer s.Close()
		if s.SigningKeys().Encrypted() {
			t.Errorf("Encrypted() = true with InsecurePlaintextSigningKeys and no key")
		}
		if len(warnings) != 1 || !errors.Is(warnings[0], sqlstore.ErrUnencryptedSigningKeys) {
			t.Errorf("warnings: got %v, want one ErrUnencryptedSigningKeys", warnings)
		}
	})
}

func TestOpenConfig(t *testing.T) {
	good := sqliteDB(t).open(t)
	// A SQLite DSN without the package's settings: no foreign keys, no
	// busy timeout.
	bare, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "bare.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	tests := []struct {
		name string
		db   *sql.DB
		cfg  sqlstore.Config
		want error
	}{
		{"nil db", nil, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true}, sqlstore.ErrInvalidConfig},
		// The zero Dialect is no engine: never guessed.
		{"no dialect", good, sqlstore.Config{InsecurePlaintextSigningKeys: true}, sqlstore.ErrInvalidConfig},
		{"unknown dialect", good, sqlstore.Config{Dialect: 7, InsecurePlaintextSigningKeys: true}, sqlstore.ErrInvalidConfig},
		// The zero value fails closed: no key-encryption key is an error,
		// not signing keys stored in clear (TestOpenRequiresKeyEncryptionKey).
		{"no key-encryption key", good, sqlstore.Config{Dialect: sqlstore.SQLite}, sqlstore.ErrInvalidConfig},
		{"short key-encryption key", good, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: make([]byte, 16)}, sqlstore.ErrInvalidConfig},
		{"negative poll", good, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true, PollInterval: -1}, sqlstore.ErrInvalidConfig},
		{"negative retention", good, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true, ChangeRetention: -1}, sqlstore.ErrInvalidConfig},
		{"SQLite without the DSN settings", bare, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true}, sqlstore.ErrConnectionSetup},
		{"good", good, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: make([]byte, 32)}, nil},
		{"good, keys in clear", good, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), tt.db, tt.cfg)
			if !errors.Is(err, tt.want) || (err != nil) != (tt.want != nil) {
				t.Fatalf("Open: got %v, want %v", err, tt.want)
			}
			if s != nil {
				s.Close()
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	s := openStore(t, sqliteDB(t))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("second Close: got %v, want ErrClosed", err)
	}
	if _, err := s.APIKeys().Key(t.Context(), "x"); !errors.Is(err, sqlstore.ErrClosed) {
		t.Errorf("Get after Close: got %v, want ErrClosed", err)
	}
}

func TestSQLiteDSN(t *testing.T) {
	const settings = "?_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
	tests := []struct{ path, want string }{
		{"/var/lib/audexum/auth.db", "file:/var/lib/audexum/auth.db" + settings},
		{"auth.db", "file:auth.db" + settings},
		// Characters that would end the path or start an escape in a URI.
		{"/tmp/a?b#c%d.db", "file:/tmp/a%3Fb%23c%25d.db" + settings},
		{"/tmp/with space.db", "file:/tmp/with space.db" + settings},
	}
	for _, tt := range tests {
		if got := sqlstore.SQLiteDSN(tt.path); got != tt.want {
			t.Errorf("SQLiteDSN(%q): got %q, want %q", tt.path, got, tt.want)
		}
	}
	// The odd path works end to end.
	path := filepath.Join(t.TempDir(), "a?b#c%d.db")
	h, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	openStoreOn(t, h, sqlstore.SQLite)
	var mode string
	if err := h.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode: got %q, %v; want wal", mode, err)
	}
	var sync int
	if err := h.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous: got %d, %v; want 2 (FULL)", sync, err)
	}
}

func TestParseKeyEncryptionKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"base64", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true},
		{"base64 unpadded", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", true},
		{"hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", true},
		{"surrounding space", "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", true},
		{"too short", "AAECAwQFBgcICQoLDA0ODw==", false},
		{"empty", "", false},
		{"not an encoding", "correct horse battery staple correct horse", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlstore.ParseKeyEncryptionKey(tt.in)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("got %v, want the key", err)
			case tt.ok && string(got) != string(key):
				t.Errorf("got %x, want %x", got, key)
			case !tt.ok && !errors.Is(err, sqlstore.ErrInvalidConfig):
				t.Errorf("got %x, %v; want ErrInvalidConfig", got, err)
			}
		})
	}
	gen, err := sqlstore.ParseKeyEncryptionKey(sqlstore.GenerateKeyEncryptionKey())
	if err != nil || len(gen) != 32 {
		t.Errorf("generated key: got %d bytes, %v", len(gen), err)
	}
}

// TestOpenNewSQLiteFileAtOnce: processes opening a database file that
// does not exist yet race to convert it to WAL, which SQLite answers with
// SQLITE_BUSY that busy_timeout does not cover; Open retries it. (Rare, and
// rarer under -race: this is a smoke test; TestRetryBusy in
// busy_internal_test.go is the deterministic one.)
func TestOpenNewSQLiteFileAtOnce(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	for range rounds {
		db := sqliteDB(t)
		var wg sync.WaitGroup
		for range 8 {
			h := db.open(t)
			wg.Go(func() {
				s, err := sqlstore.Open(context.Background(), h, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
				if err != nil {
					t.Errorf("Open: %v", err)
					return
				}
				s.Close()
			})
		}
		wg.Wait()
	}
}
