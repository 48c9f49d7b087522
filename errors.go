package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors, the meanings every package of this module shares (see
// Errors in the package documentation). The [Authenticator] reports them,
// wrapped with %w, to [Config.OnFailure]; none is ever written to a
// response. Each declares the answer a request refused for it gets.
var (
	// ErrNoCredential: no Authorization header, or a scheme other than
	// Bearer and, with [Config.DPoP], DPoP.
	ErrNoCredential = newSentinel("auth: no credential", failNoCredential)
	// ErrUnsupportedScheme is answered like ErrNoCredential (RFC 6750 §3.1).
	ErrUnsupportedScheme     = newSentinel("auth: unsupported authorization scheme", failNoCredential)
	ErrMultipleAuthorization = newSentinel("auth: more than one Authorization header", failInvalidRequest)
	// ErrCredentialInURL: an access_token query parameter, never used.
	// Alone it is answered like ErrNoCredential; with a header credential,
	// 400 invalid_request (RFC 6750 §2: one method only), and the reason
	// matches ErrMultipleAuthorization too.
	ErrCredentialInURL = newSentinel("auth: credential exposed in URL query", failNoCredential)
	// ErrMalformedCredential: empty, or not an RFC 6750 b64token.
	ErrMalformedCredential = newSentinel("auth: malformed bearer credential", failInvalidToken)
	ErrCredentialTooLong   = newSentinel("auth: credential too long", failInvalidToken)
	// ErrUnknownShape: no Verifier claims the credential; none was called.
	ErrUnknownShape      = newSentinel("auth: credential of unknown shape", failInvalidToken)
	ErrInvalidCredential = newSentinel("auth: invalid credential", failInvalidToken)
	ErrUnknownCredential = newSentinel("auth: unknown credential", failInvalidToken)
	ErrExpired           = newSentinel("auth: credential expired", failInvalidToken)
	ErrRevoked           = newSentinel("auth: credential revoked", failInvalidToken)
	// ErrUnavailable: a verifier could not reach its store or keys; 503,
	// neither allowed nor declared invalid.
	ErrUnavailable       = newSentinel("auth: verification temporarily unavailable", failUnavailable)
	ErrInsufficientScope = newSentinel("auth: insufficient scope", failInsufficientScope)
	// ErrNoPrincipal: a route check on a request with no principal; 401.
	ErrNoPrincipal = newSentinel("auth: no authenticated principal", failNoCredential)
	// ErrNoAccount: see [RequireAccount]; 403 insufficient_scope.
	ErrNoAccount     = newSentinel("auth: principal acts for no account", failInsufficientScope)
	ErrHTTPSRequired = newSentinel("auth: HTTPS required", failHTTPSRequired)
	// ErrThrottled and ErrRateLimited come in a [*ThrottledError]; 429
	// with Retry-After (and RateLimit headers for ErrRateLimited).
	ErrThrottled   = newSentinel("auth: too many failed attempts", failThrottled)
	ErrRateLimited = newSentinel("auth: rate limit exceeded", failThrottled)

	// The next four are not reasons to refuse a request. Should one come
	// in a verifier's error all the same, it is answered invalid_token,
	// as any failure with no meaning of its own.

	// ErrInvalidScope: not RFC 6749 §3.3 scope syntax, or over the limits.
	ErrInvalidScope = newSentinel("auth: invalid scope", failInvalidToken)
	// ErrUnknownScope: a scope not in the [ScopeCatalog]; packages that
	// issue credentials wrap it (see [ScopeCatalog.Check]).
	ErrUnknownScope = newSentinel("auth: unknown scope", failInvalidToken)
	ErrNoClaims     = newSentinel("auth: principal has no claims", failInvalidToken)
	// ErrInvalidConfig is matched by the error of every constructor of
	// this module given an unusable configuration, and by the panic of
	// [RequireHTTPS], caught when the handler chain is built.
	ErrInvalidConfig = newSentinel("auth: invalid config", failInvalidToken)

	// ErrInvalidProof: the DPoP proof (RFC 9449 §4.3) is missing,
	// repeated, too large, malformed, signed wrongly, made for another
	// request or token, out of its time window, or replayed; 401
	// invalid_dpop_proof.
	ErrInvalidProof = newSentinel("auth: invalid DPoP proof", failInvalidProof)
	// ErrUseNonce: the proof lacks the server's current nonce (RFC 9449
	// §9); 401 use_dpop_nonce with a fresh DPoP-Nonce. Not counted as a
	// failed attempt.
	ErrUseNonce = newSentinel("auth: DPoP nonce required", failUseNonce)
	// ErrProofKeyMismatch: a valid proof by another key than the token's
	// "cnf" "jkt"; invalid_token, as RFC 9449 §7.1 shows.
	ErrProofKeyMismatch = newSentinel("auth: DPoP proof key is not the token's key", failInvalidToken)
	// ErrBoundTokenAsBearer: refused as RFC 9449 §7.2 says ("MUST"),
	// with or without [Config.DPoP]: a copy is useless without the key.
	ErrBoundTokenAsBearer = newSentinel("auth: DPoP-bound token presented as Bearer", failInvalidToken)
	// ErrTokenNotBound: a token without "cnf" "jkt" under the DPoP
	// scheme: a proof cannot make a bearer token sender-constrained.
	ErrTokenNotBound = newSentinel("auth: DPoP scheme with a token that is not DPoP-bound", failInvalidToken)
	// ErrProofWithBearer: a DPoP header beside a Bearer credential; 400
	// invalid_request before any verifier runs.
	ErrProofWithBearer = newSentinel("auth: DPoP proof sent with a Bearer credential", failInvalidRequest)
	// ErrNotSenderConstrained: see [RequireDPoP]; 401 with only the DPoP
	// challenge.
	ErrNotSenderConstrained = newSentinel("auth: route requires a DPoP-bound access token", failDPoPRequired)
)

// failKind is the closed set of answers a failed request can get. Each has
// constant text; nothing from the request or from the error ever reaches
// the response.
type failKind uint8

const (
	// The zero failKind is invalid_token: a sentinel that forgot its
	// answer refuses, never lets through (failNoCredential does, with
	// Config.Optional).
	failInvalidToken failKind = iota
	failNoCredential
	failInvalidRequest
	failInsufficientScope
	failHTTPSRequired
	failUnavailable
	failThrottled
	failInvalidProof // 401 invalid_dpop_proof
	failUseNonce     // 401 use_dpop_nonce with DPoP-Nonce
	failDPoPRequired // 401 invalid_token with only the DPoP challenge
)

// sentinel is the type of this package's sentinels: a constant message,
// and the answer a request refused for that meaning gets, declared with
// it so no table elsewhere can forget a sentinel. Only this package
// makes them, so no other error can pose as one. also lists sentinels
// it matches too (errURLAndHeader's); nil for the exported ones, which
// are leaves as errors.New's are.
type sentinel struct {
	msg  string
	kind failKind
	also []error
}

func newSentinel(msg string, kind failKind) error { return &sentinel{msg: msg, kind: kind} }

func (e *sentinel) Error() string   { return e.msg }
func (e *sentinel) Unwrap() []error { return e.also }

// errURLAndHeader is the reason for a request that carried a credential
// both in its URL and in its Authorization header: invalid_request, and
// it matches ErrCredentialInURL (the exposure the operator must act on)
// and ErrMultipleAuthorization.
var errURLAndHeader error = &sentinel{
	msg:  ErrCredentialInURL.Error() + ": " + ErrMultipleAuthorization.Error(),
	kind: failInvalidRequest,
	also: []error{ErrCredentialInURL, ErrMultipleAuthorization},
}

// meaning returns the first of this package's sentinels in err's tree,
// in the order errors.Is visits it (the error, then what it wraps, the
// first of several first), or nil when there is none. A package's
// sentinel (a reason.Error) is one step from its meaning.
func meaning(err error) *sentinel {
	for {
		switch e := err.(type) {
		case *sentinel:
			return e
		case *reason.Error:
			err = e.Unwrap()
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, w := range e.Unwrap() {
				if s := meaning(w); s != nil {
					return s
				}
			}
			return nil
		default:
			return nil
		}
	}
}

// kindOf maps an error to the answer its meaning declares. An error with
// no meaning is answered invalid_token: nothing unrecognised lets a
// request through. The Authenticator has already confined what verifiers
// and proof checkers may mean (verifierError, proofCheckerError), so
// every error that reaches here is one of its own or one of theirs that
// it accepts.
func kindOf(err error) failKind {
	if s := meaning(err); s != nil {
		return s.kind
	}
	return failInvalidToken
}

// verifierError confines a Verifier's error to what a verifier may mean:
// invalid_token or unavailable. Any other meaning, or none, is wrapped
// with ErrInvalidCredential (ErrUnavailable if it matches that by an Is
// method of its own), so a verifier can neither answer as the parser nor
// have a credential taken for no credential. The errors of this module's
// verifiers pass unchanged, with no allocation.
func verifierError(err error) error {
	if s := meaning(err); s != nil && (s.kind == failInvalidToken || s.kind == failUnavailable) {
		return err
	}
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidCredential, err)
}

