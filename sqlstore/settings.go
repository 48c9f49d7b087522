package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// ClaimIssuer records issuer as the issuer of every instance serving this
// database, if none is recorded yet, and returns nil; if another issuer
// is recorded, it returns an error wrapping [ErrIssuerMismatch] that names
// both. Call it at start with the issuer the instance will put in its
// tokens: instances sharing a database share signing keys, clients and
// grants, so one that minted tokens with another issuer would hand out
// tokens the others refuse. Of instances starting at once with different
// issuers, exactly one records its own.
func (s *Store) ClaimIssuer(ctx context.Context, issuer string) error {
	if issuer == "" || !storable(issuer) {
		return fmt.Errorf("%w: empty or unstorable issuer", ErrInvalidConfig)
	}
	var recorded string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_settings (name, value) VALUES ('issuer', $1) ON CONFLICT (name) DO NOTHING`, issuer); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM server_settings WHERE name = 'issuer'`).Scan(&recorded)
	})
	if err != nil {
		return wrap("claim issuer", err)
	}
	if recorded != issuer {
		return fmt.Errorf("%w: this database's issuer is %s, not %s", ErrIssuerMismatch, recorded, issuer)
	}
	return nil
}
