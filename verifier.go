package auth

import "context"

// Verifier checks one credential and returns the principal it stands for.
//
// On failure Verify returns a nil principal and an error matching
// [ErrInvalidCredential], [ErrUnknownCredential], [ErrExpired],
// [ErrRevoked] or, when it cannot reach its store or keys (never a
// verdict), [ErrUnavailable]: best, its package's own sentinel with that
// meaning (see Errors in the package documentation).
//
// Verify must be safe for concurrent use. The credential has already been
// checked for length and RFC 6750 syntax, and has a shape the Verifier
// claimed ([ShapeMatcher]).
type Verifier interface {
	Verify(ctx context.Context, credential string) (*Principal, error)
}

// ShapeMatcher is implemented by a [Verifier] that recognises its
// credentials by their shape (an API key's prefix, the three segments of a
// JWS). The [Authenticator] gives each credential to the first verifier
// whose MatchShape returns true, so an API key never reaches a JWT parser
// and a JWT never reaches the key store.
//
// MatchShape must be cheap, do no I/O and be safe for concurrent use. A
// verifier that does not implement ShapeMatcher claims every credential;
// it may only be the last in [Config.Verifiers].
type ShapeMatcher interface {
	MatchShape(credential string) bool
}

// VerifierFunc adapts a function to the [Verifier] interface. It claims
// every credential, as it has no [ShapeMatcher].
type VerifierFunc func(ctx context.Context, credential string) (*Principal, error)

// Verify calls f(ctx, credential).
func (f VerifierFunc) Verify(ctx context.Context, credential string) (*Principal, error) {
	return f(ctx, credential)
}

// Readier is implemented by a [Verifier] that needs something loaded
// before it can verify (a JWKS fetched, a key set read). See
// [Authenticator.Ready].
type Readier interface {
	Ready() bool
}
