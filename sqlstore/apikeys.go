package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// APIKeys is the [apikey.Store] of a [Store]: tables api_keys and
// api_key_scopes. Get it from [Store.APIKeys]; it is safe for concurrent
// use.
//
// Not-found and the other refusals are the apikey package's sentinels
// ([apikey.ErrNotFound], …), so the apikey verifier tells an unknown key
// from a database that cannot answer; every other error is the database's,
// wrapped, and the verifier answers it with 503. Every change (creation,
// revocation, rotation: the old key and the new one) is recorded in the
// change log ([KindAPIKey]) in its own transaction, so verifiers in other
// processes drop what they cached of the key (see [Store.Follow]).
type APIKeys struct{ s *Store }

var _ apikey.Store = (*APIKeys)(nil)

// APIKeys returns the store of API key records.
func (s *Store) APIKeys() *APIKeys { return &APIKeys{s: s} }

const apiKeyColumns = `k.id, k.hash, k.pepper_version, k.env, k.name, k.description, k.owner,
	k.created_at, k.expires_at, k.revoked_at, k.revoke_reason, k.rotated_from, k.replaced_by,
	k.last_used_at, s.scope`

// One row per scope (or one row with a NULL scope), so a record and its
// scopes come in one statement.
const apiKeyGet = `SELECT ` + apiKeyColumns + `
FROM api_keys k LEFT JOIN api_key_scopes s ON s.key_id = k.id
WHERE k.id = $1`

// CreateKey implements [apikey.Store].
func (a *APIKeys) CreateKey(ctx context.Context, rec apikey.Record) error {
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertAPIKey(ctx, tx, &rec); err != nil {
			return err
		}
		if err := a.s.record(ctx, tx, KindAPIKey, ActionCreated, rec.ID, keyDetails(&rec)); err != nil {
			return err
		}
		// A verifier may hold "no such key" for this ID (its negative
		// cache): the new key must not wait for that entry to expire.
		return a.s.recordChange(ctx, tx, KindAPIKey, rec.ID)
	})
	if err != nil && !errors.Is(err, apikey.ErrDuplicateID) {
		return fmt.Errorf("sqlstore: insert api key: %w", err)
	}
	return err
}

// keyDetails are the audit details of a new key: no hash, no
// description (free text that could hold anything).
func keyDetails(rec *apikey.Record) AuditDetails {
	return AuditDetails{Name: rec.Name, Owner: rec.Owner, Scopes: scopeList(rec.Scopes),
		ExpiresAt: timeRef(rec.ExpiresAt), RotatedFrom: rec.RotatedFrom}
}

