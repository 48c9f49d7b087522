package apikey

import (
	"errors"

	"github.com/audexum/auth"
)

// Reasons a key is refused. [Parse] returns them as they are; [Verifier]
// returns them wrapped together with the root package's sentinel
// ([auth.ErrInvalidCredential], [auth.ErrUnknownCredential],
// [auth.ErrExpired], [auth.ErrRevoked] or [auth.ErrUnavailable]) so the
// [auth.Authenticator] picks the answer and the hook sees the detail. Match
// them with [errors.Is].
var (
	// ErrMalformed: the key has the wrong length, a wrong separator, or a
	// character outside the base62 alphabet.
	ErrMalformed = errors.New("apikey: malformed key")
	// ErrWrongPrefix: the key's prefix is not the configured one.
	ErrWrongPrefix = errors.New("apikey: wrong key prefix")
	// ErrWrongEnvironment: the key's environment is not "live" or "test",
	// or is not one the verifier accepts.
	ErrWrongEnvironment = errors.New("apikey: key environment not accepted")
	// ErrChecksum: the key is well formed but its checksum does not match,
	// as for a typo or a truncated copy.
	ErrChecksum = errors.New("apikey: key checksum mismatch")
	// ErrSecretMismatch: the key has a correct checksum and a known ID but
	// the wrong secret. A typo almost never produces this (the checksum
	// catches those), so it is an attack signal: someone knows a key ID and
	// is guessing or forging the secret.
	ErrSecretMismatch = errors.New("apikey: secret does not match the key ID")
	// ErrUnknownPepper: the stored key was hashed with a pepper version
	// this process is not configured with. The key cannot be judged, so the
	// request is answered as unavailable, never allowed.
	ErrUnknownPepper = errors.New("apikey: key hashed with an unknown pepper version")

	// ErrNotFound: no key has this ID.
	ErrNotFound = errors.New("apikey: key not found")
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
	ErrInvalidConfig = errors.New("apikey: invalid config")
	// ErrInvalidParams: [Manager.Create] was given unusable parameters.
	ErrInvalidParams = errors.New("apikey: invalid key parameters")
	// ErrClosed: the verifier was closed.
	ErrClosed = errors.New("apikey: verifier closed")
)

// The verifier's answers, built once so the refusal path never allocates:
// an attacker's garbage costs no garbage.
var (
	errVerifyMalformed = refusal(auth.ErrInvalidCredential, ErrMalformed)
	errVerifyPrefix    = refusal(auth.ErrInvalidCredential, ErrWrongPrefix)
	errVerifyEnv       = refusal(auth.ErrInvalidCredential, ErrWrongEnvironment)
	errVerifyChecksum  = refusal(auth.ErrInvalidCredential, ErrChecksum)
	errVerifySecret    = refusal(auth.ErrInvalidCredential, ErrSecretMismatch)
	errVerifyUnknown   = refusal(auth.ErrUnknownCredential, ErrNotFound)
	errVerifyPepper    = refusal(auth.ErrUnavailable, ErrUnknownPepper)
	errVerifyRevoked   = refusal(auth.ErrRevoked, nil)
	errVerifyExpired   = refusal(auth.ErrExpired, nil)
)

// refusalError is a verifier's answer: the root sentinel that picks the
// response and this package's reason. It matches both with [errors.Is],
// through its Is method.
//
// It has no Unwrap on purpose. The Authenticator classifies each failure
// with several errors.Is calls; a two-level wrapped error made them the
// costliest step of refusing a malformed key. Both sentinels are leaves
// (errors.New), so equality is all Is needs.
type refusalError struct {
	msg          string
	kind, reason error
}

func refusal(kind, reason error) error {
	msg := "apikey: " + kind.Error()
	if reason != nil {
		msg = kind.Error() + ": " + reason.Error()
	}
	return &refusalError{msg: msg, kind: kind, reason: reason}
}

func (e *refusalError) Error() string { return e.msg }

func (e *refusalError) Is(target error) bool {
	return target == e.kind || (e.reason != nil && target == e.reason)
}

// verifyError maps a parse failure to the verifier's wrapped answer.
func verifyError(err error) error {
	switch err {
	case ErrWrongPrefix:
		return errVerifyPrefix
	case ErrWrongEnvironment:
		return errVerifyEnv
	case ErrChecksum:
		return errVerifyChecksum
	}
	return errVerifyMalformed
}
