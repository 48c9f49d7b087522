package jwt

import (
	"errors"
	"fmt"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors; match them with [errors.Is]. Every error
// [Verifier.Verify] returns is, or wraps, one of them, and each matches the
// root package's sentinel named in its declaration (see Errors in package
// auth), which decides the answer. None ever reaches a response.
var (
	// ErrMalformed: the token is not a compact JWS of the expected shape
	// (wrong number of dots, too long, invalid base64url or JSON, a header
	// the verifier does not understand).
	ErrMalformed = reason.New(auth.ErrInvalidCredential, "jwt: malformed token")
	// ErrAlgorithm: the token's "alg" is not in the allow-list, or not the
	// algorithm its key is bound to.
	ErrAlgorithm = reason.New(auth.ErrInvalidCredential, "jwt: algorithm not allowed")
	// ErrType: the token's "typ" is not "at+jwt" (RFC 9068 §2.1).
	ErrType = reason.New(auth.ErrInvalidCredential, "jwt: not an access token")
	// ErrIssuer: the token's "iss" is not the configured issuer.
	ErrIssuer = reason.New(auth.ErrInvalidCredential, "jwt: wrong issuer")
	// ErrUnknownKey: no key the verifier trusts matches the token's "kid".
	ErrUnknownKey   = reason.New(auth.ErrInvalidCredential, "jwt: unknown signing key")
	ErrBadSignature = reason.New(auth.ErrInvalidCredential, "jwt: bad signature")
	// ErrAudience: the token's "aud" names none of the configured audiences.
	ErrAudience = reason.New(auth.ErrInvalidCredential, "jwt: wrong audience")
	ErrExpired  = reason.New(auth.ErrExpired, "jwt: token expired")
	// ErrNotYetValid: the token's "nbf" or "iat" is in the future.
	ErrNotYetValid = reason.New(auth.ErrInvalidCredential, "jwt: token not yet valid")
	// ErrLifetimeTooLong: the token's lifetime, "exp" minus "iat",
	// exceeds [Config.MaxTokenLifetime].
	ErrLifetimeTooLong = reason.New(auth.ErrInvalidCredential, "jwt: token lifetime too long")
	// ErrRetiredKey: the token was signed with a key of [Config.KeyManager]
	// that had been retired ([StoredKey.RetiredAt]) more than the leeway
	// before the token's "iat", or the token has no "iat" to show it was
	// issued before.
	ErrRetiredKey   = reason.New(auth.ErrInvalidCredential, "jwt: token issued after its key was retired")
	ErrMissingClaim = reason.New(auth.ErrInvalidCredential, "jwt: required claim missing")
	// ErrInvalidClaim: a claim has the wrong type or value (a date as a
	// string, a duplicated claim, a malformed scope).
	ErrInvalidClaim = reason.New(auth.ErrInvalidCredential, "jwt: invalid claim")
	// ErrRevoked: [Config.Revoked] reported the token revoked.
	ErrRevoked = reason.New(auth.ErrRevoked, "jwt: token revoked")
	// ErrNoKeys: no key was ever loaded from a source the token could
	// belong to, so it can be neither accepted nor refused.
	ErrNoKeys = reason.New(auth.ErrUnavailable, "jwt: no verification keys available")
	// ErrRevocationCheck: [Config.Revoked] failed; never an allow.
	ErrRevocationCheck = reason.New(auth.ErrUnavailable, "jwt: revocation check failed")
	// ErrFetch: a JWKS endpoint could not be fetched or its response was
	// unusable. Returned by [Verifier.Refresh]; requests see [ErrNoKeys]
	// or keep using the previous keys.
	ErrFetch = reason.New(auth.ErrUnavailable, "jwt: fetching JWKS failed")

	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "jwt: invalid config")
	// ErrInvalidClaims: [Signer.Sign] was given claims it cannot mint
	// (no subject, client or audience, a lifetime out of range, an extra
	// claim that would override a registered one).
	ErrInvalidClaims = errors.New("jwt: invalid claims to sign")
	// ErrKeyStore: a [KeyStore] failed or returned unusable keys.
	ErrKeyStore = reason.New(auth.ErrUnavailable, "jwt: key store")
)

// configError returns an error wrapping ErrInvalidConfig, and so
// auth.ErrInvalidConfig, with a message for the programmer.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}
