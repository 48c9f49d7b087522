package apikey

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors; match them with [errors.Is]. The reasons a key is
// refused match the root package's sentinel named in their declaration
// (see Errors in package auth), which decides the answer; [Parse] and
// [Verifier] return them as they are. The others share no meaning.
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

	ErrNotFound    = reason.New(auth.ErrUnknownCredential, "apikey: key not found")
	ErrDuplicateID = errors.New("apikey: duplicate key ID")
	// ErrAlreadyRevoked: the key was revoked before; the first revocation
	// (time and reason) is kept.
	ErrAlreadyRevoked = errors.New("apikey: key already revoked")
	// ErrNotActive: a rotation found the key revoked, expired or already
	// rotated. [Manager.Rotate] wraps it with the precise reason
	// ([auth.ErrRevoked], [auth.ErrExpired] or [ErrAlreadyRotated]).
	ErrNotActive      = errors.New("apikey: key is not active")
	ErrAlreadyRotated = errors.New("apikey: key already rotated")

	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "apikey: invalid config")
	// ErrInvalidParams: [Manager.Create] was given unusable parameters.
	ErrInvalidParams = errors.New("apikey: invalid key parameters")
	ErrClosed        = errors.New("apikey: verifier closed")
)

// The verifier's reasons that the package exports no sentinel for: the
// root package's meaning is all a caller needs, and the message still
// names the package.
var (
	errRevoked  = reason.New(auth.ErrRevoked, "apikey: key revoked")
	errExpired  = reason.New(auth.ErrExpired, "apikey: key expired")
	errKeyStore = reason.New(auth.ErrUnavailable, "apikey: key store failed")
)
