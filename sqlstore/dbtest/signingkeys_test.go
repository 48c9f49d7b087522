package dbtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/sqlstore"
)

func testKEK(b byte) []byte { return bytes.Repeat([]byte{b}, sqlstore.KeyEncryptionKeySize) }

// openStoreKEK opens a Store sealing signing keys under kek, or, with a
// nil kek, storing them in clear (InsecurePlaintextSigningKeys).
func openStoreKEK(t testing.TB, db testDB, kek []byte, onWarning func(error)) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), db.open(t), sqlstore.Config{
		Dialect: db.dialect, KeyEncryptionKey: kek, InsecurePlaintextSigningKeys: kek == nil, OnWarning: onWarning,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newKeySet(t testing.TB, ks jwt.KeyStore) *jwt.KeyManager {
	t.Helper()
	set, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: ks})
	if err != nil {
		t.Fatalf("NewKeyManager: %v", err)
	}
	return set
}

func storedIDs(t testing.TB, ks jwt.KeyStore) []string {
	t.Helper()
	keys, err := ks.LoadKeys(t.Context())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestSigningKeysSharedAndEncrypted: a key set saved by one instance is
// the one another instance loads; private keys are sealed at rest and need
// the same key-encryption key.
func TestSigningKeysSharedAndEncrypted(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		a := openStoreKEK(t, db, testKEK(1), nil).SigningKeys()
		if !a.Encrypted() {
			t.Fatal("Encrypted() = false with a key-encryption key")
		}
		setA := newKeySet(t, a)
		if err := setA.Rotate(t.Context()); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		setB := newKeySet(t, openStoreKEK(t, db, testKEK(1), nil).SigningKeys())
		if got, want := setB.ActiveKeyID(), setA.ActiveKeyID(); got != want {
			t.Errorf("second instance's active key: got %s, want %s", got, want)
		}
		jwksA, _ := setA.PublicJWKS()
		jwksB, _ := setB.PublicJWKS()
		if !bytes.Equal(jwksA, jwksB) {
			t.Errorf("instances publish different key sets:\n%s\n%s", jwksA, jwksB)
		}

		// The database holds no private key in clear.
		keys, err := a.LoadKeys(t.Context())
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		raw := db.open(t)
		for _, k := range keys {
			var stored []byte
			if err := raw.QueryRowContext(t.Context(), `SELECT private_key FROM signing_keys WHERE id = $1`, k.ID).Scan(&stored); err != nil {
				t.Fatalf("reading row: %v", err)
			}
			if bytes.Contains(stored, k.PrivateKey) || bytes.Contains(stored, k.PrivateKey[len(k.PrivateKey)-32:]) {
				t.Errorf("key %s: private key stored in clear", k.ID)
			}
		}

		_, err = openStoreKEK(t, db, testKEK(2), nil).SigningKeys().LoadKeys(t.Context())
		if !errors.Is(err, sqlstore.ErrWrongKeyEncryptionKey) {
			t.Errorf("Load with another key-encryption key: got %v, want ErrWrongKeyEncryptionKey", err)
		}
		_, err = openStoreKEK(t, db, nil, nil).SigningKeys().LoadKeys(t.Context())
		if !errors.Is(err, sqlstore.ErrKeyEncryptionKeyRequired) {
			t.Errorf("Load without a key-encryption key: got %v, want ErrKeyEncryptionKeyRequired", err)
		}

		// A sealed key moved onto another row does not open.
		if _, err := raw.ExecContext(t.Context(), `UPDATE signing_keys SET private_key = (SELECT private_key FROM signing_keys WHERE id = $1) WHERE id = $2`,
			keys[0].ID, keys[1].ID); err != nil {
			t.Fatalf("swapping rows: %v", err)
		}
		if _, err := a.LoadKeys(t.Context()); !errors.Is(err, sqlstore.ErrCorruptRecord) {
			t.Errorf("Load of a moved ciphertext: got %v, want ErrCorruptRecord", err)
		}
	})
}

