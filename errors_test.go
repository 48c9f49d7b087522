package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/audexum/auth/internal/reason"
)

// isUnavailable matches ErrUnavailable by an Is method of its own, as a
// third-party error may, without wrapping it.
type isUnavailable struct{}

func (isUnavailable) Error() string        { return "ext: store down" }
func (isUnavailable) Is(target error) bool { return target == ErrUnavailable }

// TestKindOf: an error is answered as the first of this package's
// sentinels errors.Is meets in it declares; one with none is invalid_token.
func TestKindOf(t *testing.T) {
	expired := reason.New(ErrExpired, "pkg: token expired")
	down := reason.New(ErrUnavailable, "pkg: store down")
	for _, tt := range []struct {
		name string
		err  error
		want failKind
	}{
		{"root sentinel", ErrNoCredential, failNoCredential},
		{"package reason", down, failUnavailable},
		{"package reason with detail", fmt.Errorf("%w: at 12:00", down), failUnavailable},
		{"root sentinel with detail", fmt.Errorf("store: %w", ErrUnavailable), failUnavailable},
		// The first meaning wins, in errors.Is order: the reason, not its
		// cause.
		{"reason, then a cause with another meaning", fmt.Errorf("%w: %w", expired, ErrUnavailable), failInvalidToken},
		{"a cause without meaning, then a meaning", fmt.Errorf("%w: %w", errors.New("cause"), ErrUnavailable), failUnavailable},
		{"throttled", &ThrottledError{err: ErrThrottled}, failThrottled},
		{"rate limited", &ThrottledError{err: ErrRateLimited}, failThrottled},
		// Both of errURLAndHeader's sentinels would say no credential;
		// the request as a whole is invalid_request.
		{"URL and header", errURLAndHeader, failInvalidRequest},
		{"no meaning", errors.New("boom"), failInvalidToken},
		{"an Is method alone is no meaning", isUnavailable{}, failInvalidToken},
		{"nil", nil, failInvalidToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf(tt.err); got != tt.want {
				t.Errorf("kindOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(errURLAndHeader, ErrCredentialInURL) || !errors.Is(errURLAndHeader, ErrMultipleAuthorization) {
		t.Error("errURLAndHeader must match ErrCredentialInURL and ErrMultipleAuthorization")
	}
	if got, want := errURLAndHeader.Error(), "auth: credential exposed in URL query: auth: more than one Authorization header"; got != want {
		t.Errorf("errURLAndHeader = %q, want %q", got, want)
	}
}

// TestConfinedErrors: a verifier's and a proof checker's errors keep
// the meanings their interfaces allow, unchanged and without allocating;
// anything else is wrapped with the refusal they default to, and still
// matches what it was.
func TestConfinedErrors(t *testing.T) {
	jwtExpired := reason.New(ErrExpired, "jwt: token expired")
	dpopReplay := reason.New(ErrInvalidProof, "dpop: proof replayed")
	nonce := reason.New(ErrUseNonce, "dpop: nonce missing or stale")
	tests := []struct {
		name        string
		confine     func(error) error
		in          error
		unchanged   bool
		wantKind    failKind
		wantMeaning error
	}{
		{"verifier: a package's reason", verifierError, jwtExpired, true, failInvalidToken, ErrExpired},
		{"verifier: a root sentinel with detail", verifierError, fmt.Errorf("store: %w", ErrUnavailable), true, failUnavailable, ErrUnavailable},
		{"verifier: key mismatch is invalid_token", verifierError, ErrProofKeyMismatch, true, failInvalidToken, ErrProofKeyMismatch},
		// A verifier saying "no credential" must not have the request
		// let through as anonymous by Config.Optional.
		{"verifier: the parser's meaning", verifierError, ErrNoCredential, false, failInvalidToken, ErrInvalidCredential},
		{"verifier: a proof's meaning", verifierError, dpopReplay, false, failInvalidToken, ErrInvalidCredential},
		{"verifier: throttled", verifierError, &ThrottledError{err: ErrThrottled}, false, failInvalidToken, ErrInvalidCredential},
		{"verifier: no meaning", verifierError, errors.New("boom"), false, failInvalidToken, ErrInvalidCredential},
		{"verifier: unavailable by an Is method", verifierError, isUnavailable{}, false, failUnavailable, ErrUnavailable},

		{"proof: a package's reason", proofCheckerError, dpopReplay, true, failInvalidProof, ErrInvalidProof},
		{"proof: nonce", proofCheckerError, nonce, true, failUseNonce, ErrUseNonce},
		{"proof: key mismatch", proofCheckerError, ErrProofKeyMismatch, true, failInvalidToken, ErrProofKeyMismatch},
		{"proof: unavailable", proofCheckerError, fmt.Errorf("replay store: %w", ErrUnavailable), true, failUnavailable, ErrUnavailable},
		{"proof: a credential's meaning", proofCheckerError, jwtExpired, false, failInvalidProof, ErrInvalidProof},
		{"proof: the parser's meaning", proofCheckerError, ErrNoCredential, false, failInvalidProof, ErrInvalidProof},
		{"proof: no meaning", proofCheckerError, errors.New("boom"), false, failInvalidProof, ErrInvalidProof},
		{"proof: unavailable by an Is method", proofCheckerError, isUnavailable{}, false, failUnavailable, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.confine(tt.in)
			if (got == tt.in) != tt.unchanged {
				t.Errorf("got %v from %v, want unchanged %v", got, tt.in, tt.unchanged)
			}
			if !errors.Is(got, tt.in) {
				t.Errorf("%v no longer matches %v", got, tt.in)
			}
			if m := meaning(got); m == nil || error(m) != tt.wantMeaning {
				t.Errorf("meaning(%v) = %v, want %v", got, m, tt.wantMeaning)
			}
			if k := kindOf(got); k != tt.wantKind {
				t.Errorf("kindOf(%v) = %d, want %d", got, k, tt.wantKind)
			}
			if tt.unchanged {
				if n := testing.AllocsPerRun(100, func() { _ = tt.confine(tt.in) }); n != 0 {
					t.Errorf("%v allocations, want none for an error passed unchanged", n)
				}
			}
		})
	}
}

// TestVerifierCannotDowngrade: with Config.Optional, a verifier whose
// error means "no credential" does not get the request through as
// anonymous: the credential was presented, and it is refused.
func TestVerifierCannotDowngrade(t *testing.T) {
	var reason error
	v := VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrNoCredential })
	a, err := New(Config{Verifiers: []Verifier{v}, Optional: true, OnFailure: func(e Event) { reason = e.Err }})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer k_any")
	if got := serve(h, r); got != invTok401 {
		t.Errorf("got %+v, want %+v", got, invTok401)
	}
	if !errors.Is(reason, ErrInvalidCredential) || !errors.Is(reason, ErrNoCredential) {
		t.Errorf("reason %v, want ErrInvalidCredential wrapping the verifier's error", reason)
	}
}
