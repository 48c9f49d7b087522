package dbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth/sqlstore"
)

// maxSessionsPerUser is the bound of a user's sessions that
// Sessions.CreateSession documents.
const maxSessionsPerUser = 50

// newSessionID returns a session ID as a portal would make one, and the
// hash the store keeps.
func newSessionID() (string, [sqlstore.SessionHashSize]byte) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	return id, sha256.Sum256([]byte(id))
}

func addUsers(t *testing.T, s *sqlstore.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.Users().CreateUser(t.Context(), sqlstore.User{ID: id, Username: "name-" + id, PasswordHash: "hash-" + id}); err != nil {
			t.Fatal(err)
		}
	}
}

func countSessions(t *testing.T, s *sqlstore.Store, db testDB, userID string) int {
	t.Helper()
	var n int
	if err := db.open(t).QueryRowContext(t.Context(), `SELECT COUNT(*) FROM user_sessions WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessions(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		ss := s.Sessions()
		addUsers(t, s, "usr_ann", "usr_bob")
		id, hash := newSessionID()
		sess := sqlstore.Session{Hash: hash, UserID: "usr_ann", CreatedAt: t0, IdleTimeout: 30 * time.Minute, ExpiresAt: t0.Add(12 * time.Hour)}
		if err := ss.CreateSession(ctx, sess, "hash-usr_ann"); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}

		// Only the hash is stored: the row holds its bytes, and no
		// column holds the ID the browser has.
		rows, err := h.QueryContext(ctx, `SELECT * FROM user_sessions`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				text := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					text = string(b)
					if cols[i] == "hash" && !bytes.Equal(b, hash[:]) {
						t.Errorf("hash column = %x, want %x", b, hash)
					}
				}
				if strings.Contains(text, id) {
					t.Errorf("user_sessions.%s holds the session ID", cols[i])
				}
			}
		}
		rows.Close()
		if n != 1 {
			t.Fatalf("user_sessions has %d rows, want 1", n)
		}

		get := func(at time.Time) (sqlstore.Session, error) { return ss.Session(ctx, hash, at) }
		// A minute on: found, and the use recorded.
		got, err := get(t0.Add(time.Minute))
		want := sess
		want.LastSeenAt = t0.Add(time.Minute)
		if err != nil || !cmp.Equal(want, got) {
			t.Fatalf("Session a minute on: %v\n%s", err, cmp.Diff(want, got))
		}
		// Ten seconds later: found, but no write (within the touch
		// interval), so LastSeenAt stays.
		if got, err := get(t0.Add(70 * time.Second)); err != nil || !got.LastSeenAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("Session 10 s later: %v, last seen %v; want the earlier touch", err, got.LastSeenAt)
		}
		// Idle: 30 minutes after the last use it has ended; a second
		// before, it had not (and that use moves the idle end).
		seen := t0.Add(time.Minute)
		if _, err := get(seen.Add(30*time.Minute - time.Second)); err != nil {
			t.Errorf("Session a second before the idle end: %v", err)
		}
		seen = seen.Add(30*time.Minute - time.Second)
		if _, err := get(seen.Add(30 * time.Minute)); !errors.Is(err, sqlstore.ErrSessionNotFound) {
			t.Errorf("Session at the idle end: %v, want ErrSessionNotFound", err)
		}
		// Absolute: a session used every 20 minutes still ends at
		// ExpiresAt.
		_, hash2 := newSessionID()
		abs := sqlstore.Session{Hash: hash2, UserID: "usr_ann", CreatedAt: t0, IdleTimeout: 30 * time.Minute, ExpiresAt: t0.Add(2 * time.Hour)}
		if err := ss.CreateSession(ctx, abs, ""); err != nil {
			t.Fatal(err)
		}
		for at := t0; at.Before(t0.Add(2 * time.Hour)); at = at.Add(20 * time.Minute) {
			if _, err := ss.Session(ctx, hash2, at); err != nil {
				t.Fatalf("Session at %v: %v", at.Sub(t0), err)
			}
		}
		if _, err := ss.Session(ctx, hash2, t0.Add(2*time.Hour)); !errors.Is(err, sqlstore.ErrSessionNotFound) {
			t.Errorf("Session at ExpiresAt: %v, want ErrSessionNotFound", err)
		}
		if _, err := ss.Session(ctx, [32]byte{9}, t0); !errors.Is(err, sqlstore.ErrSessionNotFound) {
			t.Errorf("unknown session: %v, want ErrSessionNotFound", err)
		}

		// Refusals write nothing.
		before := countSessions(t, s, db, "usr_ann")
		for name, tc := range map[string]struct {
			sess     sqlstore.Session
			password string
			want     error
		}{
			"no user":          {sqlstore.Session{Hash: [32]byte{1}, CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "", sqlstore.ErrInvalidSession},
			"no idle timeout":  {sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_ann", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, "", sqlstore.ErrInvalidSession},
			"expired at birth": {sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_ann", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0}, "", sqlstore.ErrInvalidSession},
			"unknown user":     {sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_eve", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "", sqlstore.ErrUserNotFound},
			"hostile user ID":  {sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_\xff", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "", sqlstore.ErrInvalidSession},
			"hash taken":       {sqlstore.Session{Hash: hash, UserID: "usr_bob", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "", sqlstore.ErrSessionExists},
			// The sign-in verified a password that is no longer ann's.
			"stale password": {sqlstore.Session{Hash: [32]byte{1}, UserID: "usr_ann", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "hash-old", sqlstore.ErrPasswordChanged},
		} {
			if err := ss.CreateSession(ctx, tc.sess, tc.password); !errors.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %v", name, err, tc.want)
			}
		}
		if after := countSessions(t, s, db, "usr_ann"); after != before {
			t.Errorf("refused creations changed ann's sessions: %d, then %d", before, after)
		}
	})
}

// TestSessionsEnd: sign out, sign out everywhere, password change, and the
// bounds (per user, and pruning in batches).
func TestSessionsEnd(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := sqlstore.WithActor(context.Background(), "portal:ann")
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		ss := s.Sessions()
		addUsers(t, s, "usr_ann", "usr_bob")
		create := func(user string, at time.Time) [32]byte {
			t.Helper()
			_, hash := newSessionID()
			if err := ss.CreateSession(ctx, sqlstore.Session{Hash: hash, UserID: user, CreatedAt: at, IdleTimeout: time.Hour, ExpiresAt: at.Add(24 * time.Hour)}, ""); err != nil {
				t.Fatal(err)
			}
			return hash
		}
		live := func(hash [32]byte) bool {
			_, err := ss.Session(ctx, hash, t0.Add(time.Minute))
			if err != nil && !errors.Is(err, sqlstore.ErrSessionNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		a1, a2, a3 := create("usr_ann", t0), create("usr_ann", t0), create("usr_ann", t0)
		b1 := create("usr_bob", t0)

		if err := ss.DeleteSession(ctx, a1); err != nil || live(a1) || !live(a2) {
			t.Errorf("DeleteSession: %v; a1 live %v, a2 live %v", err, live(a1), live(a2))
		}
		if err := ss.DeleteSession(ctx, a1); err != nil {
			t.Errorf("DeleteSession twice: %v", err)
		}

		// A password change keeps the session that made it and ends the
		// others, and a sign-in that checked the old password fails.
		if err := s.Users().SetPasswordHash(ctx, "usr_ann", "hash-new"); err != nil {
			t.Fatal(err)
		}
		if n, err := ss.DeleteOtherSessions(ctx, "usr_ann", a2); err != nil || n != 1 || !live(a2) || live(a3) || !live(b1) {
			t.Errorf("DeleteOtherSessions: %d, %v; a2 %v a3 %v b1 %v", n, err, live(a2), live(a3), live(b1))
		}
		_, stale := newSessionID()
		if err := ss.CreateSession(ctx, sqlstore.Session{Hash: stale, UserID: "usr_ann", CreatedAt: t0, IdleTimeout: time.Hour, ExpiresAt: t0.Add(time.Hour)}, "hash-usr_ann"); !errors.Is(err, sqlstore.ErrPasswordChanged) {
			t.Errorf("sign-in with the old password's hash: %v, want ErrPasswordChanged", err)
		}
		if u, err := s.Users().User(ctx, "usr_ann"); err != nil || u.PasswordHash != "hash-new" {
			t.Errorf("after SetPasswordHash: %+v, %v", u, err)
		}
		evs, err := s.AuditLog().Events(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		if last.Kind != sqlstore.KindUser || last.Action != sqlstore.ActionPasswordChanged || last.SubjectID != "usr_ann" ||
			last.Actor != "portal:ann" || last.Details.Name != "name-usr_ann" {
			t.Errorf("password change audit row: %+v", last)
		}
		if err := s.Users().SetPasswordHash(ctx, "usr_eve", "h"); !errors.Is(err, sqlstore.ErrUserNotFound) {
			t.Errorf("SetPasswordHash of an unknown user: %v", err)
		}
		if err := s.Users().SetPasswordHash(ctx, "usr_ann", ""); !errors.Is(err, sqlstore.ErrInvalidUser) {
			t.Errorf("SetPasswordHash to nothing: %v", err)
		}
		if evs2, _ := s.AuditLog().Events(ctx, time.Time{}); len(evs2) != len(evs) {
			t.Errorf("refused password changes wrote %d audit rows", len(evs2)-len(evs))
		}

		// Sign out everywhere.
		create("usr_ann", t0)
		if n, err := ss.DeleteUserSessions(ctx, "usr_ann"); err != nil || n != 2 || live(a2) || !live(b1) {
			t.Errorf("DeleteUserSessions: %d, %v; a2 %v, b1 %v", n, err, live(a2), live(b1))
		}

		// Per user, the newest maxSessionsPerUser stay.
		var hashes [][32]byte
		for i := range maxSessionsPerUser + 5 {
			hashes = append(hashes, create("usr_ann", t0.Add(time.Duration(i)*time.Second)))
		}
		if n := countSessions(t, s, db, "usr_ann"); n != maxSessionsPerUser {
			t.Errorf("ann has %d sessions, want %d", n, maxSessionsPerUser)
		}
		if live(hashes[4]) || !live(hashes[5]) || !live(hashes[len(hashes)-1]) {
			t.Errorf("the oldest sessions beyond the bound should have ended, the newest stayed")
		}

		// Pruning: ended sessions go in batches of 1000; live ones stay.
		tx, err := h.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1200 {
			ended := t0.Add(-48 * time.Hour)
			var hash [32]byte
			copy(hash[:], fmt.Sprintf("ended-%d", i))
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_sessions VALUES ($1, 'usr_bob', $2, $2, 1000000, $3, $3)`,
				hash[:], ended.UnixMicro(), ended.Add(time.Hour).UnixMicro()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []int{1000, 200, 0} {
			if n, err := ss.PruneSessions(ctx, t0); err != nil || n != want {
				t.Errorf("PruneSessions: %d, %v; want %d", n, err, want)
			}
		}
		if !live(b1) || countSessions(t, s, db, "usr_ann") != maxSessionsPerUser {
			t.Errorf("pruning ended live sessions")
		}
	})
}

