package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// SessionHashSize is the size of [Session.Hash]: a SHA-256 or
// HMAC-SHA256 of the session ID. Exported because it is the array length
// in the signatures of [Sessions]: a caller declares its hashes with it.
const SessionHashSize = 32

// maxSessionsPerUser bounds the sessions one user has at a time:
// [Sessions.CreateSession] ends the oldest ones beyond it. Not exported:
// CreateSession's doc states the bound, and no caller acts on it.
const maxSessionsPerUser = 50

// Session is a signed-in user's session (of a developer portal, say). The
// session ID itself, the secret the browser holds, is never stored: only
// Hash, so a copy of the table signs no one in.
type Session struct {
	// Hash identifies the session: a hash of its ID (SHA-256 of 32 random
	// bytes, say). The caller hashes; the store compares bytes.
	Hash [SessionHashSize]byte
	// UserID is the user signed in (a [User] ID).
	UserID string
	// CreatedAt is when the session began. If zero, the Store's clock.
	CreatedAt time.Time
	// LastSeenAt is when the session was last used: CreatedAt at first
	// (if zero), then moved forward by [Sessions.Session].
	LastSeenAt time.Time
	// IdleTimeout ends the session after this long without use. Required,
	// at least a second.
	IdleTimeout time.Duration
	// ExpiresAt is the absolute end of the session, however much it is
	// used. Required, after CreatedAt.
	ExpiresAt time.Time
}

// EndsAt returns when the session ends if it is not used again: the
// earlier of ExpiresAt and LastSeenAt + IdleTimeout.
func (s *Session) EndsAt() time.Time {
	idle := s.LastSeenAt.Add(s.IdleTimeout)
	if s.ExpiresAt.Before(idle) {
		return s.ExpiresAt
	}
	return idle
}

// Sessions keeps sign-in sessions in table user_sessions. Get it from
// [Store.Sessions]; it is safe for concurrent use.
//
// Creating a session, changing a user's password ([Users.SetPasswordHash])
// and ending a user's sessions take turns per user (on the user's row), so
// a password change followed by [Sessions.DeleteOtherSessions] leaves
// no session that a sign-in with the old password started, however the
// two interleave (see CreateSession's passwordHash).
type Sessions struct{ s *Store }

// Sessions returns the store of sign-in sessions.
func (s *Store) Sessions() *Sessions { return &Sessions{s: s} }

