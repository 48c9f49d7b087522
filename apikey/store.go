package apikey

import (
	"context"
	"time"

	"github.com/audexum/auth"
)

// Record is what is stored about a key. It never holds the key or any part
// of its secret: only the ID (public) and a hash of the whole key.
type Record struct {
	// ID is the key's public identifier, the third field of the key and
	// the store's primary key.
	ID string
	// Hash is SHA-256 of the whole key, or HMAC-SHA256 with the pepper of
	// PepperVersion (see [Hasher]).
	Hash [HashSize]byte
	// PepperVersion is the pepper the hash was made with; 0 for none.
	PepperVersion int
	// Env is the key's environment.
	Env Env
	// Name is a short human label. Required.
	Name string
	// Description is optional free text.
	Description string
	// Owner is who the key acts for; it becomes the principal's Subject.
	// For a key that belongs to an account, the account's ID
	// (the Owner of a [Filter] lists an account's keys).
	Owner string
	// Scopes are the permissions the key grants.
	Scopes auth.Scopes
	// CreatedAt is when the key was created.
	CreatedAt time.Time
	// ExpiresAt is when the key stops working. The zero time means never.
	ExpiresAt time.Time
	// RevokedAt is when the key was revoked; zero if it was not.
	RevokedAt time.Time
	// RevokeReason is the reason given to Revoke.
	RevokeReason string
	// RotatedFrom is the ID of the key this one replaced, if any.
	RotatedFrom string
	// ReplacedBy is the ID of the key that replaced this one in a
	// rotation, if any. A key is rotated at most once.
	ReplacedBy string
	// LastUsedAt is when the key last authenticated a request, at minute
	// precision and recorded with some delay; zero if never.
	LastUsedAt time.Time
}

// Revoked reports whether the key has been revoked.
func (r *Record) Revoked() bool { return !r.RevokedAt.IsZero() }

// Expired reports whether the key has expired at now.
func (r *Record) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}

// Active reports whether the key authenticates at now: neither revoked nor
// expired. A rotated key stays active until its shortened expiry.
func (r *Record) Active(now time.Time) bool { return !r.Revoked() && !r.Expired(now) }

// Filter selects records in [Store.ListKeys]. The zero Filter selects all.
type Filter struct {
	// Owner, if not empty, selects the keys of this owner only.
	Owner string
	// ExpiresBefore, if not zero, selects keys that have an expiry
	// earlier than it (keys that never expire are left out).
	ExpiresBefore time.Time
}

// Store keeps key records. Implementations must be safe for concurrent use
// and must pass the contract suite in package apikeytest.
//
// Each method is one atomic step, so a SQL implementation can do each with
// a single statement or transaction. Errors other than the sentinels named
// below mean the store could not answer; the verifier turns them into
// "unavailable" (503), never into a verdict on the key.
//
// Times are compared with [time.Time.Before]/Equal; an implementation may
// round them to the microsecond and return them in any location.
type Store interface {
	// CreateKey adds a new record. It fails with ErrDuplicateID if the ID
	// exists.
	CreateKey(ctx context.Context, rec Record) error

	// Key returns the record with the given ID, or ErrNotFound.
	Key(ctx context.Context, id string) (Record, error)

	// ListKeys returns the records f selects, ordered by CreatedAt, then ID.
	ListKeys(ctx context.Context, f Filter) ([]Record, error)

	// RevokeKey marks the key revoked at the given time with the given
	// reason, only if it is not revoked yet. It fails with ErrNotFound,
	// or ErrAlreadyRevoked (leaving the first revocation as it was).
	RevokeKey(ctx context.Context, id string, at time.Time, reason string) error

	// RotateKey atomically replaces the key oldID with next, only if oldID
	// is still active at now (not revoked, not expired, ReplacedBy empty):
	// it inserts next, sets the old record's ReplacedBy to next.ID, and
	// sets its ExpiresAt to graceUntil if it had no expiry or a later one.
	// Of several concurrent rotations of one key exactly one succeeds. It
	// fails with ErrNotFound, ErrNotActive, or ErrDuplicateID (changing
	// nothing).
	RotateKey(ctx context.Context, oldID string, next Record, graceUntil, now time.Time) error

	// TouchLastUsed sets LastUsedAt of each ID in batch to the given time
	// if that is later than the stored one: forward only, so batches may
	// arrive late and out of order. Unknown IDs are ignored.
	TouchLastUsed(ctx context.Context, batch map[string]time.Time) error
}