// TestSigningKeysUnencryptedWarns: without a key-encryption key the store
// works, says so once through OnWarning, and keys saved in clear are
// sealed as soon as a Store with a key opens the database.
func TestSigningKeysUnencryptedWarns(t *testing.T) {
	db := sqliteDB(t)
	var warnings []error
	s := openStoreKEK(t, db, nil, func(err error) { warnings = append(warnings, err) })
	clear1 := s.SigningKeys()
	s.SigningKeys()
	if clear1.Encrypted() {
		t.Error("Encrypted() = true without a key-encryption key")
	}
	if len(warnings) != 1 || !errors.Is(warnings[0], sqlstore.ErrUnencryptedSigningKeys) {
		t.Fatalf("warnings: got %v, want one ErrUnencryptedSigningKeys", warnings)
	}
	set := newKeySet(t, clear1)

	sealed := openStoreKEK(t, db, testKEK(7), func(err error) { t.Errorf("unexpected warning: %v", err) }).SigningKeys()
	if _, err := clear1.LoadKeys(t.Context()); !errors.Is(err, sqlstore.ErrKeyEncryptionKeyRequired) {
		t.Errorf("after an Open with a key-encryption key, Load without: got %v, want ErrKeyEncryptionKeyRequired", err)
	}
	set2 := newKeySet(t, sealed)
	if set2.ActiveKeyID() != set.ActiveKeyID() {
		t.Fatalf("active key: got %s, want %s", set2.ActiveKeyID(), set.ActiveKeyID())
	}
	if err := set2.Rotate(t.Context()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
}

// signingKeyRow is a row of signing_keys as stored.
type signingKeyRow struct {
	ID         string
	PrivateKey []byte
	KEKID      sql.NullString
}

func signingKeyRows(t testing.TB, h *sql.DB) []signingKeyRow {
	t.Helper()
	rows, err := h.QueryContext(t.Context(), `SELECT id, private_key, kek_id FROM signing_keys ORDER BY position`)
	if err != nil {
		t.Fatalf("reading signing_keys: %v", err)
	}
	defer rows.Close()
	var out []signingKeyRow
	for rows.Next() {
		var r signingKeyRow
		if err := rows.Scan(&r.ID, &r.PrivateKey, &r.KEKID); err != nil {
			t.Fatalf("reading signing_keys: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading signing_keys: %v", err)
	}
	return out
}

// TestOpenSealsKeysStoredInClear: a database whose keys were saved in
// clear (by a version, or a configuration, without a key-encryption key)
// has every key sealed by the first Open with a key, also when several
// instances start at once; the keys themselves do not change, and an
// instance still holding the set in clear cannot save it in clear again.
func TestOpenSealsKeysStoredInClear(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		old := newKeySet(t, openStoreKEK(t, db, nil, nil).SigningKeys())
		before, err := openStoreKEK(t, db, nil, nil).SigningKeys().LoadKeys(t.Context())
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		raw := db.open(t)
		for _, r := range signingKeyRows(t, raw) {
			if r.KEKID.Valid {
				t.Fatalf("key %s sealed before any key-encryption key was set", r.ID)
			}
		}

		const n = 4
		handles := []*sql.DB{db.open(t), db.open(t)}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				s, err := sqlstore.Open(context.Background(), handles[i%2], sqlstore.Config{Dialect: db.dialect, KeyEncryptionKey: testKEK(3)})
				if err == nil {
					s.Close()
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d with a key-encryption key: %v", i, err)
			}
		}

		rows := signingKeyRows(t, raw)
		if len(rows) != len(before) {
			t.Fatalf("%d rows after sealing, want %d", len(rows), len(before))
		}
		for i, r := range rows {
			if r.ID != before[i].ID {
				t.Errorf("row %d: got key %s, want %s", i, r.ID, before[i].ID)
			}
			if !r.KEKID.Valid || r.KEKID.String != rows[0].KEKID.String {
				t.Errorf("key %s: kek_id = %v, want the same key-encryption key on every row", r.ID, r.KEKID)
			}
			if bytes.Contains(r.PrivateKey, before[i].PrivateKey[len(before[i].PrivateKey)-32:]) {
				t.Errorf("key %s: private key still stored in clear", r.ID)
			}
		}
		after, err := openStoreKEK(t, db, testKEK(3), nil).SigningKeys().LoadKeys(t.Context())
		if err != nil {
			t.Fatalf("Load with the key-encryption key: %v", err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("keys changed by sealing (-before +after):\n%s", diff)
		}

		// The instance that loaded the set in clear may not undo this.
		if err := old.Rotate(t.Context()); !errors.Is(err, sqlstore.ErrKeyEncryptionKeyRequired) {
			t.Errorf("Rotate by a Store without a key-encryption key over sealed keys: got %v, want ErrKeyEncryptionKeyRequired", err)
		}
		for _, r := range signingKeyRows(t, raw) {
			if !r.KEKID.Valid {
				t.Errorf("key %s stored in clear again", r.ID)
			}
		}
	})
}

