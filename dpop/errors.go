package dpop

import (
	"errors"
	"fmt"

	"github.com/audexum/auth"
)

// Sentinel errors. Every error a [Checker] returns for a proof wraps
// exactly one of them and one of the root package's ([auth.ErrInvalidProof],
// [auth.ErrUseNonce], [auth.ErrProofKeyMismatch] or [auth.ErrUnavailable]),
// so the [auth.Authenticator] picks the answer and an observer hook can
// tell the reasons apart. Match them with [errors.Is]. None of them ever
// reaches a response.
var (
	// ErrNoProof: the request carries no DPoP header (token requests
	// only: the Authenticator asks for a proof only when the DPoP scheme
	// is used).
	ErrNoProof = errors.New("dpop: no proof")
	// ErrTooLarge: the proof is longer than [Config.MaxProofSize], or
	// one of its parts is longer than any valid proof's. Nothing was
	// decoded.
	ErrTooLarge = errors.New("dpop: proof too large")
	// ErrMalformed: the proof is not a compact JWS of three parts with a
	// JSON header and claims set in canonical base64url, or a header
	// parameter or claim is duplicated, of the wrong type, or a case
	// variant of one the checker reads; or the request carried more than
	// one DPoP header.
	ErrMalformed = errors.New("dpop: malformed proof")
	// ErrType: the header's "typ" is not "dpop+jwt" (RFC 9449 §4.2).
	ErrType = errors.New("dpop: not a DPoP proof")
	// ErrAlgorithm: the header's "alg" is not in [Config.Algorithms]:
	// "none", HMAC and anything not listed.
	ErrAlgorithm = errors.New("dpop: algorithm not allowed")
	// ErrKey: the header's "jwk" is missing, not a public key the "alg"
	// can verify with (a wrong type or curve, an RSA key under 2048
	// bits, a point not on the curve), or it holds private key material
	// (RFC 9449 §4.3, check 7).
	ErrKey = errors.New("dpop: unusable or private jwk")
	// ErrSignature: the signature does not verify with the header's jwk.
	ErrSignature = errors.New("dpop: bad signature")
	// ErrMissingClaim: "jti", "htm", "htu" or "iat" is absent, or "ath"
	// where an access token is presented.
	ErrMissingClaim = errors.New("dpop: required claim missing")
	// ErrMethod: "htm" is not the request's method.
	ErrMethod = errors.New("dpop: htm is not the request method")
	// ErrURI: "htu" is not the request's URI (scheme, host and path,
	// compared after RFC 3986 normalization), has a query or fragment,
	// or is not an absolute http(s) URI.
	ErrURI = errors.New("dpop: htu is not the request URI")
	// ErrIssuedAt: "iat" is further from now than [Config.Window], in
	// the past or the future.
	ErrIssuedAt = errors.New("dpop: iat outside the accepted window")
	// ErrTokenHash: "ath" is not the base64url SHA-256 of the access token
	// presented with the proof (RFC 9449 §4.3, check 11).
	ErrTokenHash = errors.New("dpop: ath does not match the access token")
	// ErrReplay: a proof with this "jti" and key was accepted before,
	// within the window (RFC 9449 §11.1).
	ErrReplay = errors.New("dpop: proof replayed")
	// ErrNonce: the server requires a nonce ([Config.RequireNonce]) and
	// the proof has none, or a stale or foreign one. Wrapped with
	// [auth.ErrUseNonce]: the client retries with the nonce of the
	// DPoP-Nonce header.
	ErrNonce = errors.New("dpop: nonce missing or stale")
	// ErrKeyMismatch: the proof is valid but its key is not the one the
	// access token is bound to (its "cnf" "jkt"), or not the one an
	// authorization code or refresh token is bound to. Wrapped with
	// [auth.ErrProofKeyMismatch].
	ErrKeyMismatch = errors.New("dpop: proof key is not the bound key")
	// ErrReplayCheck: the [ReplayStore] failed, or is full. Wrapped with
	// [auth.ErrUnavailable]: a proof whose freshness cannot be checked is
	// neither accepted nor called invalid (503).
	ErrReplayCheck = errors.New("dpop: replay check failed")
	// ErrReplayCacheFull: a [MemoryReplayCache] holds as many unexpired
	// proofs as it may. Returned by ClaimProof; the Checker wraps it with
	// [ErrReplayCheck].
	ErrReplayCacheFull = errors.New("dpop: replay cache full")

	// ErrInvalidConfig: [NewChecker] or [NewSigner] was given an unusable
	// configuration. It wraps [auth.ErrInvalidConfig] too.
	ErrInvalidConfig = errors.New("dpop: invalid config")
)

// The errors the checker returns, wrapped once at start-up: the request
// path never formats an error.
var (
	errNoProof       = invalid(ErrNoProof)
	errTooLarge      = invalid(ErrTooLarge)
	errMalformed     = invalid(ErrMalformed)
	errType          = invalid(ErrType)
	errAlgorithm     = invalid(ErrAlgorithm)
	errKey           = invalid(ErrKey)
	errSignature     = invalid(ErrSignature)
	errMissingClaim  = invalid(ErrMissingClaim)
	errMethod        = invalid(ErrMethod)
	errURI           = invalid(ErrURI)
	errIssuedAt      = invalid(ErrIssuedAt)
	errTokenHash     = invalid(ErrTokenHash)
	errReplay        = invalid(ErrReplay)
	errNonce         = fmt.Errorf("%w: %w", auth.ErrUseNonce, ErrNonce)
	errKeyMismatch   = fmt.Errorf("%w: %w", auth.ErrProofKeyMismatch, ErrKeyMismatch)
	errReplayCheck   = fmt.Errorf("%w: %w", auth.ErrUnavailable, ErrReplayCheck)
	errMultipleProof = fmt.Errorf("%w: %w: more than one DPoP header", auth.ErrInvalidProof, ErrMalformed)
)

func invalid(err error) error { return fmt.Errorf("%w: %w", auth.ErrInvalidProof, err) }

// configError returns an error wrapping ErrInvalidConfig and
// auth.ErrInvalidConfig with a message for the programmer.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidConfig, auth.ErrInvalidConfig, fmt.Sprintf(format, args...))
}
