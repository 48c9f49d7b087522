package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// boundVerifier claims credentials starting with "t_": "t_bound" is a
// DPoP-bound token (thumbprint "jkt-1"), "t_bearer" a bearer token,
// "t_liar" a verifier breaking its contract.
type boundVerifier struct{ calls atomic.Int64 }

func (v *boundVerifier) MatchShape(cred string) bool { return strings.HasPrefix(cred, "t_") }

func (v *boundVerifier) Verify(_ context.Context, cred string) (*Principal, error) {
	v.calls.Add(1)
	switch cred {
	case "t_bound":
		return &Principal{Subject: "u", ClientID: "c", Method: MethodAuthorizationCode, Scopes: MustScopes("read"), KeyThumbprint: "jkt-1"}, nil
	case "t_bearer":
		return &Principal{Subject: "u", ClientID: "c", Method: MethodAuthorizationCode, Scopes: MustScopes("read")}, nil
	case "t_liar":
		return &Principal{Subject: "u", Method: MethodAuthorizationCode, SenderConstrained: true}, nil
	}
	return nil, fmt.Errorf("stub: %w", ErrUnknownCredential)
}

// stubProofs answers by the proof's value: "p_good" passes for jkt-1,
// the others fail as their names say.
type stubProofs struct {
	nonce string
	calls atomic.Int64
}

var (
	errStubBad   = fmt.Errorf("stub: %w", ErrInvalidProof)
	errStubNonce = fmt.Errorf("stub: %w", ErrUseNonce)
	errStubOther = fmt.Errorf("stub: %w", ErrProofKeyMismatch)
	errStubDown  = fmt.Errorf("stub: %w", ErrUnavailable)
)

func (s *stubProofs) CheckProof(r *http.Request, proof, token, jkt string) error {
	s.calls.Add(1)
	switch proof {
	case "p_good":
		if jkt != "jkt-1" || token != "t_bound" {
			return errStubOther
		}
		return nil
	case "p_nonce":
		return errStubNonce
	case "p_other":
		return errStubOther
	case "p_down":
		return errStubDown
	case "p_weird":
		return errors.New("internal detail")
	}
	return errStubBad
}

func (s *stubProofs) Algorithms() []string { return []string{"ES256", "EdDSA"} }
func (s *stubProofs) Nonce() string        { return s.nonce }

const (
	dpopNoCred    = `DPoP realm="api", algs="ES256 EdDSA"`
	dpopInvTok    = `DPoP realm="api", error="invalid_token", algs="ES256 EdDSA"`
	dpopInvReq    = `DPoP realm="api", error="invalid_request", algs="ES256 EdDSA"`
	dpopInvProof  = `DPoP realm="api", error="invalid_dpop_proof", algs="ES256 EdDSA"`
	dpopUseNonce  = `DPoP realm="api", error="use_dpop_nonce", algs="ES256 EdDSA"`
	wantInvProof  = `{"error":"invalid_dpop_proof","message":"Authentication failed"}`
	wantUseNonce  = `{"error":"use_dpop_nonce","message":"Authentication failed"}`
	dpopWriteOnly = `DPoP realm="api", error="insufficient_scope", scope="write", algs="ES256 EdDSA"`
)

type dpopResult struct {
	Status      int
	WWWAuth     []string
	Nonce       string
	Body        string
	Constrained bool // the handler saw a sender-constrained principal
}

