package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// Clients is the [oauth.Clients] of a [Store]: the oauth_client*
// tables. Get it from [Store.Clients]; it is safe for concurrent use.
// Beyond the interface, it lists the clients of one account
// ([Clients.ListClientsByOwner]).
// Every change (creation, secret rotation, deletion) is recorded in the
// change log ([KindClient]) in its own transaction, so the caches of other
// processes hear of it (see [Store.Follow]).
type Clients struct{ s *Store }

var _ oauth.ClientStore = (*Clients)(nil)

// Clients returns the store of OAuth 2.0 clients.
func (s *Store) Clients() *Clients { return &Clients{s: s} }

// Scope kinds of oauth_client_scopes.
const (
	scopeAllowed = "allowed"
	scopeDefault = "default"
)

// CreateClient implements [oauth.ClientStore].
func (cs *Clients) CreateClient(ctx context.Context, c *oauth.Client) error {
	err := cs.s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients (id, name, type, created_at, version, owner, require_dpop)
VALUES ($1, $2, $3, $4, 0, $5, $6) ON CONFLICT (id) DO NOTHING`, c.ID, c.Name, string(c.Type), micros(c.CreatedAt), c.Owner, boolInt(c.RequireDPoP))
		if err != nil {
			return err
		}
		if err := oneRow(res, oauth.ErrAlreadyExists); err != nil {
			return err
		}
		if err := insertPositional(ctx, tx, "oauth_client_redirect_uris", "uri", c.ID, c.RedirectURIs); err != nil {
			return err
		}
		if err := insertPositional(ctx, tx, "oauth_client_grant_types", "grant_type", c.ID, c.GrantTypes); err != nil {
			return err
		}
		if err := insertClientScopes(ctx, tx, c.ID, scopeAllowed, c.Scopes); err != nil {
			return err
		}
		if err := insertClientScopes(ctx, tx, c.ID, scopeDefault, c.DefaultScopes); err != nil {
			return err
		}
		for _, sec := range c.Secrets {
			if err := insertClientSecret(ctx, tx, c.ID, sec); err != nil {
				return err
			}
		}
		if err := cs.s.record(ctx, tx, KindClient, ActionCreated, c.ID, AuditDetails{
			Name: c.Name, Owner: c.Owner, Type: string(c.Type), Scopes: scopeList(c.Scopes),
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, RequireDPoP: c.RequireDPoP}); err != nil {
			return err
		}
		// Logged like every other change: a process that cached "no such
		// client" (a ClientGate that saw a token of this ID) must hear of
		// it, or it refuses the new client's tokens until the entry
		// expires (issue 13).
		return cs.s.recordChange(ctx, tx, KindClient, c.ID)
	})
	return wrap("create client", err, oauth.ErrAlreadyExists)
}

// oneRow returns ifNone if res affected no row.
func oneRow(res sql.Result, ifNone error) error {
	n, err := res.RowsAffected()
	switch {
	case err != nil:
		return err
	case n == 0:
		return ifNone
	}
	return nil
}

// wrap wraps a database error with the operation's name and returns the
// given sentinels (and nil) as they are.
func wrap(op string, err error, sentinels ...error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

func insertPositional(ctx context.Context, tx *sql.Tx, table, column, id string, vals []string) error {
	if len(vals) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (client_id, position, " + column + ") VALUES ")
	args := []any{id}
	for i, v := range vals {
		if i > 0 {
			q.WriteString(", ")
		}
		args = append(args, i, v)
		q.WriteString("($1, $" + strconv.Itoa(len(args)-1) + ", $" + strconv.Itoa(len(args)) + ")")
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

func insertClientScopes(ctx context.Context, tx *sql.Tx, id, kind string, scopes auth.Scopes) error {
	if scopes.Len() == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO oauth_client_scopes (client_id, kind, scope) VALUES ")
	args := []any{id, kind}
	for tok := range scopes.All() {
		if len(args) > 2 {
			q.WriteString(", ")
		}
		args = append(args, tok)
		q.WriteString("($1, $2, $" + strconv.Itoa(len(args)) + ")")
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

func insertClientSecret(ctx context.Context, tx *sql.Tx, id string, sec oauth.ClientSecret) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO oauth_client_secrets (client_id, hash, created_at, expires_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (client_id, hash) DO NOTHING`,
		id, sec.Hash[:], micros(sec.CreatedAt), nullMicros(sec.ExpiresAt))
	if err != nil {
		return err
	}
	return oneRow(res, fmt.Errorf("%w: client secret", oauth.ErrAlreadyExists))
}

