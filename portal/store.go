package portal

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// Account is a person who signs in to the portal.
type Account struct {
	// ID identifies the account for good. It is the owner written on the
	// account's keys and applications. Required.
	ID string
	// Username is what the person signs in with, shown in the portal and
	// in the actor "portal:USERNAME".
	Username string
	// PasswordStamp, set by [Accounts.Authenticate], names the password
	// it verified in a form only the store understands (the reference
	// server: the stored hash), or is empty. The portal never shows it: it
	// hands it back in [Session.PasswordStamp] (see
	// [Sessions.CreateSession]).
	PasswordStamp string
}

// Accounts authenticates people and changes their passwords.
//
// Hashing passwords is the implementation's work, not the portal's: it
// must store passwords only as slow, salted hashes (argon2id, as the
// reference server does) and bound how many it computes at once. The
// portal counts every sign-in attempt with its [auth.AttemptCounter]
// before it calls Authenticate, so a guesser is refused before any hash is
// computed.
type Accounts interface {
	// Authenticate returns the account with the given username and
	// password, with the PasswordStamp of the password it verified. For
	// an unknown username and for a wrong password it returns
	// ErrBadCredentials after the same work (hash the password against a
	// dummy hash when the username is unknown), so neither the answer nor
	// its timing tells whether the username exists.
	Authenticate(ctx context.Context, username, password string) (Account, error)

	// Account returns the account with the given ID, or ErrNotFound (a
	// deleted account: its sessions end).
	Account(ctx context.Context, id string) (Account, error)

	// ChangePassword replaces the password of the account with the given
	// ID by next if current is its password. It fails with
	// ErrBadCredentials for a wrong current password, ErrNotFound, or
	// ErrInvalidPassword for a next password the store refuses.
	ChangePassword(ctx context.Context, id, current, next string) error
}

// AccountCreator creates accounts: sign-up, offered only when
// [Config.SignUp] is set.
type AccountCreator interface {
	// CreateAccount creates an account with the given username and
	// password (the portal has checked both against its rules) and returns
	// it. It fails with ErrUsernameTaken or ErrInvalidPassword.
	CreateAccount(ctx context.Context, username, password string) (Account, error)
}

// SessionHash is the SHA-256 of a session ID. The session ID is in the
// person's cookie and nowhere else: stores see and keep only its hash, so
// a copy of the store does not sign anyone in.
type SessionHash [sha256.Size]byte

// Session is a signed-in browser.
type Session struct {
	// Hash is the SHA-256 of the session ID: the store's key.
	Hash SessionHash
	// AccountID is the account signed in.
	AccountID string
	// CreatedAt is when the person signed in.
	CreatedAt time.Time
	// LastSeenAt is when the session last made a request, updated at
	// most once a minute.
	LastSeenAt time.Time
	// ExpiresAt is when the session ends whatever happens (CreatedAt plus
	// [Config.AbsoluteTimeout]). A store may delete sessions past it.
	ExpiresAt time.Time
	// PasswordStamp is the [Account.PasswordStamp] of the sign-in that
	// creates the session, for CreateSession only (empty after sign-up).
	// Stores need not keep it, and Session need not return it.
	PasswordStamp string
}

// Sessions keeps the portal's sessions.
type Sessions interface {
	// CreateSession stores a new session. If s.PasswordStamp is set and
	// the account's password is no longer the one it names (changed since
	// Authenticate verified it), or the account is gone, it fails with
	// ErrBadCredentials and stores nothing: a sign-in with the old
	// password that races a password change must not outlive the change,
	// which ends every other session.
	CreateSession(ctx context.Context, s Session) error
	// Session returns the session with the given hash, or ErrNotFound.
	Session(ctx context.Context, h SessionHash) (Session, error)
	// TouchSession sets the session's LastSeenAt to at if that is later.
	// An unknown session is not an error.
	TouchSession(ctx context.Context, h SessionHash, at time.Time) error
	// DeleteSession deletes the session (sign out). An unknown session is
	// not an error.
	DeleteSession(ctx context.Context, h SessionHash) error
	// DeleteAccountSessions deletes every session of the account (sign
	// out everywhere).
	DeleteAccountSessions(ctx context.Context, accountID string) error
	// DeleteOtherSessions deletes every session of the account except
	// keep (after a password change).
	DeleteOtherSessions(ctx context.Context, accountID string, keep SessionHash) error
}

// Key is what the portal shows of an API key. It never holds the key.
type Key struct {
	// ID is the key's public identifier.
	ID string
	// Owner is the [Account.ID] the key belongs to.
	Owner string
	// Name and Description are the labels its owner gave it.
	Name, Description string
	// Scopes are the permissions the key grants.
	Scopes auth.Scopes
	// CreatedAt is when the key was created.
	CreatedAt time.Time
	// ExpiresAt is when the key stops working; zero for never.
	ExpiresAt time.Time
	// LastUsedAt is when the key last authenticated a request; zero for
	// never.
	LastUsedAt time.Time
	// RevokedAt is when the key was revoked; zero if it was not.
	RevokedAt time.Time
	// ReplacedBy is the ID of the key that replaced this one in a
	// rotation; empty if it was not rotated.
	ReplacedBy string
}

