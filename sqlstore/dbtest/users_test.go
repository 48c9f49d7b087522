package dbtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth/sqlstore"
)

func TestUsers(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := openStore(t, db)
		users := s.Users()
		ann := sqlstore.User{ID: "usr_1", Username: "ann", PasswordHash: "$argon2id$hash", CreatedAt: time.UnixMicro(1_700_000_000_123_456).UTC()}
		if err := users.CreateUser(ctx, ann); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		for name, get := range map[string]func() (sqlstore.User, error){
			"by username": func() (sqlstore.User, error) { return users.UserByUsername(ctx, "ann") },
			"by id":       func() (sqlstore.User, error) { return users.User(ctx, "usr_1") },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if diff := cmp.Diff(ann, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
		// Usernames compare byte-wise: "Ann" is another user.
		for _, name := range []string{"Ann", "ann ", "a\x00nn", "\xff"} {
			if _, err := users.UserByUsername(ctx, name); !errors.Is(err, sqlstore.ErrUserNotFound) {
				t.Errorf("UserByUsername(%q): err = %v, want ErrUserNotFound", name, err)
			}
		}
		// Taken username or ID: nothing written, not even an audit row.
		before, err := s.AuditLog().Events(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []sqlstore.User{
			{ID: "usr_2", Username: "ann", PasswordHash: "h"},
			{ID: "usr_1", Username: "bob", PasswordHash: "h"},
		} {
			if err := users.CreateUser(ctx, u); !errors.Is(err, sqlstore.ErrUserExists) {
				t.Errorf("CreateUser(%+v): err = %v, want ErrUserExists", u, err)
			}
		}
		after, err := s.AuditLog().Events(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) || len(before) != 1 || before[0].Kind != sqlstore.KindUser || before[0].Details.Name != "ann" {
			t.Errorf("audit rows: %d before, %d after the refusals (want 1 user row)", len(before), len(after))
		}
		for _, u := range []sqlstore.User{{Username: "x", PasswordHash: "h"}, {ID: "i", PasswordHash: "h"}, {ID: "i", Username: "x"}, {ID: "i", Username: "\x00", PasswordHash: "h"}} {
			if err := users.CreateUser(ctx, u); !errors.Is(err, sqlstore.ErrInvalidUser) {
				t.Errorf("CreateUser(%+v): err = %v, want ErrInvalidUser", u, err)
			}
		}
	})
}

// TestUsersConcurrentCreate: of 20 concurrent creations of one username on
// two handles, exactly one succeeds.
func TestUsersConcurrentCreate(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		stores := []*sqlstore.Store{openStore(t, db), openStore(t, db)}
		var wins, exists atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := stores[i%2].Users().CreateUser(context.Background(), sqlstore.User{
					ID: "usr_" + string(rune('a'+i)), Username: "same", PasswordHash: "h"})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, sqlstore.ErrUserExists):
					exists.Add(1)
				default:
					t.Errorf("CreateUser: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || exists.Load() != 19 {
			t.Errorf("wins %d, exists %d; want 1 and 19", wins.Load(), exists.Load())
		}
	})
}

// TestUsersFromOldServer: a database whose users table was created by
// audexum serve before the table was in the migrations (created_at in
// milliseconds) keeps its users, with their times right.
func TestUsersFromOldServer(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h := db.open(t)
		// Version 5, as an old server left it, with its own table (built
		// from the migration files, so later migrations all run on it).
		createAtVersion(t, h, db.dialect, 5)
		for _, q := range []string{
			`CREATE TABLE audexum_users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at BIGINT NOT NULL)`,
			`INSERT INTO audexum_users VALUES ('usr_old', 'ann', '$argon2id$old', 1700000000123)`,
		} {
			if _, err := h.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s := openStoreOn(t, h, db.dialect)
		got, err := s.Users().UserByUsername(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		want := sqlstore.User{ID: "usr_old", Username: "ann", PasswordHash: "$argon2id$old", CreatedAt: time.UnixMilli(1700000000123).UTC()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("user after migration (-want +got):\n%s", diff)
		}
		// The sessions table refers to this old table's rows.
		sess := sqlstore.Session{UserID: "usr_old", IdleTimeout: time.Hour, ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.Sessions().CreateSession(ctx, sess, "$argon2id$old"); err != nil {
			t.Errorf("CreateSession for the old server's user: %v", err)
		}
	})
}
