package portal

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors; match them with [errors.Is]. The stores the portal
// calls return them (wrapped with %w or as they are) so the portal can
// choose its answer. No error is ever written to a page: people see one
// constant text per kind of failure, and the error goes to
// [Config.OnError]. Only ErrInvalidConfig shares a root meaning.
var (
	// ErrInvalidConfig: New was given an unusable Config.
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "portal: invalid config")

	// ErrNotFound: a store has no such account, session, key or
	// application. The portal answers 404, exactly as for a record that
	// belongs to another account.
	ErrNotFound = errors.New("portal: not found")

	// ErrConflict: the record changed between the portal reading it and
	// acting on it (a key revoked, rotated or expired meanwhile), so the
	// action was not done. Answered 409.
	ErrConflict = errors.New("portal: changed meanwhile")

	// ErrBadCredentials: from [Accounts.Authenticate] for a wrong username
	// or password, alike; from [Accounts.ChangePassword] for a wrong
	// current password.
	ErrBadCredentials = errors.New("portal: wrong username or password")

	ErrUsernameTaken = errors.New("portal: username taken")

	// ErrInvalidPassword: the accounts store refused a new password the
	// portal's own rule (8 to 1024 bytes of UTF-8) accepted, for example
	// one found in a list of breached passwords.
	ErrInvalidPassword = errors.New("portal: password not allowed")
)
