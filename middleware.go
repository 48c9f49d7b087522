package auth

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config configures an [Authenticator]. The zero value of every field is
// the secure choice; only Verifiers must be set.
type Config struct {
	// Verifiers check credentials: each goes to the first verifier whose
	// [ShapeMatcher] claims it (none: invalid_token). A verifier without
	// ShapeMatcher claims everything and must be last. Required.
	Verifiers []Verifier

	// Realm is the realm named in WWW-Authenticate. If empty,
	// [DefaultRealm]. It must be printable ASCII without quotes or
	// backslashes.
	Realm string

	// MaxCredentialLength caps the credential, in bytes, checked before
	// anything else. If zero, [DefaultMaxCredentialLength].
	MaxCredentialLength int

	// Optional lets a request with no credential through without a
	// principal, for routes that serve anonymous and authenticated callers
	// differently. A request that presents a credential must still present
	// a valid one: an invalid credential is refused, never downgraded to
	// anonymous. If false, a missing credential gets 401.
	Optional bool

	// AllowPreflight lets CORS preflight requests (OPTIONS with Origin and
	// Access-Control-Request-Method) through unauthenticated, since
	// browsers send them without credentials. Every other OPTIONS request
	// is authenticated. Set it only when a CORS handler answers the
	// preflight before your own handlers see it.
	AllowPreflight bool

	// RetryAfter is the delay advertised with a 503 when a verifier is
	// unavailable. If zero, [DefaultRetryAfter]. Rounded up to seconds.
	RetryAfter time.Duration

	// OnSuccess, if set, is called after each successful authentication,
	// before the next handler runs.
	OnSuccess func(Event)

	// Throttle, if set, limits failed attempts and request rates (see
	// [Throttle]); throttled requests get 429 before any verifier runs.
	Throttle *Throttle

	// OnFailure, if set, is called for each refused request with the
	// reason, a sentinel error wrapped with %w. It is also called, without
	// refusing the request, when [Config.Optional] lets through a request
	// that exposed a credential in its URL. See [LogFailures] for a ready
	// slog hook.
	OnFailure func(Event)

	// DPoP, if set, accepts sender-constrained access tokens (RFC 9449),
	// "Authorization: DPoP <token>" with one DPoP header holding a proof
	// this checker verifies (package dpop's Checker). Bearer credentials
	// keep working beside it, and every challenge names both schemes. If
	// nil, the DPoP scheme is answered as any other scheme; a DPoP-bound
	// token presented as Bearer is refused either way.
	DPoP ProofChecker
}

// Authenticator authenticates requests by their Bearer credential, or
// DPoP-bound token and proof (see [Config.DPoP]). Create one with [New];
// it is safe for concurrent use.
type Authenticator struct {
	verifiers []shaped
	maxLen    int
	optional  bool
	preflight bool
	throttle  *Throttle
	dpop      ProofChecker
	resp      *responder
}

type shaped struct {
	v     Verifier
	match ShapeMatcher // nil: claims every credential
}

// New returns an Authenticator for cfg. It fails with an error wrapping
// [ErrInvalidConfig] when no verifier is given, a catch-all verifier is not
// last, the realm cannot be put in a header, a limit is negative, or the
// DPoP checker names no algorithm that fits in a challenge.
func New(cfg Config) (*Authenticator, error) {
	if len(cfg.Verifiers) == 0 {
		return nil, fmt.Errorf("%w: at least one Verifier is required", ErrInvalidConfig)
	}
	a := &Authenticator{
		maxLen:    cfg.MaxCredentialLength,
		optional:  cfg.Optional,
		preflight: cfg.AllowPreflight,
		throttle:  cfg.Throttle,
		dpop:      cfg.DPoP,
	}
	for i, v := range cfg.Verifiers {
		if v == nil {
			return nil, fmt.Errorf("%w: Verifiers[%d] is nil", ErrInvalidConfig, i)
		}
		m, _ := v.(ShapeMatcher)
		if m == nil && i != len(cfg.Verifiers)-1 {
			return nil, fmt.Errorf("%w: Verifiers[%d] claims every credential (no MatchShape), so it must be last", ErrInvalidConfig, i)
		}
		a.verifiers = append(a.verifiers, shaped{v: v, match: m})
	}
	switch {
	case a.maxLen < 0:
		return nil, fmt.Errorf("%w: negative MaxCredentialLength", ErrInvalidConfig)
	case a.maxLen == 0:
		a.maxLen = DefaultMaxCredentialLength
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: negative RetryAfter", ErrInvalidConfig)
	}
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if !validRealm(realm) {
		return nil, fmt.Errorf("%w: Realm must be printable ASCII without quotes or backslashes", ErrInvalidConfig)
	}
	a.resp = newResponder(realm, cfg.RetryAfter, cfg.OnSuccess, cfg.OnFailure)
	if a.dpop != nil {
		algs := a.dpop.Algorithms()
		if err := checkAlgorithms(algs); err != nil {
			return nil, err
		}
		a.resp.withDPoP(realm, algs, a.dpop.Nonce)
	}
	return a, nil
}

