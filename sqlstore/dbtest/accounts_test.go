package dbtest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// createAtVersion makes db a database at schema version v, as the
// release that had only migrations 1 to v left it: it runs those files
// from ../migrations (with the engine's spellings, as migrate.go does)
// and records them, without this package's Open.
func createAtVersion(t *testing.T, h *sql.DB, d sqlstore.Dialect, v int) {
	t.Helper()
	ctx := t.Context()
	words := strings.NewReplacer("{{bytes}}", "BLOB", "{{bin}}", "COLLATE BINARY", "{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT")
	if d == sqlstore.Postgres {
		words = strings.NewReplacer("{{bytes}}", "BYTEA", "{{bin}}", `COLLATE "C"`, "{{serial}}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
	}
	if _, err := h.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../migrations/*.sql")
	if err != nil || len(files) < v {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	for i, f := range files[:v] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.ExecContext(ctx, words.Replace(string(b))); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := h.ExecContext(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, 0)`, i+1, filepath.Base(f)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAccountsFromVersion7: a database of the release before accounts
// (schema version 7), with a user, clients, keys and failure counts, is
// migrated without loss: every client is operator-managed (no owner), keys
// keep their owners, and the new tables work.
func TestAccountsFromVersion7(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h := db.open(t)
		createAtVersion(t, h, db.dialect, 7)
		hash := make([]byte, 32)
		for i := range hash {
			hash[i] = byte(i)
		}
		const then = 1_700_000_000_000_000
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO audexum_users (id, username, password_hash, created_at) VALUES ('usr_old', 'ann', '$argon2id$old', $1)`, []any{then}},
			{`INSERT INTO oauth_clients (id, name, type, created_at, version) VALUES ('adxc_old', 'Backend', 'server', $1, 3)`, []any{then}},
			{`INSERT INTO oauth_client_grant_types (client_id, position, grant_type) VALUES ('adxc_old', 0, 'client_credentials')`, nil},
			{`INSERT INTO oauth_client_scopes (client_id, kind, scope) VALUES ('adxc_old', 'allowed', 'data:read')`, nil},
			{`INSERT INTO oauth_client_secrets (client_id, hash, created_at, expires_at) VALUES ('adxc_old', $1, $2, NULL)`, []any{hash, then}},
			{`INSERT INTO api_keys (id, hash, pepper_version, env, name, description, owner, created_at, expires_at, revoked_at, revoke_reason, rotated_from, replaced_by, last_used_at)
VALUES ('oldkey000001', $1, 0, 'live', 'reporting', '', 'reporting', $2, NULL, NULL, '', NULL, NULL, NULL)`, []any{hash, then}},
			{`INSERT INTO api_key_scopes (key_id, scope) VALUES ('oldkey000001', 'data:read')`, nil},
			{`INSERT INTO audit_failures (minute, key_id, reason, n) VALUES ($1, 'oldkey000001', 'secret_mismatch', 7)`, []any{then}},
		} {
			if _, err := h.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}

		s := openStoreOn(t, h, db.dialect)
		if v := s.SchemaVersion(); v != sqlstore.SchemaVersion() || v < 8 {
			t.Fatalf("schema version %d after Open, want %d (at least 8)", v, sqlstore.SchemaVersion())
		}
		created := time.UnixMicro(then).UTC()
		cl, err := s.Clients().Client(ctx, "adxc_old")
		if err != nil {
			t.Fatal(err)
		}
		var want oauth.Hash
		copy(want[:], hash)
		wantClient := &oauth.Client{ID: "adxc_old", Name: "Backend", Type: oauth.ClientServer,
			GrantTypes: []string{"client_credentials"}, Scopes: mustScopes("data:read"),
			Secrets: []oauth.ClientSecret{{Hash: want, CreatedAt: created}}, CreatedAt: created}
		if diff := cmp.Diff(wantClient, cl, cmp.Comparer(auth.Scopes.Equal)); diff != "" {
			t.Errorf("client after migration (-want +got):\n%s", diff)
		}
		// The old client belongs to no account.
		for _, owner := range []string{"", "usr_old"} {
			if got, err := s.Clients().ListClientsByOwner(ctx, owner); err != nil || len(got) != 0 {
				t.Errorf("ListClientsByOwner(%q): %d clients, %v; want none", owner, len(got), err)
			}
		}
		key, err := s.APIKeys().Key(ctx, "oldkey000001")
		if err != nil || key.Owner != "reporting" || key.Name != "reporting" || !key.Scopes.Has("data:read") || !key.CreatedAt.Equal(created) {
			t.Errorf("key after migration: %+v, %v", key, err)
		}
		if u, err := s.Users().User(ctx, "usr_old"); err != nil || u.Username != "ann" {
			t.Errorf("user after migration: %+v, %v", u, err)
		}
		if f, err := s.AuditLog().Failures(ctx, time.Time{}); err != nil || len(f) != 1 || f[0].Count != 7 {
			t.Errorf("failure counts after migration: %+v, %v", f, err)
		}

		// The new columns and tables work beside the old rows.
		reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: s.Clients()})
		if err != nil {
			t.Fatal(err)
		}
		owned, _, err := reg.Register(ctx, oauth.Registration{Name: "Mine", Type: oauth.ClientServer, Owner: "usr_old"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Clients().ListClientsByOwner(ctx, "usr_old"); err != nil || len(got) != 1 || got[0].ID != owned.ID {
			t.Errorf("ListClientsByOwner after a new owned client: %v, %v", got, err)
		}
		if all, err := s.Clients().ListClients(ctx); err != nil || len(all) != 2 {
			t.Errorf("ListClients: %d, %v; want 2", len(all), err)
		}
		sess := sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_old", CreatedAt: created, IdleTimeout: time.Hour, ExpiresAt: created.Add(24 * time.Hour)}
		if err := s.Sessions().CreateSession(ctx, sess, ""); err != nil {
			t.Errorf("CreateSession for a user from before the migration: %v", err)
		}
		if err := s.AuditLog().AddRequests(ctx, []sqlstore.RequestCount{{Hour: created, CredentialID: "oldkey000001", Count: 2}}); err != nil {
			t.Errorf("AddRequests: %v", err)
		}
		keys, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Revoke(ctx, "oldkey000001", "old"); err != nil {
			t.Errorf("revoking the old key: %v", err)
		}
	})
}

// TestClientOwners: owned clients are stored, listed by owner and
// audited with their owner, on both engines; hostile owners list nothing
// rather than fail.
func TestClientOwners(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := openStore(t, db)
		reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: s.Clients()})
		if err != nil {
			t.Fatal(err)
		}
		var annIDs []string
		for i, owner := range []string{"usr_ann", "usr_bob", "", "usr_ann"} {
			c, _, err := reg.Register(ctx, oauth.Registration{Name: "app " + string(rune('a'+i)), Type: oauth.ClientServer, Owner: owner})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Clients().Client(ctx, c.ID)
			if err != nil || got.Owner != owner {
				t.Errorf("Client(%s).Owner = %q, %v; want %q", c.ID, got.Owner, err, owner)
			}
			if owner == "usr_ann" {
				annIDs = append(annIDs, c.ID)
			}
		}
		list, err := s.Clients().ListClientsByOwner(ctx, "usr_ann")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if diff := cmp.Diff(slices.Sorted(slices.Values(annIDs)), ids); diff != "" {
			t.Errorf("ann's clients (-want +got):\n%s", diff)
		}
		// Text no engine stores: no client can have it, so none is
		// listed, and PostgreSQL is never asked (it would fail).
		for _, owner := range []string{"usr_\xff", "usr_\x00ann"} {
			if got, err := s.Clients().ListClientsByOwner(ctx, owner); err != nil || len(got) != 0 {
				t.Errorf("ListClientsByOwner(%q): %v, %v; want none, nil", owner, got, err)
			}
		}
	})
}
