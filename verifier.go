package auth

import "context"

// Verifier checks one credential and returns the principal it stands for.
//
// On failure Verify returns a nil principal and an error that matches one
// of [ErrInvalidCredential], [ErrUnknownCredential], [ErrExpired],
// [ErrRevoked] or [ErrUnavailable]: best, a sentinel of the verifier's own
// package built to share that meaning, returned as it is (see Errors in
// the package documentation). The [Authenticator] wraps any other error
// with [ErrInvalidCredential]. A Verifier that cannot reach its store or key set
// must return [ErrUnavailable], never a verdict: the request is then
// answered 503 and neither allowed nor refused as invalid.
//
// Verify is called concurrently and must be safe for concurrent use. The
// credential it receives has already been checked for length and RFC 6750
// syntax, and is a credential whose shape the Verifier claimed (see
// [ShapeMatcher]).
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