func validRealm(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Ready reports whether every verifier that implements [Readier] is
// ready, for health checks: a server whose token verifier has no keys yet
// answers 503 to every token and should not take traffic.
func (a *Authenticator) Ready() bool {
	for i := range a.verifiers {
		if r, ok := a.verifiers[i].v.(Readier); ok && !r.Ready() {
			return false
		}
	}
	return true
}

// Authenticate verifies the credential of r and returns its principal. It
// is the core of [Authenticator.Handler], for callers that need the
// decision without the response (a WebSocket upgrade, a gRPC gateway).
//
// On failure the principal is nil and the error wraps one of this
// package's sentinels, which says the answer (see Errors in the package
// documentation). Authenticate ignores Optional and AllowPreflight, which
// are about what Handler does with the answer. With the DPoP scheme the
// token is verified first, then the proof against its
// [Principal.KeyThumbprint]; the principal returned is then a copy with
// [Principal.SenderConstrained] set.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	p, _, err := a.authenticate(r)
	return p, err
}

// authenticate returns the principal or the failure's kind, the reason and
// the credential (for the hook's fingerprint).
func (a *Authenticator) authenticate(r *http.Request) (*Principal, string, error) {
	c, err := a.credential(r)
	if t := a.throttle; t != nil {
		return a.verifyThrottled(r, t, c, err)
	}
	if err != nil {
		return nil, c.cred, err
	}
	return a.verify(r, c)
}

// presented is what a request presented: the credential, the verifier
// that claims it and, with the DPoP scheme, the proof.
type presented struct {
	cred  string
	s     *shaped
	proof string
	dpop  bool
}

// credential extracts the request's credential and the verifier that
// claims it. Headers are read directly, never with Header.Get, which would
// silently pick the first of several values.
func (a *Authenticator) credential(r *http.Request) (presented, error) {
	cred, scheme, err := parseAuthorization(r.Header["Authorization"], a.maxLen, a.dpop != nil)
	if r.URL != nil && r.URL.RawQuery != "" && queryHasAccessToken(r.URL.RawQuery) {
		if err == nil {
			// RFC 6750 §2: a client must not use more than one method.
			return presented{cred: cred}, errURLAndHeader
		}
		if err == ErrNoCredential || err == ErrUnsupportedScheme {
			return presented{}, ErrCredentialInURL
		}
	}
	if err != nil {
		return presented{}, err
	}
	c := presented{cred: cred, dpop: scheme == schemeDPoP}
	if a.dpop != nil {
		proofs := r.Header["Dpop"]
		switch {
		case !c.dpop && len(proofs) > 0:
			// A proof beside a Bearer credential: the client mixes
			// methods, and no proof may dress up a bearer token.
			return c, ErrProofWithBearer
		case !c.dpop:
		case len(proofs) != 1:
			// RFC 9449 §4.3, check 1: exactly one DPoP header.
			return c, errProofCount
		case len(proofs[0]) > MaxProofLength:
			// Bounded before anything parses it.
			return c, errProofTooLong
		default:
			c.proof = proofs[0]
		}
	}
	if c.s = a.verifierFor(cred); c.s == nil {
		return c, ErrUnknownShape
	}
	return c, nil
}

// credentialID names the credential cred claims to be, for failure
// events, when its verifier can tell without verifying.
func (a *Authenticator) credentialID(cred string) string {
	if cred == "" {
		return ""
	}
	if s := a.verifierFor(cred); s != nil {
		if ider, ok := s.v.(CredentialIDer); ok {
			id, _ := ider.CredentialID(cred)
			return id
		}
	}
	return ""
}

func (a *Authenticator) verifierFor(cred string) *shaped {
	for i := range a.verifiers {
		s := &a.verifiers[i]
		if s.match == nil || s.match.MatchShape(cred) {
			return s
		}
	}
	return nil
}

func (a *Authenticator) verify(r *http.Request, c presented) (*Principal, string, error) {
	p, err := c.s.v.Verify(r.Context(), c.cred)
	if err != nil {
		return nil, c.cred, verifierError(err)
	}
	if p == nil {
		// Fail closed on a verifier that breaks its contract.
		return nil, c.cred, fmt.Errorf("%w: verifier returned no principal", ErrInvalidCredential)
	}
	if p.SenderConstrained {
		// Only the proof check below may say so.
		return nil, c.cred, fmt.Errorf("%w: verifier returned a sender-constrained principal", ErrInvalidCredential)
	}
	if !c.dpop {
		if p.KeyThumbprint != "" {
			// RFC 9449 §7.2: no downgrade of a bound token to Bearer.
			return nil, c.cred, ErrBoundTokenAsBearer
		}
		return p, c.cred, nil
	}
	if p.KeyThumbprint == "" {
		return nil, c.cred, ErrTokenNotBound
	}
	if err := a.dpop.CheckProof(r, c.proof, c.cred, p.KeyThumbprint); err != nil {
		return nil, c.cred, proofCheckerError(err)
	}
	// The verifier's principal may be cached and shared: the request's
	// own copy records the proof.
	q := *p
	q.SenderConstrained = true
	return &q, c.cred, nil
}

