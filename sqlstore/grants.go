package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// Grants is the [oauth.Grants] of a [Store]: authorization codes,
// grants with their refresh tokens, and revoked access-token IDs. Get it
// from [Store.Grants]; it is safe for concurrent use.
type Grants struct{ s *Store }

var _ oauth.GrantStore = (*Grants)(nil)

// Grants returns the store of authorization codes and grants.
func (s *Store) Grants() *Grants { return &Grants{s: s} }

// retention is how long expired codes and grants are kept, so a replay
// shortly after expiry is still recognised as reuse.
const retention = time.Hour

// CreateCode implements [oauth.GrantStore]. Codes that expired more than an
// hour before this one was created are deleted on the way.
func (gs *Grants) CreateCode(ctx context.Context, c *oauth.Code) error {
	err := gs.s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oauth_codes (hash, client_id, subject, redirect_uri,
	code_challenge, grant_id, created_at, expires_at, used_at, dpop_jkt)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (hash) DO NOTHING`,
			c.Hash[:], c.ClientID, c.Subject, c.RedirectURI, c.CodeChallenge, c.GrantID,
			micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt), c.DPoPJKT)
		if err != nil {
			return err
		}
		if err := oneRow(res, oauth.ErrAlreadyExists); err != nil {
			return err
		}
		if err := insertScopeRows(ctx, tx, "oauth_code_scopes", "code_hash", c.Hash[:], c.Scopes); err != nil {
			return err
		}
		return gs.sweep(ctx, tx, "oauth_codes", "hash", c.CreatedAt.Add(-retention))
	})
	return wrap("save code", err, oauth.ErrAlreadyExists)
}

// sweepBatch bounds the rows one sweep deletes, so housekeeping never makes
// the transaction that carries it long.
const sweepBatch = 100

// sweep deletes up to sweepBatch rows of table (primary key column key)
// that expired before cutoff. On PostgreSQL it skips rows another
// transaction holds (SKIP LOCKED): housekeeping never waits for a lock,
// so two transactions sweeping at once cannot deadlock each other or a
// refresh in progress. SQLite has one writer at a time.
func (gs *Grants) sweep(ctx context.Context, tx *sql.Tx, table, key string, cutoff time.Time) error {
	q := `DELETE FROM ` + table + ` WHERE ` + key + ` IN (SELECT ` + key + ` FROM ` + table +
		` WHERE expires_at < $1 LIMIT ` + strconv.Itoa(sweepBatch)
	if gs.s.dialect == Postgres {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	_, err := tx.ExecContext(ctx, q+`)`, micros(cutoff))
	return err
}

// insertScopeRows inserts (key, scope) rows into table in one statement.
func insertScopeRows(ctx context.Context, tx *sql.Tx, table, column string, key any, scopes auth.Scopes) error {
	if scopes.Len() == 0 {
		return nil
	}
	q := "INSERT INTO " + table + " (" + column + ", scope) VALUES "
	args := []any{key}
	for tok := range scopes.All() {
		if len(args) > 1 {
			q += ", "
		}
		args = append(args, tok)
		q += fmt.Sprintf("($1, $%d)", len(args))
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

const codeColumns = `hash, client_id, subject, redirect_uri, code_challenge, grant_id, created_at, expires_at, used_at, dpop_jkt`

// ClaimCode implements [oauth.GrantStore] with one conditional UPDATE:
// only the caller whose statement finds used_at still NULL changes the
// row. On PostgreSQL the others wait for its row lock, re-read the
// committed row and match nothing; on SQLite writers take turns.
func (gs *Grants) ClaimCode(ctx context.Context, hash oauth.Hash, now time.Time) (*oauth.Code, error) {
	c, err := gs.claimCode(ctx, hash, now)
	return c, wrap("claim code", err, oauth.ErrNotFound, oauth.ErrCodeUsed)
}

func (gs *Grants) claimCode(ctx context.Context, hash oauth.Hash, now time.Time) (*oauth.Code, error) {
	row := gs.s.db.QueryRowContext(ctx, `UPDATE oauth_codes SET used_at = $2
WHERE hash = $1 AND used_at IS NULL RETURNING `+codeColumns, hash[:], micros(now))
	c, err := scanCode(row)
	claimed := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		// Used before, or unknown.
		row = gs.s.db.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM oauth_codes WHERE hash = $1`, hash[:])
		c, err = scanCode(row)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, oauth.ErrNotFound
		}
	}
	if err != nil {
		return nil, err
	}
	// A code's scopes never change, so reading them apart from the claim
	// is consistent.
	if c.Scopes, err = gs.scopes(ctx, `SELECT scope FROM oauth_code_scopes WHERE code_hash = $1`, hash[:]); err != nil {
		return nil, err
	}
	if !claimed {
		return c, oauth.ErrCodeUsed
	}
	return c, nil
}