// TestSessionsConcurrent: on two handles (two processes, as far as the
// database can tell), concurrent uses only move LastSeenAt forward; of
// concurrent creations of one hash exactly one wins; and a sign-in racing
// a password change never leaves a session behind the change.
func TestSessionsConcurrent(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		stores := []*sqlstore.Store{openStore(t, db), openStore(t, db)}
		addUsers(t, stores[0], "usr_ann")
		_, hash := newSessionID()
		var wins, exists atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := stores[i%2].Sessions().CreateSession(ctx, sqlstore.Session{Hash: hash, UserID: "usr_ann", CreatedAt: t0,
					IdleTimeout: time.Hour, ExpiresAt: t0.Add(24 * time.Hour)}, "hash-usr_ann")
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, sqlstore.ErrSessionExists):
					exists.Add(1)
				default:
					t.Errorf("CreateSession: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || exists.Load() != 19 {
			t.Errorf("wins %d, exists %d; want 1 and 19", wins.Load(), exists.Load())
		}

		// Uses at 1..40 minutes, in any order: the last seen time ends at
		// the latest.
		for i := range 40 {
			wg.Go(func() {
				if _, err := stores[i%2].Sessions().Session(ctx, hash, t0.Add(time.Duration(i+1)*time.Minute)); err != nil {
					t.Errorf("Session: %v", err)
				}
			})
		}
		wg.Wait()
		got, err := stores[0].Sessions().Session(ctx, hash, t0.Add(40*time.Minute))
		if err != nil || !got.LastSeenAt.Equal(t0.Add(40*time.Minute)) {
			t.Errorf("after concurrent uses: last seen %v, %v; want +40m", got.LastSeenAt.Sub(t0), err)
		}

		// Sign-ins with the current password race a password change and
		// the ending of the other sessions. Whatever the order, only the
		// kept session survives.
		for round := range 10 {
			old := fmt.Sprintf("pw-%d", round)
			if err := stores[0].Users().SetPasswordHash(ctx, "usr_ann", old); err != nil {
				t.Fatal(err)
			}
			_, keep := newSessionID()
			if err := stores[0].Sessions().CreateSession(ctx, sqlstore.Session{Hash: keep, UserID: "usr_ann", CreatedAt: t0,
				IdleTimeout: time.Hour, ExpiresAt: t0.Add(24 * time.Hour)}, old); err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				wg.Go(func() {
					_, h := newSessionID()
					err := stores[i%2].Sessions().CreateSession(ctx, sqlstore.Session{Hash: h, UserID: "usr_ann", CreatedAt: t0,
						IdleTimeout: time.Hour, ExpiresAt: t0.Add(24 * time.Hour)}, old)
					if err != nil && !errors.Is(err, sqlstore.ErrPasswordChanged) {
						t.Errorf("racing sign-in: %v", err)
					}
				})
			}
			wg.Go(func() {
				if err := stores[1].Users().SetPasswordHash(ctx, "usr_ann", old+"-new"); err != nil {
					t.Errorf("SetPasswordHash: %v", err)
					return
				}
				if _, err := stores[1].Sessions().DeleteOtherSessions(ctx, "usr_ann", keep); err != nil {
					t.Errorf("DeleteOtherSessions: %v", err)
				}
			})
			wg.Wait()
			if n := countSessions(t, stores[0], db, "usr_ann"); n != 1 {
				t.Fatalf("round %d: %d sessions after the password change, want only the kept one", round, n)
			}
		}
	})
}