// body is a constant response body with its Content-Length value built
// once.
type body struct {
	b  []byte
	cl []string
}

func newBody(s string) body { return body{b: []byte(s), cl: one(strconv.Itoa(len(s)))} }

var (
	bodyNoCredential      = newBody(`{"error":"unauthorized","message":"Authentication failed"}`)
	bodyInvalidRequest    = newBody(`{"error":"invalid_request","message":"Authentication failed"}`)
	bodyInvalidToken      = newBody(`{"error":"invalid_token","message":"Authentication failed"}`)
	bodyInsufficientScope = newBody(`{"error":"insufficient_scope","message":"Insufficient scope"}`)
	bodyHTTPSRequired     = newBody(`{"error":"https_required","message":"HTTPS is required"}`)
	bodyThrottled         = newBody(`{"error":"too_many_requests","message":"Too many requests"}`)
	bodyUnavailable       = newBody(`{"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}`)
	bodyInvalidProof      = newBody(`{"error":"invalid_dpop_proof","message":"Authentication failed"}`)
	bodyUseNonce          = newBody(`{"error":"use_dpop_nonce","message":"Authentication failed"}`)
)

// DefaultRealm is the realm named in WWW-Authenticate when Config.Realm is
// empty.
const DefaultRealm = "api"

// DefaultRetryAfter is the Retry-After of a 503 when Config.RetryAfter is
// zero.
const DefaultRetryAfter = 5 * time.Second

