package apikey

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors. Match them with [errors.Is].
//
// The reasons a key is refused share a meaning with a sentinel of the
// root package (see Errors in its documentation): [ErrMalformed],
// [ErrWrongPrefix], [ErrWrongEnvironment], [ErrChecksum] and
// [ErrSecretMismatch] match [auth.ErrInvalidCredential], [ErrNotFound]
// matches [auth.ErrUnknownCredential], [ErrUnknownPepper] matches
// [auth.ErrUnavailable], and [ErrInvalidConfig] matches
// [auth.ErrInvalidConfig]. [Parse] and [Verifier] return them as they
// are, so the [auth.Authenticator] picks the answer by the shared meaning
// and a hook can match the precise reason. The others share no meaning.
var (
	// ErrMalformed: the key has the wrong length, a wrong separator, or a
	// character outside the base62 alphabet.
	ErrMalformed = reason.New(auth.ErrInvalidCredential, "apikey: malformed key")
	// ErrWrongPrefix: the key's prefix is not the configured one.
	ErrWrongPrefix = reason.New(auth.ErrInvalidCredential, "apikey: wrong key prefix")
	// ErrWrongEnvironment: the key's environment is not "live" or "test",
	// or is not one the verifier accepts.
	ErrWrongEnvironment = reason.New(auth.ErrInvalidCredential, "apikey: key environment not accepted")
	// ErrChecksum: the key is well formed but its checksum does not match,
	// as for a typo or a truncated copy.
	ErrChecksum = reason.New(auth.ErrInvalidCredential, "apikey: key checksum mismatch")
	// ErrSecretMismatch: the key has a correct checksum and a known ID but
	// the wrong secret. A typo almost never produces this (the checksum
	// catches those), so it is an attack signal: someone knows a key ID and
	// is guessing or forging the secret.
	ErrSecretMismatch = reason.New(auth.ErrInvalidCredential, "apikey: secret does not match the key ID")
	// ErrUnknownPepper: the stored key was hashed with a pepper version
	// this process is not configured with. The key cannot be judged, so the
	// request is answered as unavailable, never allowed.
	ErrUnknownPepper = reason.New(auth.ErrUnavailable, "apikey: key hashed with an unknown pepper version")

	// ErrNotFound: no key has this ID.
	ErrNotFound = reason.New(auth.ErrUnknownCredential, "apikey: key not found")
	// ErrDuplicateID: a key with this ID already exists.
	ErrDuplicateID = errors.New("apikey: duplicate key ID")
	// ErrAlreadyRevoked: the key was revoked before; the first revocation
	// (time and reason) is kept.
	ErrAlreadyRevoked = errors.New("apikey: key already revoked")
	// ErrNotActive: a rotation found the key revoked, expired or already
	// rotated. [Manager.Rotate] wraps it with the precise reason
	// ([auth.ErrRevoked], [auth.ErrExpired] or [ErrAlreadyRotated]).
	ErrNotActive = errors.New("apikey: key is not active")
	// ErrAlreadyRotated: the key has already been replaced by a rotation.
	ErrAlreadyRotated = errors.New("apikey: key already rotated")

	// ErrInvalidConfig: a constructor was given an unusable config.
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "apikey: invalid config")
	// ErrInvalidParams: [Manager.Create] was given unusable parameters.
	ErrInvalidParams = errors.New("apikey: invalid key parameters")
	// ErrClosed: the verifier was closed.
	ErrClosed = errors.New("apikey: verifier closed")
)

// The verifier's reasons that the package exports no sentinel for: the
// root package's meaning is all a caller needs, and the message still
// names the package.
var (
	errRevoked  = reason.New(auth.ErrRevoked, "apikey: key revoked")
	errExpired  = reason.New(auth.ErrExpired, "apikey: key expired")
	errKeyStore = reason.New(auth.ErrUnavailable, "apikey: key store failed")
)