// CreateSession stores sess, and in the same transaction ends the user's
// sessions that have ended, and the oldest live ones, so that the user
// keeps at most 50.
//
// passwordHash, if not empty, is the password hash the caller just
// verified the user's password against: the session is created only if
// it is still the user's, and otherwise CreateSession fails with
// [ErrPasswordChanged]. Pass it on sign-in, so a sign-in with the old
// password that races a password change cannot outlive the change. Pass
// "" where no password was checked (the session of a sign-up).
//
// It fails with [ErrInvalidSession] for a session without user, idle
// timeout or expiry, [ErrUserNotFound] if the user does not exist, and
// [ErrSessionExists] if the hash is taken, having written nothing.
func (ss *Sessions) CreateSession(ctx context.Context, sess Session, passwordHash string) error {
	if sess.CreatedAt.IsZero() {
		sess.CreatedAt = ss.s.now()
	}
	if sess.LastSeenAt.IsZero() {
		sess.LastSeenAt = sess.CreatedAt
	}
	switch {
	case sess.UserID == "" || !storable(sess.UserID) || !storable(passwordHash):
		return fmt.Errorf("%w: a session needs a storable user ID", ErrInvalidSession)
	case sess.IdleTimeout < time.Second:
		return fmt.Errorf("%w: an idle timeout of at least a second is required", ErrInvalidSession)
	case !sess.ExpiresAt.After(sess.CreatedAt):
		return fmt.Errorf("%w: ExpiresAt must be after CreatedAt", ErrInvalidSession)
	}
	err := ss.s.inTx(ctx, func(tx *sql.Tx) error {
		// First a write that locks the user's row (and on SQLite takes
		// the write lock): sessions of one user and password changes
		// take turns, and on PostgreSQL a password change that commits
		// while this waits is seen (the condition is re-checked on the
		// changed row), so the sign-in fails rather than outlives it.
		q := `UPDATE audexum_users SET password_hash = password_hash WHERE id = $1`
		args := []any{sess.UserID}
		if passwordHash != "" {
			q += ` AND password_hash = $2`
			args = append(args, passwordHash)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return whyNoUser(ctx, tx, sess.UserID, ErrPasswordChanged)
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO user_sessions (hash, user_id, created_at, last_seen_at, idle_timeout, expires_at, ends_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING`,
			sess.Hash[:], sess.UserID, micros(sess.CreatedAt), micros(sess.LastSeenAt),
			sess.IdleTimeout.Microseconds(), micros(sess.ExpiresAt), micros(sess.EndsAt()))
		if err != nil {
			return err
		}
		if err := oneRow(res, ErrSessionExists); err != nil {
			return err
		}
		// Bounded per user: the newest maxSessionsPerUser live sessions
		// stay, the new one among them.
		_, err = tx.ExecContext(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND (ends_at <= $2 OR hash IN (
	SELECT hash FROM (SELECT hash, ROW_NUMBER() OVER (ORDER BY created_at DESC, hash DESC) AS n
		FROM user_sessions WHERE user_id = $1) AS ranked
	WHERE n > `+strconv.Itoa(maxSessionsPerUser)+`))`, sess.UserID, micros(sess.CreatedAt))
		return err
	})
	return wrap("create session", err, ErrUserNotFound, ErrPasswordChanged, ErrSessionExists)
}

// whyNoUser returns ErrUserNotFound if there is no user id, else ifExists.
func whyNoUser(ctx context.Context, tx *sql.Tx, id string, ifExists error) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM audexum_users WHERE id = $1`, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrUserNotFound
	case err != nil:
		return err
	}
	return ifExists
}

// sessionTouchInterval bounds how often a session's LastSeenAt is written:
// at most once a minute (or a tenth of the idle timeout, if shorter), so
// a busy session costs one read per request, not a write. A session may
// therefore end that much before a full IdleTimeout after its last use.
func sessionTouchInterval(idle time.Duration) time.Duration { return min(time.Minute, idle/10) }

// Session returns the session whose hash is hash, if it has not ended at
// now, and records that it was used at now (moving LastSeenAt, and with
// it the idle end, forward). It fails with [ErrSessionNotFound] for an
// unknown or ended session, which is then as good as gone (pruning
// deletes it later).
//
// The check is a read; the write of LastSeenAt happens at most once a
// minute per session. A request that races DeleteSession may still be
// answered with the session, as if it had come a moment earlier.
func (ss *Sessions) Session(ctx context.Context, hash [SessionHashSize]byte, now time.Time) (Session, error) {
	st, err := ss.s.stmt(ctx, `SELECT user_id, created_at, last_seen_at, idle_timeout, expires_at, ends_at FROM user_sessions WHERE hash = $1`)
	if err != nil {
		return Session{}, wrap("get session", err)
	}
	sess := Session{Hash: hash}
	var created, seen, idle, expires, ends int64
	err = st.QueryRowContext(ctx, hash[:]).Scan(&sess.UserID, &created, &seen, &idle, &expires, &ends)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Session{}, ErrSessionNotFound
	case err != nil:
		return Session{}, wrap("get session", err)
	}
	t := micros(now)
	if ends <= t {
		return Session{}, ErrSessionNotFound
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	sess.IdleTimeout = time.Duration(idle) * time.Microsecond
	if now.Sub(sess.LastSeenAt) < sessionTouchInterval(sess.IdleTimeout) {
		return sess, nil
	}
	touched := sess
	touched.LastSeenAt = fromMicros(t)
	// Forward only, and only while the session lasts: a late or
	// concurrent touch never moves it back, and never revives an ended
	// session.
	_, err = ss.s.db.ExecContext(ctx, `UPDATE user_sessions SET last_seen_at = $2, ends_at = $3
WHERE hash = $1 AND last_seen_at < $2 AND ends_at > $2`, hash[:], t, micros(touched.EndsAt()))
	if err != nil {
		return Session{}, wrap("touch session", err)
	}
	return touched, nil
}

// DeleteSession ends the session whose hash is hash (signing out). Ending
// a session that does not exist is not an error.
func (ss *Sessions) DeleteSession(ctx context.Context, hash [SessionHashSize]byte) error {
	_, err := ss.s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE hash = $1`, hash[:])
	return wrap("delete session", err)
}

// DeleteUserSessions ends every session of the user userID ("sign out
// everywhere") and returns how many it ended.
func (ss *Sessions) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return ss.deleteOf(ctx, userID, nil)
}

// DeleteOtherSessions ends every session of the user userID except the
// one whose hash is keep (the session that changed the password), and
// returns how many it ended. Call it after [Users.SetPasswordHash].
func (ss *Sessions) DeleteOtherSessions(ctx context.Context, userID string, keep [SessionHashSize]byte) (int, error) {
	return ss.deleteOf(ctx, userID, keep[:])
}

func (ss *Sessions) deleteOf(ctx context.Context, userID string, keep []byte) (int, error) {
	if !storable(userID) {
		return 0, nil
	}
	var n int64
	err := ss.s.inTx(ctx, func(tx *sql.Tx) error {
		// The user's row first, as CreateSession locks it: a sign-in
		// in progress either finished before (and its session is ended
		// here) or starts after.
		if _, err := tx.ExecContext(ctx, `UPDATE audexum_users SET password_hash = password_hash WHERE id = $1`, userID); err != nil {
			return err
		}
		q, args := `DELETE FROM user_sessions WHERE user_id = $1`, []any{userID}
		if keep != nil {
			q += ` AND hash <> $2`
			args = append(args, keep)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, wrap("delete user sessions", err)
	}
	return int(n), nil
}

// PruneSessions deletes up to 1000 sessions that have ended at now and
// returns how many it deleted. Ended sessions are refused whether or not
// they were pruned; call it from time to time (every minute, say) so the
// table holds live sessions only.
func (ss *Sessions) PruneSessions(ctx context.Context, now time.Time) (int, error) {
	q := `DELETE FROM user_sessions WHERE hash IN (SELECT hash FROM user_sessions WHERE ends_at <= $1 LIMIT ` + strconv.Itoa(pruneBatch)
	if ss.s.dialect == Postgres {
		// Never waits for a sign-in holding the same rows.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := ss.s.db.ExecContext(ctx, q+`)`, micros(now))
	if err != nil {
		return 0, wrap("prune sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("prune sessions", err)
	}
	return int(n), nil
}