// responder is the one writer of failure responses. Its header values are
// built once from configuration and shared, read-only, by every response.
//
// With DPoP (RFC 9449 §7.1) every 401 and 400 carries two challenges, the
// Bearer one first and then the DPoP one with the proof algorithms, since
// both schemes are accepted; the DPoP-only answers of RequireDPoP carry
// the DPoP one alone.
type responder struct {
	noCredential   []string
	invalidRequest []string
	invalidToken   []string
	invalidProof   []string
	useNonce       []string
	dpopRequired   []string
	realmPrefix    string // `Bearer realm="…"`, for insufficient_scope
	dpopPrefix     string // `DPoP realm="…"`; empty without DPoP
	algsParam      string // `, algs="…"`; empty without DPoP
	retryAfter     []string
	nonce          func() string // the DPoP-Nonce of use_dpop_nonce; nil without nonces
	onFailure      func(Event)
	onSuccess      func(Event)
}

func newResponder(realm string, retryAfter time.Duration, onSuccess, onFailure func(Event)) *responder {
	if retryAfter <= 0 {
		retryAfter = DefaultRetryAfter
	}
	prefix := `Bearer realm="` + realm + `"`
	return &responder{
		noCredential:   one(prefix),
		invalidRequest: one(prefix + `, error="invalid_request"`),
		invalidToken:   one(prefix + `, error="invalid_token"`),
		// Without DPoP no request can fail these ways but through
		// RequireDPoP, which answers with a DPoP challenge anyway.
		invalidProof: one(`DPoP realm="` + realm + `", error="invalid_dpop_proof"`),
		useNonce:     one(`DPoP realm="` + realm + `", error="use_dpop_nonce"`),
		dpopRequired: one(`DPoP realm="` + realm + `", error="invalid_token"`),
		realmPrefix:  prefix,
		retryAfter:   one(seconds(retryAfter)),
		onFailure:    onFailure,
		onSuccess:    onSuccess,
	}
}