// clientByID selects a client and all its child rows in one statement, so
// they come from one snapshot even while a rotation commits. Columns:
// client ID, part (0 client, 1 redirect URI, 2 grant type, 3 scope, 4
// secret), text, text2, text3, bytes, n1, n2 (for the client row: owner in text3, require_dpop in n2). clientsAll is the same for
// every client, clientsByOwner for the clients of one owner. The secrets
// come first because PostgreSQL types the columns of a UNION branch by
// branch, and a NULL column met first would become TEXT, which a BYTEA
// cannot join.
const (
	clientByID = `SELECT k.client_id, 4, NULL, NULL, NULL, k.hash, k.created_at, k.expires_at FROM oauth_client_secrets k WHERE k.client_id = $1
UNION ALL SELECT c.id, 0, c.name, c.type, c.owner, NULL, c.created_at, c.require_dpop FROM oauth_clients c WHERE c.id = $1
UNION ALL SELECT u.client_id, 1, u.uri, NULL, NULL, NULL, u.position, NULL FROM oauth_client_redirect_uris u WHERE u.client_id = $1
UNION ALL SELECT g.client_id, 2, g.grant_type, NULL, NULL, NULL, g.position, NULL FROM oauth_client_grant_types g WHERE g.client_id = $1
UNION ALL SELECT s.client_id, 3, s.scope, s.kind, NULL, NULL, NULL, NULL FROM oauth_client_scopes s WHERE s.client_id = $1`
	clientsAll = `SELECT k.client_id, 4, NULL, NULL, NULL, k.hash, k.created_at, k.expires_at FROM oauth_client_secrets k
UNION ALL SELECT c.id, 0, c.name, c.type, c.owner, NULL, c.created_at, c.require_dpop FROM oauth_clients c
UNION ALL SELECT u.client_id, 1, u.uri, NULL, NULL, NULL, u.position, NULL FROM oauth_client_redirect_uris u
UNION ALL SELECT g.client_id, 2, g.grant_type, NULL, NULL, NULL, g.position, NULL FROM oauth_client_grant_types g
UNION ALL SELECT s.client_id, 3, s.scope, s.kind, NULL, NULL, NULL, NULL FROM oauth_client_scopes s`
	ownedBy        = `IN (SELECT o.id FROM oauth_clients o WHERE o.owner = $1)`
	clientsByOwner = `SELECT k.client_id, 4, NULL, NULL, NULL, k.hash, k.created_at, k.expires_at FROM oauth_client_secrets k WHERE k.client_id ` + ownedBy + `
UNION ALL SELECT c.id, 0, c.name, c.type, c.owner, NULL, c.created_at, c.require_dpop FROM oauth_clients c WHERE c.owner = $1
UNION ALL SELECT u.client_id, 1, u.uri, NULL, NULL, NULL, u.position, NULL FROM oauth_client_redirect_uris u WHERE u.client_id ` + ownedBy + `
UNION ALL SELECT g.client_id, 2, g.grant_type, NULL, NULL, NULL, g.position, NULL FROM oauth_client_grant_types g WHERE g.client_id ` + ownedBy + `
UNION ALL SELECT s.client_id, 3, s.scope, s.kind, NULL, NULL, NULL, NULL FROM oauth_client_scopes s WHERE s.client_id ` + ownedBy
)

