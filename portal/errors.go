package portal

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors. The stores the portal calls return them (wrapped with
// %w or as they are) so the portal can choose its answer; match them with
// [errors.Is]. None of them, and no other error, is ever written to a
// page: people see one constant text per kind of failure, and the error
// goes to [Config.OnError].
//
// [ErrInvalidConfig] matches [auth.ErrInvalidConfig] (see Errors in the
// root package's documentation). The others are the portal's own and
// share no meaning with the root package's: a person's username and
// password are not a credential the Authenticator judges.
var (
	// ErrInvalidConfig: New was given an unusable Config. It matches
	// [auth.ErrInvalidConfig].
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "portal: invalid config")

	// ErrNotFound: a store has no such account, session, key or
	// application. The portal answers 404, exactly as for a record that
	// belongs to another account.
	ErrNotFound = errors.New("portal: not found")

	// ErrConflict: the record changed between the portal reading it and
	// acting on it (a key revoked, rotated or expired meanwhile), so the
	// action was not done. Answered 409.
	ErrConflict = errors.New("portal: changed meanwhile")

	// ErrBadCredentials: [Accounts.Authenticate] found no account with
	// that username and password, or [Accounts.ChangePassword] was given
	// a wrong current password. The same error, after the same work,
	// whether the username exists or not.
	ErrBadCredentials = errors.New("portal: wrong username or password")

	// ErrUsernameTaken: [AccountCreator.CreateAccount] found the username
	// in use.
	ErrUsernameTaken = errors.New("portal: username taken")

	// ErrInvalidPassword: the accounts store refused a new password the
	// portal's own rule (8 to 1024 bytes of UTF-8) accepted, for example
	// one found in a list of breached passwords.
	ErrInvalidPassword = errors.New("portal: password not allowed")
)