func scanCode(row *sql.Row) (*oauth.Code, error) {
	var (
		c                oauth.Code
		hash             []byte
		created, expires int64
		used             sql.NullInt64
	)
	if err := row.Scan(&hash, &c.ClientID, &c.Subject, &c.RedirectURI, &c.CodeChallenge, &c.GrantID,
		&created, &expires, &used, &c.DPoPJKT); err != nil {
		return nil, err
	}
	if len(hash) != len(c.Hash) {
		return nil, fmt.Errorf("%w: code hash of %d bytes", ErrCorruptRecord, len(hash))
	}
	copy(c.Hash[:], hash)
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return &c, nil
}

// scopes reads a scope column.
func (gs *Grants) scopes(ctx context.Context, query string, key any) (auth.Scopes, error) {
	rows, err := gs.s.db.QueryContext(ctx, query, key)
	if err != nil {
		return auth.Scopes{}, err
	}
	defer rows.Close()
	var toks []string
	for rows.Next() {
		var tok string
		if err := rows.Scan(&tok); err != nil {
			return auth.Scopes{}, err
		}
		toks = append(toks, tok)
	}
	if err := rows.Err(); err != nil {
		return auth.Scopes{}, err
	}
	sc, err := auth.NewScopes(toks...)
	if err != nil {
		return auth.Scopes{}, fmt.Errorf("%w: %w", ErrCorruptRecord, err)
	}
	return sc, nil
}

// CreateGrant implements [oauth.GrantStore]. Grants that expired more than
// an hour before this one was created are deleted on the way, with their
// tokens, and so are revoked access-token IDs that have expired.
func (gs *Grants) CreateGrant(ctx context.Context, g *oauth.Grant, head *oauth.RefreshToken) error {
	err := gs.s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oauth_grants (id, client_id, subject, created_at, expires_at, revoked_at, version, dpop_jkt)
VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (id) DO NOTHING`,
			g.ID, g.ClientID, g.Subject, micros(g.CreatedAt), nullMicros(g.ExpiresAt), nullMicros(g.RevokedAt), g.DPoPJKT)
		if err != nil {
			return err
		}
		if err := oneRow(res, oauth.ErrAlreadyExists); err != nil {
			return err
		}
		if err := insertScopeRows(ctx, tx, "oauth_grant_scopes", "grant_id", g.ID, g.Scopes); err != nil {
			return err
		}
		if err := insertRefreshToken(ctx, tx, g.ID, head); err != nil {
			return err
		}
		// Housekeeping, by the caller's clock: grants (with their
		// tokens) expired for longer than the retention, and revoked
		// access-token IDs past their expiry.
		if err := gs.sweep(ctx, tx, "oauth_grants", "id", g.CreatedAt.Add(-retention)); err != nil {
			return err
		}
		return gs.sweep(ctx, tx, "oauth_revoked_tokens", "jti", g.CreatedAt)
	})
	return wrap("create grant", err, oauth.ErrAlreadyExists)
}

// insertRefreshToken inserts t as the head of grant id (whatever t's own
// GrantID and RotatedAt say), or fails with oauth.ErrAlreadyExists.
func insertRefreshToken(ctx context.Context, tx *sql.Tx, grantID string, t *oauth.RefreshToken) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO oauth_refresh_tokens (hash, grant_id, issued_at, rotated_at,
	access_token_id, access_token_expires_at)
VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (hash) DO NOTHING`,
		t.Hash[:], grantID, micros(t.IssuedAt), t.AccessTokenID, nullMicros(t.AccessTokenExpiresAt))
	if err != nil {
		return err
	}
	return oneRow(res, fmt.Errorf("%w: refresh token", oauth.ErrAlreadyExists))
}