// verifyThrottled reserves an attempt with the Throttle before any
// verifier runs, refusing callers that failed too often, and records the
// attempt's outcome.
func (a *Authenticator) verifyThrottled(r *http.Request, t *Throttle, c presented, err error) (*Principal, string, error) {
	ctx := r.Context()
	var id string
	if c.s != nil && t.perCred {
		if ider, ok := c.s.v.(CredentialIDer); ok {
			id, _ = ider.CredentialID(c.cred)
		}
	}
	at, terr := t.attempts.Reserve(ctx, ClientNetwork(r, t.proxies), id)
	if terr != nil {
		if _, ok := terr.(*ThrottledError); !ok {
			// The request's context ended while it waited its turn.
			terr = fmt.Errorf("%w: %w", ErrUnavailable, terr)
		}
		return nil, c.cred, terr
	}
	var p *Principal
	cred := c.cred
	if err == nil {
		p, cred, err = a.verify(r, c)
	}
	if err != nil && countsAsFailure(err) {
		at.Fail(ctx)
	} else {
		at.Release()
	}
	return p, cred, err
}

// countsAsFailure reports whether err is an attempt that failed, as
// opposed to no attempt (no credential), our own outage, or the DPoP
// nonce round trip every client makes once (RFC 9449 §9).
func countsAsFailure(err error) bool {
	switch kindOf(err) {
	case failNoCredential, failUnavailable, failUseNonce:
		return false
	}
	return true
}

// Handler returns middleware that authenticates each request before
// calling next. On success the principal is in the request context (see
// [FromContext]); on failure next is not called and the client gets the
// generic answer for the failure's kind, while the reason goes to
// [Config.OnFailure].
//
// Handler panics if next is nil. The method value a.Handler has the
// func(http.Handler) http.Handler shape routers' Use methods take.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("auth: Authenticator.Handler: nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.preflight && isPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		var start time.Time
		hooked := a.resp.onSuccess != nil || a.resp.onFailure != nil
		if hooked {
			start = time.Now()
		}
		p, cred, err := a.authenticate(r)
		if err != nil {
			kind := kindOf(err)
			if a.optional && kind == failNoCredential {
				if err == ErrCredentialInURL {
					a.resp.report(r, err, &Event{Request: r, Elapsed: since(hooked, start)})
				}
				next.ServeHTTP(w, r.WithContext(&authContext{Context: r.Context(), resp: a.resp}))
				return
			}
			ev := Event{Request: r, Elapsed: since(hooked, start), credential: cred}
			if a.resp.onFailure != nil {
				// Only a hook reads it; naming the ID re-parses the
				// credential, which the refusal path need not pay for.
				ev.CredentialID = a.credentialID(cred)
			}
			a.resp.fail(w, r, kind, err, &ev)
			return
		}
		if t := a.throttle; t != nil && t.rateLimit > 0 {
			remaining, reset, err := t.rate(r.Context(), p)
			h := w.Header()
			h["Ratelimit-Limit"] = t.rateLimitHdr
			h["Ratelimit-Remaining"] = []string{strconv.Itoa(remaining)}
			h["Ratelimit-Reset"] = []string{seconds(reset)}
			if err != nil {
				a.resp.fail(w, r, failThrottled, err, &Event{Request: r, Principal: p, Elapsed: since(hooked, start), credential: cred})
				return
			}
		}
		if p.SenderConstrained {
			// RFC 9449 §8.2: the nonce to use next, on success too.
			if n := a.dpop.Nonce(); n != "" {
				w.Header()["Dpop-Nonce"] = []string{n}
			}
		}
		if a.resp.onSuccess != nil {
			a.resp.onSuccess(Event{Request: r, Principal: p, Elapsed: since(hooked, start), credential: cred})
		}
		next.ServeHTTP(w, r.WithContext(&authContext{Context: r.Context(), p: p, resp: a.resp}))
	})
}

func since(hooked bool, start time.Time) time.Duration {
	if !hooked {
		return 0
	}
	return time.Since(start)
}

// isPreflight reports whether r is a CORS preflight request (Fetch
// standard: OPTIONS with Origin and Access-Control-Request-Method).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions &&
		len(r.Header["Origin"]) > 0 &&
		strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")) != ""
}