// KeyParams describes a new key. The portal has checked every field: the
// name and description against the apikey package's rules, the scopes
// against the [auth.ScopeCatalog] (at least one), the lifetime among the
// offered ones.
type KeyParams struct {
	Owner       string
	Name        string
	Description string
	Scopes      auth.Scopes
	// TTL is the key's lifetime.
	TTL time.Duration
}

// Keys manages API keys; [ManagerKeys] implements it on an apikey.Manager.
type Keys interface {
	// ListKeys returns the keys of the owner, revoked and expired ones
	// included.
	ListKeys(ctx context.Context, owner string) ([]Key, error)
	// Key returns the key with the given ID, whoever owns it, or
	// ErrNotFound.
	Key(ctx context.Context, id string) (Key, error)
	// CreateKey creates a key and returns it (the only time it exists
	// outside its owner's hands) and its record.
	CreateKey(ctx context.Context, p KeyParams) (key string, rec Key, err error)
	// RotateKey replaces the key with a new one with the same name,
	// description, owner and scopes, and returns the new key and its
	// record. The old key keeps working for grace (0: it stops now, at
	// most 7 days). It fails with ErrNotFound, or ErrConflict for a key
	// revoked, expired or rotated already.
	RotateKey(ctx context.Context, id string, grace time.Duration) (key string, rec Key, err error)
	// RevokeKey revokes the key. It fails with ErrNotFound, or
	// ErrConflict for a key revoked already.
	RevokeKey(ctx context.Context, id string) error
}

// App is what the portal shows of an OAuth 2.0 client. It never holds a
// secret.
type App struct {
	// ID is the client ID.
	ID string
	// Owner is the [Account.ID] the application belongs to.
	Owner string
	// Name is the label shown on consent pages.
	Name string
	// Type is web, mobile (public: no secret) or server (no redirect
	// URIs).
	Type oauth.ClientType
	// RedirectURIs are the registered redirect URIs.
	RedirectURIs []string
	// Scopes are the scopes the client may obtain.
	Scopes auth.Scopes
	// CreatedAt is when the application was registered.
	CreatedAt time.Time
}

// AppParams describes an application to register. The portal has checked
// every field: the name against the oauth package's rule, each redirect
// URI with [oauth.ValidateRedirectURI], none for a server application and
// at least one for the others, the scopes against the
// [auth.ScopeCatalog] (at least one).
type AppParams struct {
	Owner        string
	Name         string
	Type         oauth.ClientType
	RedirectURIs []string
	Scopes       auth.Scopes
}

// Applications manages OAuth 2.0 clients; [ClientManagerApps] implements
// it on an oauth.ClientManager.
type Applications interface {
	// ListApps returns the applications of the owner.
	ListApps(ctx context.Context, owner string) ([]App, error)
	// App returns the application with the given client ID, whoever owns
	// it, or ErrNotFound.
	App(ctx context.Context, id string) (App, error)
	// RegisterApp registers an application and returns it with its client
	// secret (shown once), empty for a mobile application.
	RegisterApp(ctx context.Context, p AppParams) (rec App, secret string, err error)
	// RotateAppSecret issues a new secret for a web or server application
	// and returns it (shown once); the previous one keeps working for the
	// store's grace period. It fails with ErrNotFound.
	RotateAppSecret(ctx context.Context, id string) (secret string, err error)
	// DeleteApp deletes the application. It fails with ErrNotFound.
	DeleteApp(ctx context.Context, id string) error
}

// CredentialKind says whether a [Credential] is an API key or an
// application.
type CredentialKind string

// The kinds of credential, spelt as the audit trail of
// github.com/audexum/auth/sqlstore spells the records.
const (
	KindKey CredentialKind = "api_key"
	KindApp CredentialKind = "oauth_client"
)

// Credential names an API key (its key ID) or an application (its client
// ID) whose usage the monitoring pages show.
type Credential struct {
	Kind CredentialKind
	ID   string
}

// Bucket counts one credential's traffic in one interval
// [Start, Start+step).
type Bucket struct {
	// Start is the start of the interval, a whole hour or a whole UTC day.
	Start time.Time
	// Requests is the number of requests the credential authenticated.
	Requests int64
	// Failures counts the refused attempts with the credential, by reason
	// (a short code such as "expired" or "wrong_secret"; never anything
	// from the request).
	Failures map[string]int64
	// Throttled is the number of requests refused as throttled (over a
	// rate limit, or after too many failures).
	Throttled int64
}

// Failure is one refused attempt with a credential. It holds no part of
// the credential presented.
type Failure struct {
	// At is when it happened.
	At time.Time
	// Reason is a short code, as in [Bucket.Failures].
	Reason string
	// Network is the client's network as [auth.ClientNetwork] gives it;
	// the zero Prefix when unknown.
	Network netip.Prefix
}

// Usage reports how credentials are used.
type Usage interface {
	// Buckets returns the counts of the credential in the n intervals of
	// length step that start at from, from+step, …: the portal asks for
	// 24 hourly intervals (step time.Hour, from a whole hour) and 30
	// daily ones (step 24 h, from a UTC midnight). Intervals without
	// traffic may be left out; the portal ignores buckets outside the
	// range asked for.
	Buckets(ctx context.Context, c Credential, from time.Time, step time.Duration, n int) ([]Bucket, error)
	// RecentFailures returns at most limit of the credential's latest
	// failures, newest first.
	RecentFailures(ctx context.Context, c Credential, limit int) ([]Failure, error)
}