// Client implements [oauth.ClientStore].
func (cs *Clients) Client(ctx context.Context, id string) (*oauth.Client, error) {
	if !storable(id) {
		return nil, oauth.ErrNotFound
	}
	st, err := cs.s.stmt(ctx, clientByID)
	if err != nil {
		return nil, wrap("get client", err)
	}
	rows, err := st.QueryContext(ctx, id)
	if err != nil {
		return nil, wrap("get client", err)
	}
	cl, err := scanClients(rows)
	switch {
	case err != nil:
		return nil, wrap("get client", err)
	case len(cl) == 0:
		return nil, oauth.ErrNotFound
	}
	return cl[0], nil
}

// ListClients implements [oauth.ClientStore].
func (cs *Clients) ListClients(ctx context.Context) ([]*oauth.Client, error) {
	rows, err := cs.s.db.QueryContext(ctx, clientsAll)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	cl, err := scanClients(rows)
	if err != nil {
		return nil, wrap("list clients", err)
	}
	return cl, nil
}

// ListClientsByOwner returns the clients whose Owner is owner, ordered by
// ID, in one statement (one snapshot); none for the empty owner, since
// operator-managed clients belong to no account. A developer portal
// lists an account's applications with it.
func (cs *Clients) ListClientsByOwner(ctx context.Context, owner string) ([]*oauth.Client, error) {
	if owner == "" || !storable(owner) {
		return []*oauth.Client{}, nil
	}
	rows, err := cs.s.db.QueryContext(ctx, clientsByOwner, owner)
	if err != nil {
		return nil, wrap("list clients by owner", err)
	}
	cl, err := scanClients(rows)
	if err != nil {
		return nil, wrap("list clients by owner", err)
	}
	return cl, nil
}

