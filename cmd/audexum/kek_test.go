package main

import (
	"bytes"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/sqlstore"
)

// sqlDB opens the env's database directly, as an attacker with a copy of
// it, or an older version of the program, would.
func (e *env) sqlDB(t *testing.T) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", sqlstore.SQLiteDSN(filepath.Join(e.dataDir, "audexum.db"))
	if e.db != "" {
		driver, dsn = "pgx", e.db
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// signingKeyRow is a row of the signing_keys table as stored.
type signingKeyRow struct {
	id    string
	priv  []byte
	kekID sql.NullString
}

func readSigningKeys(t *testing.T, db *sql.DB) []signingKeyRow {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT id, private_key, kek_id FROM signing_keys ORDER BY position`)
	if err != nil {
		t.Fatalf("reading signing_keys: %v", err)
	}
	defer rows.Close()
	var out []signingKeyRow
	for rows.Next() {
		var r signingKeyRow
		if err := rows.Scan(&r.id, &r.priv, &r.kekID); err != nil {
			t.Fatalf("reading signing_keys: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading signing_keys: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("no signing keys stored")
	}
	return out
}

// checkSealed fails the test unless every stored key is sealed under one
// key-encryption key and none is a private key in clear.
func checkSealed(t *testing.T, rows []signingKeyRow) {
	t.Helper()
	for _, r := range rows {
		if !r.kekID.Valid || r.kekID.String != rows[0].kekID.String {
			t.Errorf("key %s: kek_id = %v, want the same key-encryption key on every row", r.id, r.kekID)
		}
		if _, err := x509.ParsePKCS8PrivateKey(r.priv); err == nil {
			t.Errorf("key %s: private_key parses as a private key: stored in clear", r.id)
		}
	}
}

func checkClear(t *testing.T, rows []signingKeyRow) {
	t.Helper()
	for _, r := range rows {
		if _, err := x509.ParsePKCS8PrivateKey(r.priv); r.kekID.Valid || err != nil {
			t.Errorf("key %s: kek_id = %v, parse error %v; want a private key in clear", r.id, r.kekID, err)
		}
	}
}

func missingKEKFileMessage(dataDir string) string {
	return fmt.Sprintf("audexum: the database's signing keys are encrypted, but the key-encryption key file %s is missing; restore that file, or set AUDEXUM_KEY_ENCRYPTION_KEY to the key that encrypted them\n",
		filepath.Join(dataDir, kekFileName))
}

// TestCopiedDatabaseWithoutKeyFile: serve on SQLite, with nothing
// configured, keeps the signing keys sealed under a key file of its own,
// so a copy of the database alone (a backup, a stolen disk image) holds
// no usable signing key, and the program refuses to start on it rather
// than make up a new key-encryption key.
func TestCopiedDatabaseWithoutKeyFile(t *testing.T) {
	e := newEnv(t)
	s := e.startServer()
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "copied", "--scope", "data:read", "--json")
	s.stop(t)

	cp := newEnv(t)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(filepath.Join(e.dataDir, "audexum.db"+suffix))
		if errors.Is(err, fs.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cp.dataDir, "audexum.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	checkSealed(t, readSigningKeys(t, cp.sqlDB(t)))

	want := missingKEKFileMessage(cp.dataDir)
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0"},
		{"signing-key", "rotate"},
		// The flag allows running without a key, not ignoring keys
		// sealed under one.
		{"signing-key", "rotate", "--insecure-plaintext-signing-keys"},
	} {
		if r := cp.run("", args...); r.code != 1 || r.stderr != want {
			t.Errorf("%v on the copy: exit %d, stderr %q; want exit 1, stderr %q", args, r.code, r.stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(cp.dataDir, kekFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key-encryption key file was made up for the copy: %v", err)
	}
	// The commands that do not use the signing keys work on the copy.
	if out := cp.ok("apikey", "list", "--json"); !strings.Contains(out, k.ID) {
		t.Errorf("apikey list on the copy does not show %s:\n%s", k.ID, out)
	}

	// With the file restored, as the message says, it starts.
	b, err := os.ReadFile(filepath.Join(e.dataDir, kekFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cp.dataDir, kekFileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = cp.startServer()
	if code, _, _ := s.do(t, "GET", "/v1/data", k.Key, nil); code != 200 {
		t.Errorf("API key on the restored copy: %d, want 200", code)
	}
}

// TestDatabaseInClearSealedAtFirstStart: a database whose signing keys an
// older version stored in clear has every key sealed at the first start,
// and access tokens signed before with those keys still verify.
func TestDatabaseInClearSealedAtFirstStart(t *testing.T) {
	e := newEnv(t)
	const issuer = "https://auth.example"
	db := e.sqlDB(t)
	// An older version: signing keys stored in clear.
	old, err := sqlstore.Open(t.Context(), db, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: old.SigningKeys()})
	if err != nil {
		t.Fatal(err)
	}
	var c client
	e.jsonOK(&c, "client", "create", "--name", "old", "--type", "server", "--scope", "data:read", "--json")
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign(t.Context(), jwt.Claims{Subject: c.ClientID, ClientID: c.ClientID,
		Audience: []string{issuer + apiAudiencePath}, Scopes: auth.MustScopes("data:read")})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	// Still in clear, also after client create, which does not use the
	// signing keys.
	before := readSigningKeys(t, db)
	checkClear(t, before)

	s := e.startServer("--issuer", issuer)
	after := readSigningKeys(t, db)
	checkSealed(t, after)
	if len(after) != len(before) {
		t.Fatalf("%d keys after sealing, want the %d there were", len(after), len(before))
	}
	for i := range after {
		if after[i].id != before[i].id {
			t.Errorf("key %d: got %s, want %s", i, after[i].id, before[i].id)
		}
	}
	if code, body, _ := s.do(t, "GET", "/v1/data", tok.Value, nil); code != 200 {
		t.Errorf("token signed before the keys were sealed: %d %s, want 200", code, body)
	}
}

// TestKeyEncryptionKeyFromEnvironment: the variable wins over the file,
// no file is written next to the database when it is set, and a file that
// holds another key is refused rather than silently ignored.
func TestKeyEncryptionKeyFromEnvironment(t *testing.T) {
	e := newEnv(t)
	key := sqlstore.GenerateKeyEncryptionKey()
	e.environ = []string{envKEK + "=" + key}
	e.ok("signing-key", "rotate")
	file := filepath.Join(e.dataDir, kekFileName)
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("key file written although %s is set: %v", envKEK, err)
	}
	checkSealed(t, readSigningKeys(t, e.sqlDB(t)))

	// The keys are sealed under the variable's key: without it, and
	// without a file, the same error as for a lost file.
	e.environ = nil
	if r := e.run("", "signing-key", "rotate"); r.code != 1 || r.stderr != missingKEKFileMessage(e.dataDir) {
		t.Errorf("without the variable: exit %d, stderr %q", r.code, r.stderr)
	}

	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.environ = []string{envKEK + "=" + key}
	e.ok("signing-key", "rotate") // the same key in both: fine
	e.environ = []string{envKEK + "=" + sqlstore.GenerateKeyEncryptionKey()}
	want := fmt.Sprintf("audexum: AUDEXUM_KEY_ENCRYPTION_KEY differs from the key in %s; unset the variable to use the file, or set it to the file's key\n", file)
	if r := e.run("", "signing-key", "rotate"); r.code != 1 || r.stderr != want {
		t.Errorf("variable and file differ: exit %d, stderr %q; want exit 1, stderr %q", r.code, r.stderr, want)
	}
	e.environ = nil
	e.ok("signing-key", "rotate") // the file alone
}

// TestKeyEncryptionKeyFileRace: processes creating the key file at once
// all end up with one key, the one that was linked first; no temporary
// file is left behind.
func TestKeyEncryptionKeyFileRace(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, kekFileName)
	const n = 8
	keys := make([][]byte, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], created[i], errs[i] = createKEKFile(name)
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("createKEKFile %d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Errorf("caller %d got another key than caller 0", i)
		}
	}
	if winners != 1 {
		t.Errorf("%d callers created the file, want exactly 1", winners)
	}
	if k, err := readKEKFile(name); err != nil || !bytes.Equal(k, keys[0]) {
		t.Errorf("file holds another key than the callers got (err %v)", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only %s", len(entries), kekFileName)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 {
		t.Errorf("key file has mode %04o, want 0600", perm)
	}
}

// TestPostgresKeyEncryptionKeyRequired: on PostgreSQL, serve and
// signing-key rotate need the variable, or the flag that stores the keys
// in clear; the other commands need neither. Keys stored in clear that
// way are sealed at the first start with the variable.
func TestPostgresKeyEncryptionKeyRequired(t *testing.T) {
	e := newPostgresEnv(t)
	withKEK := e.environ
	e.environ = nil
	want := "audexum: PostgreSQL needs AUDEXUM_KEY_ENCRYPTION_KEY to encrypt the signing keys: set it to the same 32 random bytes in base64 on every instance (openssl rand -base64 32), or pass --insecure-plaintext-signing-keys to store them in clear\n"
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0", "--issuer", "https://audexum.test"}, {"signing-key", "rotate"}} {
		if r := e.run("", args...); r.code != 1 || r.stderr != want {
			t.Errorf("%v without %s: exit %d, stderr %q; want exit 1, stderr %q", args, envKEK, r.code, r.stderr, want)
		}
	}
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "pg", "--scope", "data:read", "--json")

	s := e.startServer("--insecure-plaintext-signing-keys")
	if code, _, _ := s.do(t, "GET", "/v1/data", k.Key, nil); code != 200 {
		t.Errorf("GET /v1/data: %d, want 200", code)
	}
	s.stop(t)
	if !strings.Contains(s.stderr.String(), "signing keys are stored in clear") {
		t.Errorf("serve with --insecure-plaintext-signing-keys did not warn:\n%s", s.stderr)
	}
	db := e.sqlDB(t)
	checkClear(t, readSigningKeys(t, db))

	e.environ = withKEK
	s = e.startServer()
	checkSealed(t, readSigningKeys(t, db))
	if code, _, _ := s.do(t, "GET", "/v1/data", k.Key, nil); code != 200 {
		t.Errorf("GET /v1/data after sealing: %d, want 200", code)
	}
}