// refreshTokenQuery returns a token, its grant and the grant's scopes,
// one row per scope, from one snapshot.
const refreshTokenQuery = `SELECT t.hash, t.grant_id, t.issued_at, t.rotated_at, t.access_token_id, t.access_token_expires_at,
	g.client_id, g.subject, g.created_at, g.expires_at, g.revoked_at, g.dpop_jkt, s.scope
FROM oauth_refresh_tokens t
JOIN oauth_grants g ON g.id = t.grant_id
LEFT JOIN oauth_grant_scopes s ON s.grant_id = g.id
WHERE t.hash = $1`

// RefreshToken implements [oauth.GrantStore].
func (gs *Grants) RefreshToken(ctx context.Context, hash oauth.Hash) (*oauth.Grant, *oauth.RefreshToken, error) {
	g, t, err := gs.refreshToken(ctx, hash)
	return g, t, wrap("get refresh token", err, oauth.ErrNotFound)
}

func (gs *Grants) refreshToken(ctx context.Context, hash oauth.Hash) (*oauth.Grant, *oauth.RefreshToken, error) {
	st, err := gs.s.stmt(ctx, refreshTokenQuery)
	if err != nil {
		return nil, nil, err
	}
	rows, err := st.QueryContext(ctx, hash[:])
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		g    *oauth.Grant
		t    *oauth.RefreshToken
		toks []string
	)
	for rows.Next() {
		var (
			h                          []byte
			gid, atID, client, subject string
			jkt                        string
			issued, gCreated           int64
			rotated, atExp, gExp, gRev sql.NullInt64
			scope                      sql.NullString
		)
		if err := rows.Scan(&h, &gid, &issued, &rotated, &atID, &atExp,
			&client, &subject, &gCreated, &gExp, &gRev, &jkt, &scope); err != nil {
			return nil, nil, err
		}
		if t == nil {
			t = &oauth.RefreshToken{GrantID: gid, IssuedAt: fromMicros(issued), RotatedAt: fromNullMicros(rotated),
				AccessTokenID: atID, AccessTokenExpiresAt: fromNullMicros(atExp)}
			if len(h) != len(t.Hash) {
				return nil, nil, fmt.Errorf("%w: refresh token hash of %d bytes", ErrCorruptRecord, len(h))
			}
			copy(t.Hash[:], h)
			g = &oauth.Grant{ID: gid, ClientID: client, Subject: subject, CreatedAt: fromMicros(gCreated),
				ExpiresAt: fromNullMicros(gExp), RevokedAt: fromNullMicros(gRev), DPoPJKT: jkt}
		}
		if scope.Valid {
			toks = append(toks, scope.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if t == nil {
		return nil, nil, oauth.ErrNotFound
	}
	if g.Scopes, err = auth.NewScopes(toks...); err != nil {
		return nil, nil, fmt.Errorf("%w: grant %q: %w", ErrCorruptRecord, g.ID, err)
	}
	return g, t, nil
}

// RotateRefreshToken implements [oauth.GrantStore] as one transaction
// whose first statement is a compare-and-swap on the grant: it bumps the
// grant's version, which takes the grant's row lock on PostgreSQL (the
// write lock on SQLite), so every change to one family is serialized and
// each sees the one before it. Under that lock the old token's state
// decides: head → it is rotated and next becomes the head; rotated within
// the grace window → the current head is superseded and next becomes the
// head; rotated earlier → replay: the grant is revoked (committed) and the
// call fails with oauth.ErrRefreshReused. A family never has two heads.
func (gs *Grants) RotateRefreshToken(ctx context.Context, old oauth.Hash, next *oauth.RefreshToken, now, graceFrom time.Time) error {
	var reused bool
	err := gs.s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			gid     string
			revoked sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `UPDATE oauth_grants SET version = version + 1
WHERE id = (SELECT grant_id FROM oauth_refresh_tokens WHERE hash = $1)
RETURNING id, revoked_at`, old[:]).Scan(&gid, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return oauth.ErrNotFound
		case err != nil:
			return err
		case revoked.Valid:
			return oauth.ErrGrantRevoked
		}
		var rotated sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT rotated_at FROM oauth_refresh_tokens WHERE hash = $1`, old[:]).Scan(&rotated); err != nil {
			return err
		}
		n := micros(now)
		switch {
		case !rotated.Valid:
			if _, err := tx.ExecContext(ctx, `UPDATE oauth_refresh_tokens SET rotated_at = $2 WHERE hash = $1`, old[:], n); err != nil {
				return err
			}
		case rotated.Int64 >= ceilMicros(graceFrom):
			// A concurrent refresh of the same token, within the grace
			// window: supersede the head it produced.
			if _, err := tx.ExecContext(ctx, `UPDATE oauth_refresh_tokens SET rotated_at = $2
WHERE grant_id = $1 AND rotated_at IS NULL`, gid, n); err != nil {
				return err
			}
		default:
			// Replay of a token rotated long ago: someone holds a copy.
			// Revoke the family, and commit that.
			reused = true
			return revokeGrant(ctx, tx, gid, now)
		}
		return insertRefreshToken(ctx, tx, gid, next)
	})
	if err == nil && reused {
		err = oauth.ErrRefreshReused
	}
	return wrap("rotate refresh token", err, oauth.ErrNotFound, oauth.ErrGrantRevoked, oauth.ErrRefreshReused, oauth.ErrAlreadyExists)
}

// ceilMicros rounds t up to the microsecond, the precision of stored
// times, so "stored ≥ t" keeps its meaning when t has nanoseconds.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// RevokeGrant implements [oauth.GrantStore]: one upsert that revokes the
// grant (keeping the first time) or stores a revoked tombstone for an
// unknown ID, then the grant's unexpired access tokens into the revoked
// set, in one transaction.
func (gs *Grants) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	if !storable(id) {
		// No grant can ever have this ID, so there is nothing to block.
		return nil
	}
	err := gs.s.inTx(ctx, func(tx *sql.Tx) error { return revokeGrant(ctx, tx, id, now) })
	return wrap("revoke grant", err)
}

func revokeGrant(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	n := micros(now)
	// A tombstone expires after the retention, like an expired grant: by
	// then no creation of that ID can still be in flight.
	if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_grants (id, client_id, subject, created_at, expires_at, revoked_at, version)
VALUES ($1, '', '', $2, $3, $2, 0)
ON CONFLICT (id) DO UPDATE SET revoked_at = COALESCE(oauth_grants.revoked_at, excluded.revoked_at),
	version = oauth_grants.version + 1`, id, n, micros(now.Add(retention))); err != nil {
		return err
	}
	// GROUP BY: one row per jti, as an upsert may not touch a row twice.
	_, err := tx.ExecContext(ctx, `INSERT INTO oauth_revoked_tokens (jti, expires_at)
SELECT access_token_id, MAX(access_token_expires_at) FROM oauth_refresh_tokens
WHERE grant_id = $1 AND access_token_id <> '' AND access_token_expires_at > $2
GROUP BY access_token_id
ON CONFLICT (jti) DO UPDATE SET expires_at = CASE WHEN excluded.expires_at > oauth_revoked_tokens.expires_at
	THEN excluded.expires_at ELSE oauth_revoked_tokens.expires_at END`, id, n)
	return err
}

// RevokeAccessToken implements [oauth.GrantStore] with one upsert that
// keeps the later expiry.
func (gs *Grants) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := gs.s.db.ExecContext(ctx, `INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ($1, $2)
ON CONFLICT (jti) DO UPDATE SET expires_at = CASE WHEN excluded.expires_at > oauth_revoked_tokens.expires_at
	THEN excluded.expires_at ELSE oauth_revoked_tokens.expires_at END`, jti, micros(expiresAt))
	return wrap("revoke access token", err)
}

// IsRevoked implements [oauth.GrantStore].
func (gs *Grants) IsRevoked(ctx context.Context, jti string) (bool, error) {
	if !storable(jti) {
		return false, nil
	}
	const q = `SELECT 1 FROM oauth_revoked_tokens WHERE jti = $1`
	st, err := gs.s.stmt(ctx, q)
	if err != nil {
		return false, wrap("is revoked", err)
	}
	var one int
	err = st.QueryRowContext(ctx, jti).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrap("is revoked", err)
	}
	return true, nil
}