// TestOpenSealsInOneTransaction: when sealing fails part way (here a
// trigger refuses the update of the last key), Open fails and every key
// is still as it was, none sealed; the next Open seals them all.
func TestOpenSealsInOneTransaction(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		newKeySet(t, openStoreKEK(t, db, nil, nil).SigningKeys())
		raw := db.open(t)
		before := signingKeyRows(t, raw)
		last := before[len(before)-1].ID
		create := []string{`CREATE TRIGGER fail_seal BEFORE UPDATE ON signing_keys WHEN NEW.id = '` + last + `'
BEGIN SELECT RAISE(ABORT, 'injected failure'); END`}
		drop := `DROP TRIGGER fail_seal`
		if db.dialect == sqlstore.Postgres {
			create = []string{
				`CREATE FUNCTION fail_seal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
				`CREATE TRIGGER fail_seal BEFORE UPDATE ON signing_keys FOR EACH ROW WHEN (NEW.id = '` + last + `') EXECUTE FUNCTION fail_seal()`,
			}
			drop = `DROP TRIGGER fail_seal ON signing_keys`
		}
		for _, q := range create {
			if _, err := raw.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("creating the trigger: %v", err)
			}
		}

		s, err := sqlstore.Open(t.Context(), db.open(t), sqlstore.Config{Dialect: db.dialect, KeyEncryptionKey: testKEK(4)})
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded although sealing the last key failed")
		}
		if diff := cmp.Diff(before, signingKeyRows(t, raw)); diff != "" {
			t.Errorf("rows changed by a failed Open (-before +after):\n%s", diff)
		}

		if _, err := raw.ExecContext(t.Context(), drop); err != nil {
			t.Fatalf("dropping the trigger: %v", err)
		}
		openStoreKEK(t, db, testKEK(4), nil)
		for _, r := range signingKeyRows(t, raw) {
			if !r.KEKID.Valid {
				t.Errorf("key %s not sealed by the Open after the failed one", r.ID)
			}
		}
	})
}

// TestSigningKeysConcurrentRotation: instances that loaded the same set
// rotate at once, on two database handles: exactly one rotation takes
// effect and the database gains exactly one key; the others fail with
// ErrKeySetConflict and change nothing.
func TestSigningKeysConcurrentRotation(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		stores := []*sqlstore.Store{openStore(t, db), openStore(t, db)}
		newKeySet(t, stores[0].SigningKeys()) // the first keys
		before := storedIDs(t, stores[0].SigningKeys())

		const n = 10
		sets := make([]*jwt.KeyManager, n)
		for i := range sets {
			sets[i] = newKeySet(t, stores[i%2].SigningKeys())
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range sets {
			wg.Go(func() {
				<-start
				errs[i] = sets[i].Rotate(context.Background())
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, sqlstore.ErrKeySetConflict) || !errors.Is(err, jwt.ErrKeyStore):
				t.Errorf("rotation %d: got %v, want nil or ErrKeySetConflict (as jwt.ErrKeyStore)", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful rotations, want exactly 1", wins)
		}
		after := storedIDs(t, stores[1].SigningKeys())
		var added []string
		for _, id := range after {
			if !slices.Contains(before, id) {
				added = append(added, id)
			}
		}
		if len(added) != 1 {
			t.Errorf("keys added by concurrent rotations: got %v, want exactly one", added)
		}
		// A loser reloads and agrees with the winner.
		for i, err := range errs {
			if err == nil {
				continue
			}
			if err := sets[i].Reload(t.Context()); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			if got, want := storedIDs(t, stores[0].SigningKeys()), after; !slices.Equal(got, want) {
				t.Errorf("Reload changed the stored set: got %v, want %v", got, want)
			}
			break
		}
	})
}

// TestSigningKeysConcurrentStart: instances starting at once on an empty
// database each generate first keys; one set is saved, the others are
// refused as stale and adopt it, so all sign with the same key.
func TestSigningKeysConcurrentStart(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		stores := []*sqlstore.Store{openStore(t, db), openStore(t, db)}
		const n = 6
		sets := make([]*jwt.KeyManager, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				sets[i], errs[i] = jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: stores[i%2].SigningKeys()})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("NewKeyManager %d: %v", i, err)
			}
		}
		for i, s := range sets {
			if s.ActiveKeyID() != sets[0].ActiveKeyID() {
				t.Errorf("instance %d signs with %s, instance 0 with %s", i, s.ActiveKeyID(), sets[0].ActiveKeyID())
			}
		}
		if ids := storedIDs(t, stores[0].SigningKeys()); len(ids) != 2 {
			t.Errorf("stored keys: got %v, want one active and one next", ids)
		}
	})
}

// TestSigningKeysChangeKeyEncryptionKey: with the new key-encryption key
// set and the old one listed as previous, the keys still load, and the
// next rotation seals them all under the new one, after which the old one
// is no longer needed (and no longer enough).
func TestSigningKeysChangeKeyEncryptionKey(t *testing.T) {
	db := sqliteDB(t)
	old, next := testKEK(1), testKEK(2)
	set := newKeySet(t, openStoreKEK(t, db, old, nil).SigningKeys())

	s, err := sqlstore.Open(t.Context(), db.open(t), sqlstore.Config{Dialect: sqlstore.SQLite,
		KeyEncryptionKey: next, PreviousKeyEncryptionKeys: [][]byte{old}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	moved := newKeySet(t, s.SigningKeys())
	if moved.ActiveKeyID() != set.ActiveKeyID() {
		t.Fatalf("active key: got %s, want %s", moved.ActiveKeyID(), set.ActiveKeyID())
	}
	if err := moved.Rotate(t.Context()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if _, err := openStoreKEK(t, db, next, nil).SigningKeys().LoadKeys(t.Context()); err != nil {
		t.Errorf("Load with only the new key-encryption key after a rotation: %v", err)
	}
	if _, err := openStoreKEK(t, db, old, nil).SigningKeys().LoadKeys(t.Context()); !errors.Is(err, sqlstore.ErrWrongKeyEncryptionKey) {
		t.Errorf("Load with only the old key-encryption key: got %v, want ErrWrongKeyEncryptionKey", err)
	}
	_, err = sqlstore.Open(t.Context(), db.open(t), sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true, PreviousKeyEncryptionKeys: [][]byte{old}})
	if !errors.Is(err, sqlstore.ErrInvalidConfig) {
		t.Errorf("previous key-encryption keys without a current one: got %v, want ErrInvalidConfig", err)
	}
}
