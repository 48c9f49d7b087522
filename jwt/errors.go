package jwt

import (
	"errors"
	"fmt"

	"github.com/audexum/auth"
)

// Sentinel errors. Every error [Verifier.Verify] returns wraps exactly one
// of them and one of the root package's sentinels ([auth.ErrInvalidCredential],
// [auth.ErrExpired], [auth.ErrRevoked] or [auth.ErrUnavailable]), so the
// [auth.Authenticator] picks the answer and an observer hook can tell the
// reasons apart. Match them with [errors.Is]. None of them ever reaches a
// response.
var (
	// ErrMalformed: the token is not a compact JWS of the expected shape
	// (wrong number of dots, too long, invalid base64url or JSON, a header
	// the verifier does not understand).
	ErrMalformed = errors.New("jwt: malformed token")
	// ErrAlgorithm: the token's "alg" is not in the allow-list, or not the
	// algorithm its key is bound to.
	ErrAlgorithm = errors.New("jwt: algorithm not allowed")
	// ErrType: the token's "typ" is not "at+jwt" (RFC 9068 §2.1).
	ErrType = errors.New("jwt: not an access token")
	// ErrIssuer: the token's "iss" is not the configured issuer.
	ErrIssuer = errors.New("jwt: wrong issuer")
	// ErrUnknownKey: no key the verifier trusts matches the token's "kid".
	ErrUnknownKey = errors.New("jwt: unknown signing key")
	// ErrBadSignature: the signature does not verify.
	ErrBadSignature = errors.New("jwt: bad signature")
	// ErrAudience: the token's "aud" names none of the configured audiences.
	ErrAudience = errors.New("jwt: wrong audience")
	// ErrExpired: the token's "exp" has passed.
	ErrExpired = errors.New("jwt: token expired")
	// ErrNotYetValid: the token's "nbf" or "iat" is in the future.
	ErrNotYetValid = errors.New("jwt: token not yet valid")
	// ErrLifetimeTooLong: the token's lifetime, "exp" minus "iat",
	// exceeds [Config.MaxTokenLifetime].
	ErrLifetimeTooLong = errors.New("jwt: token lifetime too long")
	// ErrRetiredKey: the token was signed with a key of [Config.KeyManager]
	// that had been retired ([StoredKey.RetiredAt]) more than the leeway
	// before the token's "iat", or the token has no "iat" to show it was
	// issued before.
	ErrRetiredKey = errors.New("jwt: token issued after its key was retired")
	// ErrMissingClaim: a required claim is absent.
	ErrMissingClaim = errors.New("jwt: required claim missing")
	// ErrInvalidClaim: a claim has the wrong type or value (a date as a
	// string, a duplicated claim, a malformed scope).
	ErrInvalidClaim = errors.New("jwt: invalid claim")
	// ErrRevoked: [Config.Revoked] reported the token revoked.
	ErrRevoked = errors.New("jwt: token revoked")
	// ErrNoKeys: no verification key has ever been loaded from a key
	// source the token could belong to, so the token can be neither
	// accepted nor refused. Wrapped with [auth.ErrUnavailable].
	ErrNoKeys = errors.New("jwt: no verification keys available")
	// ErrRevocationCheck: [Config.Revoked] failed. Wrapped with
	// [auth.ErrUnavailable]: a failed check never allows a request.
	ErrRevocationCheck = errors.New("jwt: revocation check failed")
	// ErrFetch: a JWKS endpoint could not be fetched or its response was
	// unusable. Returned by [Verifier.Refresh]; requests see [ErrNoKeys]
	// or keep using the previous keys.
	ErrFetch = errors.New("jwt: fetching JWKS failed")

	// ErrInvalidConfig: a constructor was given an unusable configuration.
	// It wraps [auth.ErrInvalidConfig] too.
	ErrInvalidConfig = errors.New("jwt: invalid config")
	// ErrInvalidClaims: [Signer.Sign] was given claims it cannot mint
	// (no subject, client or audience, a lifetime out of range, an extra
	// claim that would override a registered one).
	ErrInvalidClaims = errors.New("jwt: invalid claims to sign")
	// ErrKeyStore: a [KeyStore] failed or returned unusable keys.
	ErrKeyStore = errors.New("jwt: key store")
)

// The errors Verify returns, wrapped once at start-up: the hot path never
// formats an error, and a flood of bad tokens allocates nothing for them.
var (
	errMalformed       = invalid(ErrMalformed)
	errAlgorithm       = invalid(ErrAlgorithm)
	errType            = invalid(ErrType)
	errIssuer          = invalid(ErrIssuer)
	errUnknownKey      = invalid(ErrUnknownKey)
	errBadSignature    = invalid(ErrBadSignature)
	errAudience        = invalid(ErrAudience)
	errExpired         = fmt.Errorf("%w: %w", auth.ErrExpired, ErrExpired)
	errNotYetValid     = invalid(ErrNotYetValid)
	errLifetimeTooLong = invalid(ErrLifetimeTooLong)
	errRetiredKey      = invalid(ErrRetiredKey)
	errMissingClaim    = invalid(ErrMissingClaim)
	errInvalidClaim    = invalid(ErrInvalidClaim)
	errRevoked         = fmt.Errorf("%w: %w", auth.ErrRevoked, ErrRevoked)
	errNoKeys          = fmt.Errorf("%w: %w", auth.ErrUnavailable, ErrNoKeys)
	errRevocationCheck = fmt.Errorf("%w: %w", auth.ErrUnavailable, ErrRevocationCheck)
)

func invalid(err error) error { return fmt.Errorf("%w: %w", auth.ErrInvalidCredential, err) }

// configError returns an error wrapping ErrInvalidConfig and
// auth.ErrInvalidConfig with a message for the programmer.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, auth.ErrInvalidConfig, fmt.Sprintf(format, args...))
}
