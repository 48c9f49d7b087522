package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is an end user: a person who signs in with a password (at the
// reference server's consent page). The password is never stored, only
// PasswordHash, an encoded slow hash (the reference server's is argon2id
// in PHC form); this package does not interpret it.
type User struct {
	ID           string
	Username     string
	PasswordHash string
	CreatedAt    time.Time
}

// Users keeps end users in table audexum_users. Get it from
// [Store.Users]; it is safe for concurrent use. Usernames compare
// byte-wise (case-sensitive) and are unique.
type Users struct{ s *Store }

// Users returns the store of end users.
func (s *Store) Users() *Users { return &Users{s: s} }

// CreateUser stores u, with its audit row ([KindUser], [ActionCreated],
// the username as name) in the same transaction. It fails with
// [ErrUserExists] if the ID or the username is taken, having written
// nothing. A zero CreatedAt is the Store's clock.
func (us *Users) CreateUser(ctx context.Context, u User) error {
	if u.ID == "" || u.Username == "" || u.PasswordHash == "" || !storable(u.ID) || !storable(u.Username) {
		return fmt.Errorf("%w: a user needs a storable ID, username and password hash", ErrInvalidUser)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = us.s.now()
	}
	return wrap("create user", us.s.inTx(ctx, func(tx *sql.Tx) error {
		// ON CONFLICT DO NOTHING, not a caught unique violation: the
		// error codes differ per driver, the affected-row count does not.
		res, err := tx.ExecContext(ctx, `INSERT INTO audexum_users (id, username, password_hash, created_at)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, u.ID, u.Username, u.PasswordHash, micros(u.CreatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrUserExists
		}
		return us.s.record(ctx, tx, KindUser, ActionCreated, u.ID, AuditDetails{Name: u.Username})
	}), ErrUserExists)
}

// UserByUsername returns the user named username, or [ErrUserNotFound].
func (us *Users) UserByUsername(ctx context.Context, username string) (User, error) {
	if !storable(username) {
		return User{}, ErrUserNotFound
	}
	return us.get(ctx, `SELECT id, username, password_hash, created_at FROM audexum_users WHERE username = $1`, username)
}

// User returns the user with ID id, or [ErrUserNotFound].
func (us *Users) User(ctx context.Context, id string) (User, error) {
	if !storable(id) {
		return User{}, ErrUserNotFound
	}
	return us.get(ctx, `SELECT id, username, password_hash, created_at FROM audexum_users WHERE id = $1`, id)
}

// SetPasswordHash replaces the password hash of the user with ID userID,
// with its audit row ([KindUser], [ActionPasswordChanged], the username as
// name, the actor of ctx) in the same transaction. It fails with
// [ErrInvalidUser] for an empty or unstorable hash and [ErrUserNotFound]
// for an unknown user, having written nothing.
//
// The user's other sessions keep working until they are ended: call
// [Sessions.DeleteOtherSessions] next. A sign-in that verified the old
// password and has not created its session yet cannot create it any more
// (see [Sessions.CreateSession]).
func (us *Users) SetPasswordHash(ctx context.Context, userID, hash string) error {
	if hash == "" || !storable(hash) {
		return fmt.Errorf("%w: a password hash is required", ErrInvalidUser)
	}
	if !storable(userID) {
		return ErrUserNotFound
	}
	return wrap("set password hash", us.s.inTx(ctx, func(tx *sql.Tx) error {
		var username string
		err := tx.QueryRowContext(ctx, `UPDATE audexum_users SET password_hash = $2 WHERE id = $1 RETURNING username`, userID, hash).Scan(&username)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrUserNotFound
		case err != nil:
			return err
		}
		return us.s.record(ctx, tx, KindUser, ActionPasswordChanged, userID, AuditDetails{Name: username})
	}), ErrUserNotFound)
}

// IsAccount reports whether id is the ID of a user, for
// [github.com/audexum/auth/oauth.AccountResolverConfig.IsAccount]: the
// users of this store are the accounts that own API keys and clients.
func (us *Users) IsAccount(ctx context.Context, id string) (bool, error) {
	_, err := us.User(ctx, id)
	switch {
	case errors.Is(err, ErrUserNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

func (us *Users) get(ctx context.Context, query, arg string) (User, error) {
	st, err := us.s.stmt(ctx, query)
	if err != nil {
		return User{}, wrap("get user", err)
	}
	var u User
	var created int64
	err = st.QueryRowContext(ctx, arg).Scan(&u.ID, &u.Username, &u.PasswordHash, &created)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return User{}, ErrUserNotFound
	case err != nil:
		return User{}, wrap("get user", err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}
