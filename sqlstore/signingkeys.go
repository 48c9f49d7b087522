package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/audexum/auth/jwt"
)

// SigningKeys is the [jwt.KeyStore] of a [Store]: table
// signing_keys, so every instance signs with and publishes the same key
// set. Get it from [Store.SigningKeys]; it is safe for concurrent use.
//
// Private keys are sealed with AES-256-GCM under [Config.KeyEncryptionKey]
// when one is set (each bound to its key ID and algorithm), and stored in
// clear otherwise. Keys stored in clear before a key-encryption key was set
// are sealed by [Open] (see [Config.KeyEncryptionKey]). A Store without a
// key-encryption key does not save over sealed keys: that would store
// them in clear again.
//
// Save only accepts a set that follows from the stored one: it may add
// keys, activate or retire keys, and drop retired keys, but not drop a key
// that is active or next, nor undo an activation or retirement. A save
// computed from a stale copy (another instance rotated in between) fails
// with [ErrKeySetConflict] and changes nothing, so of concurrent rotations
// exactly one takes effect; the loser's KeyManager should Reload. Every save
// is recorded in the change log ([KindSigningKey]), so other instances can
// Reload when they see it in [Store.Watch].
type SigningKeys struct{ s *Store }

var _ jwt.KeyStore = (*SigningKeys)(nil)

// SigningKeys returns the store of signing keys. If the Store has no
// key-encryption key, the first call passes [ErrUnencryptedSigningKeys] to
// [Config.OnWarning].
func (s *Store) SigningKeys() *SigningKeys {
	if s.kek == nil {
		s.warnOnce.Do(func() {
			if s.onWarning != nil {
				s.onWarning(ErrUnencryptedSigningKeys)
			}
		})
	}
	return &SigningKeys{s: s}
}

// Encrypted reports whether private keys are sealed at rest, that is
// whether the Store has a key-encryption key.
func (ks *SigningKeys) Encrypted() bool { return ks.s.kek != nil }

type storedRow struct {
	activated, retired sql.NullInt64
	sealed             bool
}

