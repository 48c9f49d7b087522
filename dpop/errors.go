package dpop

import (
	"fmt"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors; match them with [errors.Is]. Every error a [Checker]
// returns for a proof is, or wraps, exactly one of them, and each matches
// the root package's sentinel named in its declaration (see Errors in
// package auth), which decides the answer. None ever reaches a response.
var (
	// ErrNoProof: the request carries no DPoP header (token requests
	// only: the Authenticator asks for a proof only when the DPoP scheme
	// is used).
	ErrNoProof = reason.New(auth.ErrInvalidProof, "dpop: no proof")
	// ErrTooLarge: the proof is longer than [Config.MaxProofSize], or
	// one of its parts is longer than any valid proof's. Nothing was
	// decoded.
	ErrTooLarge = reason.New(auth.ErrInvalidProof, "dpop: proof too large")
	// ErrMalformed: the proof is not a compact JWS of three parts with a
	// JSON header and claims set in canonical base64url, or a header
	// parameter or claim is duplicated, of the wrong type, or a case
	// variant of one the checker reads; or the request carried more than
	// one DPoP header.
	ErrMalformed = reason.New(auth.ErrInvalidProof, "dpop: malformed proof")
	// ErrType: the header's "typ" is not "dpop+jwt" (RFC 9449 §4.2).
	ErrType = reason.New(auth.ErrInvalidProof, "dpop: not a DPoP proof")
	// ErrAlgorithm: the header's "alg" is not in [Config.Algorithms]:
	// "none", HMAC and anything not listed.
	ErrAlgorithm = reason.New(auth.ErrInvalidProof, "dpop: algorithm not allowed")
	// ErrKey: the header's "jwk" is missing, not a public key the "alg"
	// can verify with (a wrong type or curve, an RSA key under 2048
	// bits, a point not on the curve), or it holds private key material
	// (RFC 9449 §4.3, check 7).
	ErrKey       = reason.New(auth.ErrInvalidProof, "dpop: unusable or private jwk")
	ErrSignature = reason.New(auth.ErrInvalidProof, "dpop: bad signature")
	// ErrMissingClaim: "jti", "htm", "htu" or "iat" is absent, or "ath"
	// where an access token is presented.
	ErrMissingClaim = reason.New(auth.ErrInvalidProof, "dpop: required claim missing")
	ErrMethod       = reason.New(auth.ErrInvalidProof, "dpop: htm is not the request method")
	// ErrURI: "htu" is not the request's URI (scheme, host and path,
	// compared after RFC 3986 normalization), has a query or fragment,
	// or is not an absolute http(s) URI.
	ErrURI = reason.New(auth.ErrInvalidProof, "dpop: htu is not the request URI")
	// ErrIssuedAt: "iat" is further from now than [Config.Window], in
	// the past or the future.
	ErrIssuedAt = reason.New(auth.ErrInvalidProof, "dpop: iat outside the accepted window")
	// ErrTokenHash: "ath" is not the base64url SHA-256 of the access token
	// presented with the proof (RFC 9449 §4.3, check 11).
	ErrTokenHash = reason.New(auth.ErrInvalidProof, "dpop: ath does not match the access token")
	// ErrReplay: a proof with this "jti" and key was accepted before,
	// within the window (RFC 9449 §11.1).
	ErrReplay = reason.New(auth.ErrInvalidProof, "dpop: proof replayed")
	// ErrNonce: with [Config.RequireNonce], no nonce or a stale or
	// foreign one; the client retries with the DPoP-Nonce header's.
	ErrNonce = reason.New(auth.ErrUseNonce, "dpop: nonce missing or stale")
	// ErrKeyMismatch: a valid proof by another key than the one the
	// access token ("cnf" "jkt"), code or refresh token is bound to.
	ErrKeyMismatch = reason.New(auth.ErrProofKeyMismatch, "dpop: proof key is not the bound key")
	// ErrReplayCheck: the [ReplayStore] failed or is full; the proof is
	// neither accepted nor called invalid (503).
	ErrReplayCheck = reason.New(auth.ErrUnavailable, "dpop: replay check failed")
	// ErrReplayCacheFull: returned by a full [MemoryReplayCache]; the
	// Checker then answers [ErrReplayCheck].
	ErrReplayCacheFull = reason.New(auth.ErrUnavailable, "dpop: replay cache full")

	// ErrInvalidConfig: [NewChecker] or [NewSigner] was given an unusable
	// configuration.
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "dpop: invalid config")
)

// errMultipleProof is the reason for a token request with several DPoP
// headers, built once: the request path never formats an error.
var errMultipleProof = fmt.Errorf("%w: more than one DPoP header", ErrMalformed)

// configError returns an error wrapping ErrInvalidConfig, and so
// auth.ErrInvalidConfig, with a message for the programmer.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}
