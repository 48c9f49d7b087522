package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MaxProofLength is the longest DPoP header value the [Authenticator]
// hands to its [ProofChecker], in bytes, checked before anything parses
// it. A proof with an RSA-4096 key is about 2.3 KB; a ProofChecker may
// set a lower limit of its own.
const MaxProofLength = 8 << 10

// ProofChecker checks DPoP proofs (RFC 9449) for an [Authenticator] (see
// Sender-constrained tokens in the package documentation); set one in
// [Config.DPoP]. Package dpop's Checker is one. Implementations must be
// safe for concurrent use.
type ProofChecker interface {
	// CheckProof checks proof, the value of the request's one DPoP
	// header field (at most [MaxProofLength] bytes), against r, against
	// accessToken (the credential of the DPoP Authorization header,
	// already verified) and against jkt, the RFC 7638 thumbprint of the
	// key the token is bound to (Principal.KeyThumbprint). It returns nil
	// only when every check of RFC 9449 §4.3 passes and the proof has not
	// been accepted before. A failure must mean [ErrInvalidProof],
	// [ErrUseNonce] (the answer carries Nonce()), [ErrProofKeyMismatch] or
	// [ErrUnavailable] (a replay store that cannot answer).
	CheckProof(r *http.Request, proof, accessToken, jkt string) error

	// Algorithms returns the JWS algorithms accepted in proofs, named in
	// the challenges' algs parameter (RFC 9449 §7.1). New calls it once.
	Algorithms() []string

	// Nonce returns the nonce clients must put in their proofs, sent in
	// the DPoP-Nonce header (RFC 9449 §9), or "" when the checker does
	// not require nonces.
	Nonce() string
}

// Reasons the Authenticator gives for proofs it refuses before the
// ProofChecker sees them.
var (
	errProofCount   = fmt.Errorf("%w: the request must carry exactly one DPoP header", ErrInvalidProof)
	errProofTooLong = fmt.Errorf("%w: DPoP header longer than %d bytes", ErrInvalidProof, MaxProofLength)
)

// proofCheckerError confines a ProofChecker's error to what a proof
// checker may mean: ErrInvalidProof, ErrUseNonce, ErrProofKeyMismatch or
// ErrUnavailable. Anything else is wrapped with ErrInvalidProof
// (ErrUnavailable if it matches that by an Is method of its own): the
// proof is refused, whatever the checker meant. The errors of package
// dpop pass unchanged, with no allocation.
func proofCheckerError(err error) error {
	if s := meaning(err); s != nil {
		switch s.kind {
		case failInvalidProof, failUseNonce, failUnavailable:
			return err
		}
		if error(s) == ErrProofKeyMismatch {
			return err
		}
	}
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidProof, err)
}

// checkAlgorithms validates the algorithm names a ProofChecker gives for
// the algs parameter: a non-empty list of tokens that fit in a quoted
// string.
func checkAlgorithms(algs []string) error {
	if len(algs) == 0 {
		return fmt.Errorf("%w: the DPoP ProofChecker accepts no algorithm", ErrInvalidConfig)
	}
	for _, a := range algs {
		if a == "" || !validRealm(a) || strings.ContainsRune(a, ' ') {
			return fmt.Errorf("%w: DPoP algorithm %q cannot be named in a challenge", ErrInvalidConfig, a)
		}
	}
	return nil
}

// RequireDPoP is middleware that lets a request through only when its
// principal is sender-constrained: a DPoP-bound access token presented
// with the DPoP scheme and a proof the [Authenticator] checked
// ([Principal.SenderConstrained]). API keys and bearer tokens get 401 with
// the DPoP challenge alone:
//
//	WWW-Authenticate: DPoP realm="api", error="invalid_token", algs="ES256 EdDSA RS256"
//
// so the client knows to come back with a DPoP-bound token; the body is
// the generic invalid_token one. No principal gets 401 and refusals are
// reported ([ErrNotSenderConstrained]), as with [RequireScopes].
//
// Use it on routes where a copied token must be worthless: payments,
// account changes, anything a mobile app calls with tokens that could leak
// from a backup or a log. Put it after [Authenticator.Handler], whose
// [Config.DPoP] must be set for any request to pass.
//
// RequireDPoP panics if next is nil.
func RequireDPoP(next http.Handler) http.Handler {
	if next == nil {
		panic("auth: RequireDPoP: nil handler")
	}
	fallback := newResponder(DefaultRealm, 0, nil, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, _ := FromContext(ctx)
		resp, _ := ctx.Value(responderKey{}).(*responder)
		if resp == nil {
			resp = fallback
		}
		switch {
		case p == nil:
			resp.fail(w, r, failNoCredential, ErrNoPrincipal, nil)
		case !p.SenderConstrained:
			resp.fail(w, r, failDPoPRequired, ErrNotSenderConstrained, &Event{Request: r, Principal: p})
		default:
			next.ServeHTTP(w, r)
		}
	})
}
