package sqlstore

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors. Errors from the database itself are returned wrapped
// with %w, never replaced by one of these, so the cause stays visible; the
// verifiers of the other packages turn any such error into
// [auth.ErrUnavailable] (503), never into a verdict on a credential.
//
// [ErrInvalidConfig] matches [auth.ErrInvalidConfig] (see Errors in the
// root package's documentation). The others share no meaning with the
// root package's: what a store failure means is the caller's to say.
var (
	// ErrInvalidConfig: Open was given an unusable Config. It matches
	// [auth.ErrInvalidConfig].
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "sqlstore: invalid config")
	// ErrSchemaTooNew: the database was migrated by a newer version of this
	// package. Open refuses to touch it rather than guess what the newer
	// schema means.
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")
	// ErrConnectionSetup: the connection lacks a setting the store relies
	// on, such as SQLite's foreign_keys=ON or a busy_timeout. Build SQLite
	// DSNs with [SQLiteDSN].
	ErrConnectionSetup = errors.New("sqlstore: database connection not set up as required")
	// ErrCorruptRecord: a stored row cannot be turned back into a record
	// (a hash of the wrong size, an invalid scope). Treated like any other
	// store failure: unavailable, never allow.
	ErrCorruptRecord = errors.New("sqlstore: stored record is invalid")
	// ErrKeySetConflict: a save of the signing key set was computed from
	// a stale copy (another instance rotated in between). Nothing was
	// changed; reload the key set and try again.
	ErrKeySetConflict = errors.New("sqlstore: signing key set changed since it was loaded")
	// ErrUnencryptedSigningKeys is the warning [Store.SigningKeys] gives
	// [Config.OnWarning] when no key-encryption key is configured: private
	// signing keys are stored in clear, and anyone who can read the
	// database (or a backup of it) can mint tokens.
	ErrUnencryptedSigningKeys = errors.New("sqlstore: WARNING: signing keys are stored unencrypted; set a key-encryption key (Config.KeyEncryptionKey)")
	// ErrKeyEncryptionKeyRequired: stored signing keys are encrypted and
	// the Store has no key-encryption key.
	ErrKeyEncryptionKeyRequired = errors.New("sqlstore: signing keys are encrypted: a key-encryption key is required")
	// ErrWrongKeyEncryptionKey: stored signing keys were encrypted under
	// another key-encryption key than the Store's.
	ErrWrongKeyEncryptionKey = errors.New("sqlstore: signing keys were encrypted under another key-encryption key")
	// ErrUserExists: a user with that ID or username already exists.
	ErrUserExists = errors.New("sqlstore: user already exists")
	// ErrUserNotFound: no user has that username or ID.
	ErrUserNotFound = errors.New("sqlstore: user not found")
	// ErrInvalidUser: a user to create lacks an ID, a username or a
	// password hash, or holds text no engine can store.
	ErrInvalidUser = errors.New("sqlstore: invalid user")
	// ErrSessionNotFound: no session has that hash, or it has ended.
	ErrSessionNotFound = errors.New("sqlstore: session not found")
	// ErrSessionExists: a session with that hash already exists.
	ErrSessionExists = errors.New("sqlstore: session already exists")
	// ErrInvalidSession: a session to create lacks a user, an idle
	// timeout or an expiry after its creation.
	ErrInvalidSession = errors.New("sqlstore: invalid session")
	// ErrPasswordChanged: the user's password hash is no longer the one
	// the caller verified (see [Sessions.CreateSession]).
	ErrPasswordChanged = errors.New("sqlstore: the user's password changed")
	// ErrIssuerMismatch: the database records another issuer than the
	// one given to [Store.ClaimIssuer].
	ErrIssuerMismatch = errors.New("sqlstore: another issuer serves this database")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("sqlstore: store closed")
)