// withDPoP adds the DPoP challenges, with algs listing the proof
// algorithms, to every answer of rs.
func (rs *responder) withDPoP(realm string, algs []string, nonce func() string) {
	bearer := rs.realmPrefix
	dpop := `DPoP realm="` + realm + `"`
	algsParam := `, algs="` + strings.Join(algs, " ") + `"`
	two := func(b, d string) []string { return []string{b, d}[:2:2] }
	rs.noCredential = two(bearer, dpop+algsParam)
	rs.invalidRequest = two(bearer+`, error="invalid_request"`, dpop+`, error="invalid_request"`+algsParam)
	rs.invalidToken = two(bearer+`, error="invalid_token"`, dpop+`, error="invalid_token"`+algsParam)
	rs.invalidProof = two(bearer, dpop+`, error="invalid_dpop_proof"`+algsParam)
	rs.useNonce = two(bearer, dpop+`, error="use_dpop_nonce"`+algsParam)
	rs.dpopRequired = one(dpop + `, error="invalid_token"` + algsParam)
	rs.dpopPrefix, rs.algsParam = dpop, algsParam
	rs.nonce = nonce
}

// seconds formats d as whole seconds, rounded up, for Retry-After.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// one returns a header value slice with no spare capacity, so a handler
// that appends to it copies instead of writing into the shared array.
func one(v string) []string { return []string{v}[:1:1] }

var (
	hdrJSON    = one("application/json")
	hdrNoStore = one("no-store")
	hdrNosniff = one("nosniff")
	hdrClose   = one("close")
)

// fail writes the response for kind and reports err to the failure hook.
func (rs *responder) fail(w http.ResponseWriter, r *http.Request, kind failKind, err error, ev *Event) {
	h := w.Header()
	var status int
	var b body
	switch kind {
	case failNoCredential:
		status, b = http.StatusUnauthorized, bodyNoCredential
		h["Www-Authenticate"] = rs.noCredential
	case failInvalidRequest:
		status, b = http.StatusBadRequest, bodyInvalidRequest
		h["Www-Authenticate"] = rs.invalidRequest
	case failInvalidToken:
		status, b = http.StatusUnauthorized, bodyInvalidToken
		h["Www-Authenticate"] = rs.invalidToken
	case failUnavailable:
		status, b = http.StatusServiceUnavailable, bodyUnavailable
		h["Retry-After"] = rs.retryAfter
	case failThrottled:
		status, b = http.StatusTooManyRequests, bodyThrottled
		retry := time.Second
		var te *ThrottledError
		if errors.As(err, &te) && te.RetryAfter > retry {
			retry = te.RetryAfter
		}
		h["Retry-After"] = []string{seconds(retry)}
	case failHTTPSRequired:
		status, b = http.StatusForbidden, bodyHTTPSRequired
		// Plain HTTP may have carried a credential in clear: do not keep
		// the connection for more.
		h["Connection"] = hdrClose
	case failInvalidProof:
		status, b = http.StatusUnauthorized, bodyInvalidProof
		h["Www-Authenticate"] = rs.invalidProof
	case failUseNonce:
		status, b = http.StatusUnauthorized, bodyUseNonce
		h["Www-Authenticate"] = rs.useNonce
		if rs.nonce != nil {
			if n := rs.nonce(); n != "" {
				h["Dpop-Nonce"] = []string{n}
			}
		}
	case failDPoPRequired:
		status, b = http.StatusUnauthorized, bodyInvalidToken
		h["Www-Authenticate"] = rs.dpopRequired
	default:
		status, b = http.StatusUnauthorized, bodyInvalidToken
		h["Www-Authenticate"] = rs.invalidToken
	}
	writeBody(w, status, b)
	rs.report(r, err, ev)
}

func (rs *responder) insufficientScope(w http.ResponseWriter, r *http.Request, p *Principal, scopeParam string) {
	h := w.Header()
	if rs.dpopPrefix != "" {
		h["Www-Authenticate"] = []string{rs.realmPrefix + scopeParam, rs.dpopPrefix + scopeParam + rs.algsParam}
	} else {
		h["Www-Authenticate"] = []string{rs.realmPrefix + scopeParam}
	}
	writeBody(w, http.StatusForbidden, bodyInsufficientScope)
	rs.report(r, ErrInsufficientScope, &Event{Request: r, Principal: p})
}

func (rs *responder) report(r *http.Request, err error, ev *Event) {
	if rs.onFailure == nil {
		return
	}
	if ev == nil {
		ev = &Event{Request: r}
	}
	ev.Err = err
	rs.onFailure(*ev)
}

func writeBody(w http.ResponseWriter, status int, b body) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["X-Content-Type-Options"] = hdrNosniff
	h["Content-Length"] = b.cl
	w.WriteHeader(status)
	w.Write(b.b)
}