func TestDPoPRequests(t *testing.T) {
	withNonce := func() (*Authenticator, *boundVerifier, *stubProofs, *[]error) {
		v, pc := &boundVerifier{}, &stubProofs{nonce: "n-1"}
		var reasons []error
		a, err := New(Config{Verifiers: []Verifier{&stubVerifier{}, v}, DPoP: pc, OnFailure: func(e Event) { reasons = append(reasons, e.Err) }})
		if err != nil {
			t.Fatal(err)
		}
		return a, v, pc, &reasons
	}
	bearerOnly := func() (*Authenticator, *boundVerifier, *stubProofs, *[]error) {
		v := &boundVerifier{}
		var reasons []error
		a, err := New(Config{Verifiers: []Verifier{&stubVerifier{}, v}, OnFailure: func(e Event) { reasons = append(reasons, e.Err) }})
		if err != nil {
			t.Fatal(err)
		}
		return a, v, &stubProofs{}, &reasons
	}
	both := func(b, d string) []string { return []string{b, d} }
	ok := dpopResult{Status: 200, Nonce: "n-1", Body: "ok", Constrained: true}
	invTok := dpopResult{Status: 401, WWWAuth: both(hdrInvTok, dpopInvTok), Body: wantInvTok}
	invProof := dpopResult{Status: 401, WWWAuth: both(hdrNoCred, dpopInvProof), Body: wantInvProof}

	tests := []struct {
		name        string
		bearerOnly  bool
		authz       []string
		proofs      []string
		want        dpopResult
		reason      error
		verifierRan bool
		checkerRan  bool
	}{
		{"DPoP-bound token with a good proof", false, []string{"DPoP t_bound"}, []string{"p_good"}, ok, nil, true, true},
		{"scheme in lower case", false, []string{"dpop t_bound"}, []string{"p_good"}, ok, nil, true, true},
		{"API key as Bearer", false, []string{"Bearer k_good"}, nil, dpopResult{Status: 200, Body: "ok"}, nil, false, false},
		{"bearer token as Bearer", false, []string{"Bearer t_bearer"}, nil, dpopResult{Status: 200, Body: "ok"}, nil, true, false},
		// Both schemes accepted: both challenges, Bearer first.
		{"no credential", false, nil, nil, dpopResult{Status: 401, WWWAuth: both(hdrNoCred, dpopNoCred), Body: wantNoCred}, ErrNoCredential, false, false},
		// RFC 9449 §7.2: a bound token as Bearer would be a downgrade.
		{"bound token as Bearer", false, []string{"Bearer t_bound"}, nil, invTok, ErrBoundTokenAsBearer, true, false},
		// A proof cannot make a bearer token sender-constrained.
		{"bearer token with the DPoP scheme", false, []string{"DPoP t_bearer"}, []string{"p_good"}, invTok, ErrTokenNotBound, true, false},
		// One request, one method: a proof beside Bearer is refused
		// before any verifier runs.
		{"Bearer with a DPoP header", false, []string{"Bearer t_bearer"}, []string{"p_good"}, dpopResult{Status: 400, WWWAuth: both(hdrInvReq, dpopInvReq), Body: wantInvReq}, ErrProofWithBearer, false, false},
		{"API key with a DPoP header", false, []string{"Bearer k_good"}, []string{"p_good"}, dpopResult{Status: 400, WWWAuth: both(hdrInvReq, dpopInvReq), Body: wantInvReq}, ErrProofWithBearer, false, false},
		// RFC 9449 §4.3, check 1: exactly one proof, counted before the
		// token is verified.
		{"no DPoP header", false, []string{"DPoP t_bound"}, nil, invProof, ErrInvalidProof, false, false},
		{"two DPoP headers", false, []string{"DPoP t_bound"}, []string{"p_good", "p_good"}, invProof, ErrInvalidProof, false, false},
		{"proof over the length limit", false, []string{"DPoP t_bound"}, []string{strings.Repeat("p", MaxProofLength+1)}, invProof, ErrInvalidProof, false, false},
		{"bad proof", false, []string{"DPoP t_bound"}, []string{"p_bad"}, invProof, errStubBad, true, true},
		// A checker's error it did not classify is still a refusal.
		{"checker error of no kind", false, []string{"DPoP t_bound"}, []string{"p_weird"}, invProof, nil, true, true},
		{"nonce needed", false, []string{"DPoP t_bound"}, []string{"p_nonce"}, dpopResult{Status: 401, WWWAuth: both(hdrNoCred, dpopUseNonce), Nonce: "n-1", Body: wantUseNonce}, errStubNonce, true, true},
		// RFC 9449 §7.1: a proof by another key is an invalid key
		// binding of the token.
		{"proof by another key", false, []string{"DPoP t_bound"}, []string{"p_other"}, invTok, errStubOther, true, true},
		{"replay store down", false, []string{"DPoP t_bound"}, []string{"p_down"}, dpopResult{Status: 503, Body: wantUnavail}, errStubDown, true, true},
		{"unknown token", false, []string{"DPoP t_unknown"}, []string{"p_good"}, invTok, ErrUnknownCredential, true, false},
		{"verifier says sender-constrained", false, []string{"Bearer t_liar"}, nil, invTok, ErrInvalidCredential, true, false},
		{"two Authorization headers", false, []string{"DPoP t_bound", "Bearer k_good"}, []string{"p_good"}, dpopResult{Status: 400, WWWAuth: both(hdrInvReq, dpopInvReq), Body: wantInvReq}, ErrMultipleAuthorization, false, false},

		// Without Config.DPoP: the scheme is unknown, and a bound token
		// is still never accepted as Bearer.
		{"no DPoP: DPoP scheme", true, []string{"DPoP t_bound"}, []string{"p_good"}, dpopResult{Status: 401, WWWAuth: []string{hdrNoCred}, Body: wantNoCred}, ErrUnsupportedScheme, false, false},
		{"no DPoP: bound token as Bearer", true, []string{"Bearer t_bound"}, nil, dpopResult{Status: 401, WWWAuth: []string{hdrInvTok}, Body: wantInvTok}, ErrBoundTokenAsBearer, true, false},
		{"no DPoP: Bearer with a DPoP header is ignored", true, []string{"Bearer t_bearer"}, []string{"p_good"}, dpopResult{Status: 200, Body: "ok"}, nil, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			setup := withNonce
			if tc.bearerOnly {
				setup = bearerOnly
			}
			a, v, pc, reasons := setup()
			var constrained bool
			h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, _ := FromContext(r.Context())
				constrained = p.SenderConstrained
				w.Write([]byte("ok"))
			}))
			r := httptest.NewRequest("GET", "https://api.example/v1/data", nil)
			if tc.authz != nil {
				r.Header["Authorization"] = tc.authz
			}
			if tc.proofs != nil {
				r.Header["Dpop"] = tc.proofs
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			got := dpopResult{Status: rec.Code, WWWAuth: rec.Header().Values("Www-Authenticate"), Nonce: rec.Header().Get("Dpop-Nonce"), Body: rec.Body.String(), Constrained: constrained}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if ran := v.calls.Load() > 0; ran != tc.verifierRan {
				t.Errorf("token verifier ran: %v, want %v", ran, tc.verifierRan)
			}
			if ran := pc.calls.Load() > 0; ran != tc.checkerRan {
				t.Errorf("proof checker ran: %v, want %v", ran, tc.checkerRan)
			}
			switch {
			case tc.want.Status == 200 && len(*reasons) != 0:
				t.Errorf("hook: got %v, want nothing", *reasons)
			case tc.want.Status != 200 && (len(*reasons) != 1 || tc.reason != nil && !errors.Is((*reasons)[0], tc.reason)):
				t.Errorf("hook: got %v, want %v", *reasons, tc.reason)
			}
		})
	}
}