// LoadKeys implements [jwt.KeyStore]: the keys of the last save, in the order
// they were saved. It fails with [ErrKeyEncryptionKeyRequired] if keys are
// sealed and the Store has no key-encryption key, [ErrWrongKeyEncryptionKey]
// if they were sealed under one that is neither KeyEncryptionKey nor one
// of PreviousKeyEncryptionKeys, and [ErrCorruptRecord] if a sealed key
// does not open.
func (ks *SigningKeys) LoadKeys(ctx context.Context) ([]jwt.StoredKey, error) {
	rows, err := ks.s.db.QueryContext(ctx, `SELECT id, algorithm, private_key, kek_id, created_at, activated_at, retired_at
FROM signing_keys ORDER BY position`)
	if err != nil {
		return nil, wrap("load signing keys", err)
	}
	defer rows.Close()
	var out []jwt.StoredKey
	for rows.Next() {
		var (
			k                  jwt.StoredKey
			priv               []byte
			kekID              sql.NullString
			created            int64
			activated, retired sql.NullInt64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &priv, &kekID, &created, &activated, &retired); err != nil {
			return nil, wrap("load signing keys", err)
		}
		if kekID.Valid {
			kek, err := ks.s.kekByID(kekID.String, k.ID)
			if err != nil {
				return nil, err
			}
			if priv, err = kek.open(priv, k.ID, k.Algorithm); err != nil {
				return nil, err
			}
		}
		k.PrivateKey = priv
		k.CreatedAt, k.ActivatedAt, k.RetiredAt = fromMicros(created), fromNullMicros(activated), fromNullMicros(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("load signing keys", err)
	}
	return out, nil
}

// kekByID returns the configured key-encryption key with the given ID,
// for the signing key keyID.
func (s *Store) kekByID(id, keyID string) (*kek, error) {
	if s.kek == nil && len(s.oldKEKs) == 0 {
		return nil, fmt.Errorf("%w: signing key %q", ErrKeyEncryptionKeyRequired, keyID)
	}
	if s.kek != nil && s.kek.id == id {
		return s.kek, nil
	}
	for _, k := range s.oldKEKs {
		if k.id == id {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: signing key %q was sealed under key-encryption key %s, which is not configured",
		ErrWrongKeyEncryptionKey, keyID, id)
}

// SaveKeys implements [jwt.KeyStore]: it replaces the stored set with keys in
// one transaction, after checking that keys follows from the stored set
// (see [SigningKeys]); otherwise it fails with [ErrKeySetConflict].
// A Store without a key-encryption key fails with
// [ErrKeyEncryptionKeyRequired] if any stored key is sealed.
func (ks *SigningKeys) SaveKeys(ctx context.Context, keys []jwt.StoredKey) error {
	err := ks.s.inTx(ctx, func(tx *sql.Tx) error {
		// First statement: the lock. Concurrent saves queue here, and
		// each then checks its set against the one saved before it.
		if _, err := tx.ExecContext(ctx, `UPDATE signing_key_set SET version = version + 1 WHERE id = 1`); err != nil {
			return err
		}
		stored, err := storedKeyStates(ctx, tx)
		if err != nil {
			return err
		}
		if ks.s.kek == nil {
			// A set loaded in clear before another instance sealed it
			// would otherwise undo the sealing.
			for id, st := range stored {
				if st.sealed {
					return fmt.Errorf("%w: signing key %q is sealed, and this Store would save it in clear", ErrKeyEncryptionKeyRequired, id)
				}
			}
		}
		if err := followsFrom(stored, keys); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys`); err != nil {
			return err
		}
		for i, k := range keys {
			priv, kekID := k.PrivateKey, sql.NullString{}
			if ks.s.kek != nil {
				priv, kekID = ks.s.kek.seal(k.PrivateKey, k.ID, k.Algorithm), sql.NullString{String: ks.s.kek.id, Valid: true}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, position, algorithm, private_key, kek_id, created_at, activated_at, retired_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, k.ID, i, k.Algorithm, priv, kekID,
				micros(k.CreatedAt), nullMicros(k.ActivatedAt), nullMicros(k.RetiredAt)); err != nil {
				return err
			}
		}
		if err := ks.auditActivation(ctx, tx, stored, keys); err != nil {
			return err
		}
		return ks.s.recordChange(ctx, tx, KindSigningKey, "")
	})
	return wrap("save signing keys", err, ErrKeySetConflict, ErrKeyEncryptionKeyRequired)
}

// auditActivation records, in the save's transaction, a change of the
// key that signs: [ActionCreated] for the first one, [ActionRotated] with
// RotatedFrom for a rotation. Saves that only publish or drop keys are
// not lifecycle events and write no row.
func (ks *SigningKeys) auditActivation(ctx context.Context, tx *sql.Tx, stored map[string]storedRow, keys []jwt.StoredKey) error {
	var before, after string
	for id, st := range stored {
		if st.activated.Valid && !st.retired.Valid {
			before = id
		}
	}
	for _, k := range keys {
		if !k.ActivatedAt.IsZero() && k.RetiredAt.IsZero() {
			after = k.ID
		}
	}
	switch {
	case after == "" || after == before:
		return nil
	case before == "":
		return ks.s.record(ctx, tx, KindSigningKey, ActionCreated, after, AuditDetails{})
	}
	return ks.s.record(ctx, tx, KindSigningKey, ActionRotated, after, AuditDetails{RotatedFrom: before})
}

func storedKeyStates(ctx context.Context, tx *sql.Tx) (map[string]storedRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, activated_at, retired_at, kek_id IS NOT NULL FROM signing_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]storedRow)
	for rows.Next() {
		var id string
		var r storedRow
		if err := rows.Scan(&id, &r.activated, &r.retired, &r.sealed); err != nil {
			return nil, err
		}
		out[id] = r
	}
	return out, rows.Err()
}

// followsFrom checks that next is a successor of the stored set: a key
// leaves only once retired, and a key's activation and retirement, once
// stored, never change. A set computed from a stale copy breaks one of
// these (it lacks the next key another instance added, or still shows a
// key active that another instance retired).
func followsFrom(stored map[string]storedRow, next []jwt.StoredKey) error {
	seen := make(map[string]bool, len(next))
	for _, k := range next {
		if seen[k.ID] {
			return fmt.Errorf("%w: key %q twice in the set", ErrKeySetConflict, k.ID)
		}
		seen[k.ID] = true
		st, ok := stored[k.ID]
		if !ok {
			continue
		}
		if st.activated.Valid && (k.ActivatedAt.IsZero() || micros(k.ActivatedAt) != st.activated.Int64) {
			return fmt.Errorf("%w: key %q was activated at another time", ErrKeySetConflict, k.ID)
		}
		if st.retired.Valid && (k.RetiredAt.IsZero() || micros(k.RetiredAt) != st.retired.Int64) {
			return fmt.Errorf("%w: key %q was retired at another time", ErrKeySetConflict, k.ID)
		}
	}
	for id, st := range stored {
		if !seen[id] && !st.retired.Valid {
			return fmt.Errorf("%w: the set drops key %q, which is not retired", ErrKeySetConflict, id)
		}
	}
	return nil
}

// sealClearKeys seals the signing keys stored in clear under the Store's
// key-encryption key, all in one transaction: a database upgraded from a
// version (or a configuration) without a key-encryption key has every key
// sealed at the first Open with one, not at the next rotation, which may
// be months away. A failure leaves every key as it was.
//
// It is idempotent and safe when several instances open the database at
// once: the first takes the lock every save of the set takes and seals,
// the others queue behind it and find nothing left to seal. Nothing is
// written to the change log: the keys themselves, and so every copy other
// instances hold, are unchanged.
func (s *Store) sealClearKeys(ctx context.Context) error {
	// A read first: after the first Open with a key-encryption key there
	// is nothing to seal, and no reason to take the lock.
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM signing_keys WHERE kek_id IS NULL`).Scan(&n); err != nil || n == 0 {
		return wrap("seal signing keys", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_key_set SET version = version + 1 WHERE id = 1`); err != nil {
			return err
		}
		type clearKey struct {
			id, alg string
			priv    []byte
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, algorithm, private_key FROM signing_keys WHERE kek_id IS NULL ORDER BY position`)
		if err != nil {
			return err
		}
		var keys []clearKey
		for rows.Next() {
			var k clearKey
			if err := rows.Scan(&k.id, &k.alg, &k.priv); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET private_key = $1, kek_id = $2 WHERE id = $3`,
				s.kek.seal(k.priv, k.id, k.alg), s.kek.id, k.id); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("seal signing keys", err)
}