// scanClients assembles clients from the rows of clientByID or clientsAll
// and closes rows. The result is ordered by ID.
func scanClients(rows *sql.Rows) ([]*oauth.Client, error) {
	defer rows.Close()
	type parts struct {
		found             bool
		c                 oauth.Client
		uris, grants      []posVal
		allowed, defaults []string
	}
	byID := make(map[string]*parts)
	for rows.Next() {
		var (
			id                 string
			part               int
			text, text2, text3 sql.NullString
			b                  []byte
			n1, n2             sql.NullInt64
		)
		if err := rows.Scan(&id, &part, &text, &text2, &text3, &b, &n1, &n2); err != nil {
			return nil, err
		}
		p := byID[id]
		if p == nil {
			p = &parts{}
			byID[id] = p
		}
		switch part {
		case 0:
			p.found = true
			p.c.ID, p.c.Name, p.c.Type, p.c.CreatedAt = id, text.String, oauth.ClientType(text2.String), fromMicros(n1.Int64)
			p.c.Owner = text3.String
			p.c.RequireDPoP = n2.Int64 != 0
		case 1:
			p.uris = append(p.uris, posVal{n1.Int64, text.String})
		case 2:
			p.grants = append(p.grants, posVal{n1.Int64, text.String})
		case 3:
			if text2.String == scopeDefault {
				p.defaults = append(p.defaults, text.String)
			} else {
				p.allowed = append(p.allowed, text.String)
			}
		case 4:
			var sec oauth.ClientSecret
			if len(b) != len(sec.Hash) {
				return nil, fmt.Errorf("%w: client %q: secret hash of %d bytes", ErrCorruptRecord, id, len(b))
			}
			copy(sec.Hash[:], b)
			sec.CreatedAt, sec.ExpiresAt = fromMicros(n1.Int64), fromNullMicros(n2)
			p.c.Secrets = append(p.c.Secrets, sec)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*oauth.Client, 0, len(byID))
	for id, p := range byID {
		if !p.found {
			continue
		}
		c := &p.c
		c.RedirectURIs = sortedVals(p.uris)
		c.GrantTypes = sortedVals(p.grants)
		var err error
		if c.Scopes, err = auth.NewScopes(p.allowed...); err != nil {
			return nil, fmt.Errorf("%w: client %q: %w", ErrCorruptRecord, id, err)
		}
		if c.DefaultScopes, err = auth.NewScopes(p.defaults...); err != nil {
			return nil, fmt.Errorf("%w: client %q: %w", ErrCorruptRecord, id, err)
		}
		// Oldest first, as they were added.
		slices.SortStableFunc(c.Secrets, func(a, b oauth.ClientSecret) int {
			if d := a.CreatedAt.Compare(b.CreatedAt); d != 0 {
				return d
			}
			return slices.Compare(a.Hash[:], b.Hash[:])
		})
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *oauth.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

type posVal struct {
	pos int64
	val string
}

func sortedVals(pv []posVal) []string {
	if len(pv) == 0 {
		return nil
	}
	slices.SortFunc(pv, func(a, b posVal) int { return cmp.Compare(a.pos, b.pos) })
	out := make([]string, len(pv))
	for i, p := range pv {
		out[i] = p.val
	}
	return out
}

// RotateClientSecret implements [oauth.ClientStore]. The first statement
// bumps the client's version, which takes the client's row lock on
// PostgreSQL (and the write lock on SQLite), so concurrent rotations of
// one client take turns and each sees the other's secrets.
func (cs *Clients) RotateClientSecret(ctx context.Context, id string, secret oauth.ClientSecret, oldUntil time.Time) error {
	if !storable(id) {
		return oauth.ErrNotFound
	}
	err := cs.s.inTx(ctx, func(tx *sql.Tx) error {
		// RETURNING the owner, for the audit row.
		var owner string
		err := tx.QueryRowContext(ctx, `UPDATE oauth_clients SET version = version + 1 WHERE id = $1 RETURNING owner`, id).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return oauth.ErrNotFound
		case err != nil:
			return err
		}
		until := micros(oldUntil)
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_client_secrets SET expires_at = $2
WHERE client_id = $1 AND (expires_at IS NULL OR expires_at > $2)`, id, until); err != nil {
			return err
		}
		// Secrets no longer valid when the new one was made are dropped
		// (ClientSecret.Active: valid while now < ExpiresAt).
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_client_secrets
WHERE client_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2`, id, micros(secret.CreatedAt)); err != nil {
			return err
		}
		if err := insertClientSecret(ctx, tx, id, secret); err != nil {
			return err
		}
		if err := cs.s.record(ctx, tx, KindClient, ActionSecretRotated, id,
			AuditDetails{Owner: owner, OldValidUntil: timeRef(oldUntil), ExpiresAt: timeRef(secret.ExpiresAt)}); err != nil {
			return err
		}
		return cs.s.recordChange(ctx, tx, KindClient, id)
	})
	return wrap("rotate client secret", err, oauth.ErrNotFound, oauth.ErrAlreadyExists)
}

// DeleteClient implements [oauth.ClientStore]. The client's child rows go
// with it (ON DELETE CASCADE); its grants stay, as the interface says.
func (cs *Clients) DeleteClient(ctx context.Context, id string) error {
	if !storable(id) {
		return oauth.ErrNotFound
	}
	err := cs.s.inTx(ctx, func(tx *sql.Tx) error {
		// RETURNING the name and owner, for the audit row.
		var name, owner string
		err := tx.QueryRowContext(ctx, `DELETE FROM oauth_clients WHERE id = $1 RETURNING name, owner`, id).Scan(&name, &owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return oauth.ErrNotFound
		case err != nil:
			return err
		}
		if err := cs.s.record(ctx, tx, KindClient, ActionDeleted, id, AuditDetails{Name: name, Owner: owner}); err != nil {
			return err
		}
		return cs.s.recordChange(ctx, tx, KindClient, id)
	})
	return wrap("delete client", err, oauth.ErrNotFound)
}

// boolInt stores a flag as 0 or 1, the one spelling both engines read
// back as an integer.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