// TestDPoPPrincipalIsACopy: the verifier's principal may be cached and
// shared, so the proof is recorded on the request's own copy.
func TestDPoPPrincipalIsACopy(t *testing.T) {
	shared := &Principal{Subject: "u", Method: MethodAuthorizationCode, KeyThumbprint: "jkt-1"}
	v := VerifierFunc(func(context.Context, string) (*Principal, error) { return shared, nil })
	a, err := New(Config{Verifiers: []Verifier{v}, DPoP: &stubProofs{}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://api.example/", nil)
	r.Header.Set("Authorization", "DPoP t_bound")
	r.Header.Set("DPoP", "p_good")
	p, err := a.Authenticate(r)
	if err != nil || p == shared || !p.SenderConstrained || shared.SenderConstrained {
		t.Fatalf("got %+v, %v; shared %+v", p, err, shared)
	}
	if p.KeyThumbprint != "jkt-1" || p.Subject != "u" {
		t.Errorf("copy lost fields: %+v", p)
	}
}

func TestRequireDPoP(t *testing.T) {
	a, err := New(Config{Verifiers: []Verifier{&stubVerifier{}, &boundVerifier{}}, DPoP: &stubProofs{}, Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(RequireDPoP(okHandler()))
	tests := []struct {
		name         string
		authz, proof string
		status       int
		www          []string
		body         string
	}{
		{"sender-constrained", "DPoP t_bound", "p_good", 200, nil, "ok"},
		// Authenticated, but not by a bound token: told to use DPoP.
		{"API key", "Bearer k_good", "", 401, []string{dpopInvTok}, wantInvTok},
		{"bearer token", "Bearer t_bearer", "", 401, []string{dpopInvTok}, wantInvTok},
		{"anonymous (Optional)", "", "", 401, []string{hdrNoCred, dpopNoCred}, wantNoCred},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://api.example/", nil)
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			if tc.proof != "" {
				r.Header.Set("DPoP", tc.proof)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status || !cmp.Equal(rec.Header().Values("Www-Authenticate"), tc.www) || rec.Body.String() != tc.body {
				t.Errorf("got %d %q %s, want %d %q %s", rec.Code, rec.Header().Values("Www-Authenticate"), rec.Body, tc.status, tc.www, tc.body)
			}
		})
	}
	// Without any Authenticator: the DPoP challenge, no algs known.
	rec := httptest.NewRecorder()
	RequireDPoP(okHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 || rec.Header().Get("Www-Authenticate") != hdrNoCred {
		t.Errorf("no Authenticator: got %d %q", rec.Code, rec.Header().Values("Www-Authenticate"))
	}
	mustPanic(t, "nil handler", func() { RequireDPoP(nil) })
}

// TestDPoPInsufficientScope: a scope refusal names the scope in both
// challenges.
func TestDPoPInsufficientScope(t *testing.T) {
	a, err := New(Config{Verifiers: []Verifier{&stubVerifier{}, &boundVerifier{}}, DPoP: &stubProofs{}})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(RequireScopes("write")(okHandler()))
	r := httptest.NewRequest("GET", "https://api.example/", nil)
	r.Header.Set("Authorization", "DPoP t_bound")
	r.Header.Set("DPoP", "p_good")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if want := []string{hdrWriteOnly, dpopWriteOnly}; rec.Code != 403 || !cmp.Equal(rec.Header().Values("Www-Authenticate"), want) {
		t.Errorf("got %d %q, want 403 %q", rec.Code, rec.Header().Values("Www-Authenticate"), want)
	}
}

// TestDPoPNonceIsNotAFailure: the use_dpop_nonce round trip every
// client makes is not counted against it by the Throttle.
func TestDPoPNonceIsNotAFailure(t *testing.T) {
	th, err := NewThrottle(ThrottleConfig{MaxFailures: 2})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Verifiers: []Verifier{&boundVerifier{}}, DPoP: &stubProofs{nonce: "n"}, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	do := func(proof string) int {
		r := httptest.NewRequest("GET", "https://api.example/", nil)
		r.Header.Set("Authorization", "DPoP t_bound")
		r.Header.Set("DPoP", proof)
		rec := httptest.NewRecorder()
		a.Handler(okHandler()).ServeHTTP(rec, r)
		return rec.Code
	}
	for range 5 {
		if got := do("p_nonce"); got != 401 {
			t.Fatalf("nonce round trip: got %d, want 401", got)
		}
	}
	if got := do("p_good"); got != 200 {
		t.Errorf("after 5 nonce round trips: got %d, want 200", got)
	}
	do("p_bad")
	do("p_bad")
	if got := do("p_good"); got != 429 {
		t.Errorf("after 2 bad proofs: got %d, want 429", got)
	}
}

func TestNewDPoPErrors(t *testing.T) {
	for _, algs := range [][]string{nil, {""}, {"ES 256"}, {`ES"256`}} {
		_, err := New(Config{Verifiers: []Verifier{&boundVerifier{}}, DPoP: algsChecker(algs)})
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("algs %q: got %v, want ErrInvalidConfig", algs, err)
		}
	}
}

type algsChecker []string

func (algsChecker) CheckProof(*http.Request, string, string, string) error { return nil }
func (a algsChecker) Algorithms() []string                                 { return a }
func (algsChecker) Nonce() string                                          { return "" }

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}