// insertAPIKey inserts rec and its scopes, or fails with
// apikey.ErrDuplicateID having written nothing. It is the first write of
// the callers' transactions.
func insertAPIKey(ctx context.Context, tx *sql.Tx, rec *apikey.Record) error {
	// ON CONFLICT DO NOTHING rather than catching the unique violation:
	// the error codes differ per driver, the affected-row count does not.
	res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, hash, pepper_version, env, name, description, owner,
	created_at, expires_at, revoked_at, revoke_reason, rotated_from, replaced_by, last_used_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (id) DO NOTHING`,
		rec.ID, rec.Hash[:], rec.PepperVersion, string(rec.Env), rec.Name, rec.Description, rec.Owner,
		micros(rec.CreatedAt), nullMicros(rec.ExpiresAt), nullMicros(rec.RevokedAt), rec.RevokeReason,
		nullString(rec.RotatedFrom), nullString(rec.ReplacedBy), nullMicros(rec.LastUsedAt))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return apikey.ErrDuplicateID
	}
	return insertScopes(ctx, tx, "api_key_scopes", "key_id", rec.ID, rec.Scopes)
}

// insertScopes inserts the scopes of the row id of a parent table in one
// statement.
func insertScopes(ctx context.Context, tx *sql.Tx, table, column, id string, scopes auth.Scopes) error {
	if scopes.Len() == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (" + column + ", scope) VALUES ")
	args := make([]any, 1, 1+scopes.Len())
	args[0] = id
	for tok := range scopes.All() {
		if len(args) > 1 {
			q.WriteString(", ")
		}
		args = append(args, tok)
		q.WriteString("($1, $" + strconv.Itoa(len(args)) + ")")
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// Key implements [apikey.Store].
func (a *APIKeys) Key(ctx context.Context, id string) (apikey.Record, error) {
	if !storable(id) {
		return apikey.Record{}, apikey.ErrNotFound
	}
	st, err := a.s.stmt(ctx, apiKeyGet)
	if err != nil {
		return apikey.Record{}, fmt.Errorf("sqlstore: get api key: %w", err)
	}
	rows, err := st.QueryContext(ctx, id)
	if err != nil {
		return apikey.Record{}, fmt.Errorf("sqlstore: get api key: %w", err)
	}
	recs, err := scanAPIKeys(rows)
	switch {
	case err != nil:
		return apikey.Record{}, fmt.Errorf("sqlstore: get api key: %w", err)
	case len(recs) == 0:
		return apikey.Record{}, apikey.ErrNotFound
	}
	return recs[0], nil
}

// ListKeys implements [apikey.Store].
func (a *APIKeys) ListKeys(ctx context.Context, f apikey.Filter) ([]apikey.Record, error) {
	var (
		where []string
		args  []any
	)
	if f.Owner != "" {
		args = append(args, f.Owner)
		where = append(where, "k.owner = $"+strconv.Itoa(len(args)))
	}
	if !f.ExpiresBefore.IsZero() {
		args = append(args, micros(f.ExpiresBefore))
		where = append(where, "k.expires_at < $"+strconv.Itoa(len(args)))
	}
	q := `SELECT ` + apiKeyColumns + `
FROM api_keys k LEFT JOIN api_key_scopes s ON s.key_id = k.id`
	if len(where) > 0 {
		q += "\nWHERE " + strings.Join(where, " AND ")
	}
	q += "\nORDER BY k.created_at, k.id"
	rows, err := a.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list api keys: %w", err)
	}
	recs, err := scanAPIKeys(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list api keys: %w", err)
	}
	return recs, nil
}

// scanAPIKeys reads records from rows holding apiKeyColumns, the rows of
// one record adjacent, and closes rows.
func scanAPIKeys(rows *sql.Rows) ([]apikey.Record, error) {
	defer rows.Close()
	var (
		recs []apikey.Record
		toks []string
	)
	finish := func() error {
		if len(recs) == 0 {
			return nil
		}
		sc, err := auth.NewScopes(toks...)
		if err != nil {
			return fmt.Errorf("%w: api key %q: %w", ErrCorruptRecord, recs[len(recs)-1].ID, err)
		}
		recs[len(recs)-1].Scopes = sc
		toks = toks[:0]
		return nil
	}
	for rows.Next() {
		var (
			r                                 apikey.Record
			hash                              []byte
			env                               string
			created                           int64
			expires, revoked, lastUsed        sql.NullInt64
			rotatedFrom, replacedBy, scopeTok sql.NullString
		)
		if err := rows.Scan(&r.ID, &hash, &r.PepperVersion, &env, &r.Name, &r.Description, &r.Owner,
			&created, &expires, &revoked, &r.RevokeReason, &rotatedFrom, &replacedBy,
			&lastUsed, &scopeTok); err != nil {
			return nil, err
		}
		if len(recs) == 0 || recs[len(recs)-1].ID != r.ID {
			if err := finish(); err != nil {
				return nil, err
			}
			if len(hash) != apikey.HashSize {
				return nil, fmt.Errorf("%w: api key %q: hash of %d bytes", ErrCorruptRecord, r.ID, len(hash))
			}
			copy(r.Hash[:], hash)
			r.Env = apikey.Env(env)
			r.CreatedAt = fromMicros(created)
			r.ExpiresAt = fromNullMicros(expires)
			r.RevokedAt = fromNullMicros(revoked)
			r.LastUsedAt = fromNullMicros(lastUsed)
			r.RotatedFrom, r.ReplacedBy = rotatedFrom.String, replacedBy.String
			recs = append(recs, r)
		}
		if scopeTok.Valid {
			toks = append(toks, scopeTok.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return recs, nil
}

// RevokeKey implements [apikey.Store]. The revocation is recorded in the
// change log, so other processes drop their cached copy (see
// [Store.Watch]).
func (a *APIKeys) RevokeKey(ctx context.Context, id string, at time.Time, reason string) error {
	if !storable(id) {
		return apikey.ErrNotFound
	}
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		// Conditional on "not revoked yet", so of two concurrent
		// revocations exactly one writes and the first reason stands.
		// RETURNING the owner, for the audit row.
		var owner string
		err := tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = $2, revoke_reason = $3
WHERE id = $1 AND revoked_at IS NULL RETURNING owner`, id, micros(at), reason).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return whyNoAPIKey(ctx, tx, id, apikey.ErrAlreadyRevoked)
		case err != nil:
			return err
		}
		if err := a.s.record(ctx, tx, KindAPIKey, ActionRevoked, id, AuditDetails{Owner: owner, Reason: reason}); err != nil {
			return err
		}
		return a.s.recordChange(ctx, tx, KindAPIKey, id)
	})
	if err != nil && !errors.Is(err, apikey.ErrNotFound) && !errors.Is(err, apikey.ErrAlreadyRevoked) {
		return fmt.Errorf("sqlstore: revoke api key: %w", err)
	}
	return err
}

// whyNoAPIKey returns apikey.ErrNotFound if id does not exist, else
// ifExists.
func whyNoAPIKey(ctx context.Context, tx *sql.Tx, id string, ifExists error) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM api_keys WHERE id = $1`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return apikey.ErrNotFound
	case err != nil:
		return err
	}
	return ifExists
}

// RotateKey implements [apikey.Store]: one transaction whose first statement
// is a compare-and-swap on the old key (active and not yet replaced), so of
// concurrent rotations exactly one matches a row. On PostgreSQL the losers
// wait on the winner's row lock and then re-check the condition against
// the committed row; on SQLite writers take turns.
func (a *APIKeys) RotateKey(ctx context.Context, oldID string, next apikey.Record, graceUntil, now time.Time) error {
	if !storable(oldID) {
		return apikey.ErrNotFound
	}
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		g := micros(graceUntil)
		res, err := tx.ExecContext(ctx, `UPDATE api_keys
SET replaced_by = $2,
	expires_at = CASE WHEN expires_at IS NULL OR expires_at > $3 THEN $3 ELSE expires_at END
WHERE id = $1 AND revoked_at IS NULL AND replaced_by IS NULL
	AND (expires_at IS NULL OR expires_at > $4)`, oldID, next.ID, g, micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whyNoAPIKey(ctx, tx, oldID, apikey.ErrNotActive)
		}
		// A duplicate ID rolls the whole transaction back: nothing
		// changes.
		if err := insertAPIKey(ctx, tx, &next); err != nil {
			return err
		}
		if err := a.s.record(ctx, tx, KindAPIKey, ActionRotated, oldID,
			AuditDetails{Name: next.Name, Owner: next.Owner, RotatedTo: next.ID, OldValidUntil: timeRef(graceUntil)}); err != nil {
			return err
		}
		created := next
		if created.RotatedFrom == "" {
			created.RotatedFrom = oldID
		}
		if err := a.s.record(ctx, tx, KindAPIKey, ActionCreated, next.ID, keyDetails(&created)); err != nil {
			return err
		}
		if err := a.s.recordChange(ctx, tx, KindAPIKey, oldID); err != nil {
			return err
		}
		return a.s.recordChange(ctx, tx, KindAPIKey, next.ID)
	})
	if err != nil && !errors.Is(err, apikey.ErrNotFound) && !errors.Is(err, apikey.ErrNotActive) &&
		!errors.Is(err, apikey.ErrDuplicateID) {
		return fmt.Errorf("sqlstore: rotate api key: %w", err)
	}
	return err
}

// touchChunk is how many keys one last-used statement updates: well under
// the bind-parameter limits of both engines.
const touchChunk = 200

// TouchLastUsed implements [apikey.Store]. Each chunk of the batch is one
// UPDATE … FROM (VALUES …) statement whose condition only moves times
// forward, so a batch that arrives late, twice or out of order never moves
// a time back, and a batch that failed halfway can simply be sent again.
// IDs go in sorted order, so two processes updating overlapping keys lock
// rows in the same order.
func (a *APIKeys) TouchLastUsed(ctx context.Context, batch map[string]time.Time) error {
	ids := make([]string, 0, len(batch))
	for id := range batch {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, touchChunk) {
		var q strings.Builder
		q.WriteString(`UPDATE api_keys SET last_used_at = v.column2 FROM (VALUES `)
		args := make([]any, 0, 2*len(chunk))
		for i, id := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			args = append(args, id, micros(batch[id]))
			// CAST, not ::, is spelled the same on both engines; the
			// types let PostgreSQL compare the columns.
			q.WriteString("(CAST($" + strconv.Itoa(len(args)-1) + " AS TEXT), CAST($" + strconv.Itoa(len(args)) + " AS BIGINT))")
		}
		q.WriteString(`) AS v
WHERE api_keys.id = v.column1 AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.column2)`)
		if _, err := a.s.db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: touch api keys: %w", err)
		}
	}
	return nil
}
