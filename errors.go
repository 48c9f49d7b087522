package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. The [Authenticator] reports them, wrapped with %w, to
// [Config.OnFailure]; match them with [errors.Is]. None of them is ever
// written to a response: the caller sees only the generic answers listed in
// the package documentation.
//
// Verifiers wrap [ErrInvalidCredential], [ErrUnknownCredential],
// [ErrExpired], [ErrRevoked] or [ErrUnavailable] (or an error of their own
// that wraps one of these) so the Authenticator can choose the answer.
var (
	// ErrNoCredential: the request carried no credential the Authenticator
	// accepts (no Authorization header, or a scheme other than Bearer and,
	// with [Config.DPoP], DPoP).
	ErrNoCredential = errors.New("auth: no credential")
	// ErrUnsupportedScheme: the Authorization header uses a scheme other
	// than Bearer. Answered like ErrNoCredential (RFC 6750 §3.1).
	ErrUnsupportedScheme = errors.New("auth: unsupported authorization scheme")
	// ErrMultipleAuthorization: the request carried more than one
	// Authorization header. Answered 400 invalid_request.
	ErrMultipleAuthorization = errors.New("auth: more than one Authorization header")
	// ErrCredentialInURL: the request carried an access_token query
	// parameter. The credential is exposed in logs and history and is never
	// used. Alone it is answered like ErrNoCredential; with a header
	// credential, 400 invalid_request (RFC 6750 §2: one method only).
	ErrCredentialInURL = errors.New("auth: credential exposed in URL query")
	// ErrMalformedCredential: the Bearer credential is empty or not an RFC
	// 6750 b64token.
	ErrMalformedCredential = errors.New("auth: malformed bearer credential")
	// ErrCredentialTooLong: the credential exceeds Config.MaxCredentialLength.
	ErrCredentialTooLong = errors.New("auth: credential too long")
	// ErrUnknownShape: no configured Verifier claims a credential of this
	// shape; no verifier was called.
	ErrUnknownShape = errors.New("auth: credential of unknown shape")
	// ErrInvalidCredential: the credential failed verification.
	ErrInvalidCredential = errors.New("auth: invalid credential")
	// ErrUnknownCredential: the credential is well formed but not known.
	ErrUnknownCredential = errors.New("auth: unknown credential")
	// ErrExpired: the credential has expired.
	ErrExpired = errors.New("auth: credential expired")
	// ErrRevoked: the credential has been revoked.
	ErrRevoked = errors.New("auth: credential revoked")
	// ErrUnavailable: the verifier could not reach what it needs (a key
	// store, a JWKS endpoint). Answered 503 with Retry-After: the request is
	// neither allowed nor declared invalid.
	ErrUnavailable = errors.New("auth: verification temporarily unavailable")
	// ErrInsufficientScope: the principal lacks a scope the route requires.
	ErrInsufficientScope = errors.New("auth: insufficient scope")
	// ErrNoPrincipal: a scope check ran on a request that no Authenticator
	// authenticated. It fails closed with 401.
	ErrNoPrincipal = errors.New("auth: no authenticated principal")
	// ErrNoAccount: the principal acts for no account (see
	// [RequireAccount]): an API key or a client that no account owns.
	// Answered 403 insufficient_scope.
	ErrNoAccount = errors.New("auth: principal acts for no account")
	// ErrHTTPSRequired: the request arrived over plain HTTP.
	ErrHTTPSRequired = errors.New("auth: HTTPS required")
	// ErrThrottled: the client address or the credential has had too many
	// failed attempts in the current window. Answered 429 with Retry-After
	// before any verifier runs. The error is a [*ThrottledError].
	ErrThrottled = errors.New("auth: too many failed attempts")
	// ErrRateLimited: the principal exceeded its request rate limit.
	// Answered 429 with Retry-After and RateLimit headers.
	ErrRateLimited = errors.New("auth: rate limit exceeded")
	// ErrInvalidScope: a scope string or token does not follow RFC 6749 §3.3
	// or exceeds the limits.
	ErrInvalidScope = errors.New("auth: invalid scope")
	// ErrUnknownScope: a well-formed scope is not in the [ScopeCatalog]
	// in force. [ScopeCatalog.Check] wraps it with the scope's name and
	// the known ones; packages that issue credentials wrap it so callers
	// can tell this refusal from the others.
	ErrUnknownScope = errors.New("auth: unknown scope")
	// ErrNoClaims: the principal carries no JWT claims.
	ErrNoClaims = errors.New("auth: principal has no claims")
	// ErrInvalidConfig: New, RequireHTTPS or another constructor (such as
	// [NewScopeCatalog]) was given an unusable configuration.
	ErrInvalidConfig = errors.New("auth: invalid config")

	// ErrInvalidProof: the request's DPoP proof (RFC 9449 §4.3) is
	// missing, repeated, too large, malformed, signed wrongly, made for
	// another request or access token, too old or too new, or replayed.
	// Answered 401 with error="invalid_dpop_proof". A [ProofChecker]
	// wraps it with the reason.
	ErrInvalidProof = errors.New("auth: invalid DPoP proof")
	// ErrUseNonce: the DPoP proof lacks the server's current nonce, or
	// carries a stale one (RFC 9449 §9). Answered 401 with
	// error="use_dpop_nonce" and a fresh DPoP-Nonce header, which the
	// client puts in a new proof. Not counted as a failed attempt.
	ErrUseNonce = errors.New("auth: DPoP nonce required")
	// ErrProofKeyMismatch: the DPoP proof is valid but signed by another
	// key than the one the access token is bound to (its "cnf" "jkt").
	// Answered 401 invalid_token, as RFC 9449 §7.1 shows for an invalid
	// key binding.
	ErrProofKeyMismatch = errors.New("auth: DPoP proof key is not the token's key")
	// ErrBoundTokenAsBearer: a DPoP-bound access token came with the
	// Bearer scheme. RFC 9449 §7.2: such a token "MUST" be refused, or
	// whoever copied it could use it without the key. Answered 401
	// invalid_token, with or without [Config.DPoP].
	ErrBoundTokenAsBearer = errors.New("auth: DPoP-bound token presented as Bearer")
	// ErrTokenNotBound: the DPoP scheme came with a token that is not
	// DPoP-bound (no "cnf" "jkt"): a proof cannot make a bearer token
	// sender-constrained. Answered 401 invalid_token.
	ErrTokenNotBound = errors.New("auth: DPoP scheme with a token that is not DPoP-bound")
	// ErrProofWithBearer: a request with a Bearer credential also carried
	// a DPoP header. One request, one method: answered 400
	// invalid_request before any verifier runs.
	ErrProofWithBearer = errors.New("auth: DPoP proof sent with a Bearer credential")
	// ErrNotSenderConstrained: a route behind [RequireDPoP] was reached
	// with a credential that is not a DPoP-bound token checked with its
	// proof. Answered 401 with only the DPoP challenge.
	ErrNotSenderConstrained = errors.New("auth: route requires a DPoP-bound access token")
)

// failKind is the closed set of answers a failed request can get. Each has
// constant text; nothing from the request or from the error ever reaches
// the response.
type failKind uint8

const (
	failNoCredential failKind = iota
	failInvalidRequest
	failInvalidToken
	failInsufficientScope
	failHTTPSRequired
	failUnavailable
	failThrottled
	failInvalidProof // 401 invalid_dpop_proof
	failUseNonce     // 401 use_dpop_nonce with DPoP-Nonce
	failDPoPRequired // 401 invalid_token with only the DPoP challenge
)

// errURLAndHeader is the reason for a request that carried a credential
// both in its URL and in its Authorization header.
var errURLAndHeader = fmt.Errorf("%w: %w", ErrCredentialInURL, ErrMultipleAuthorization)

// kindOf maps an error to the answer. The parser's and the Throttle's own
// errors are recognised by identity; a verifier's error is unavailable if
// it wraps ErrUnavailable and invalid_token otherwise, so anything not
// recognised never lets a request through. One errors.Is, not one per
// kind, keeps the refusal path cheap.
func kindOf(err error) failKind {
	switch err {
	case ErrNoCredential, ErrUnsupportedScheme, ErrCredentialInURL:
		return failNoCredential
	case ErrMultipleAuthorization, errURLAndHeader, ErrProofWithBearer:
		return failInvalidRequest
	case ErrMalformedCredential, ErrCredentialTooLong, ErrUnknownShape, ErrBoundTokenAsBearer, ErrTokenNotBound:
		return failInvalidToken
	case ErrNotSenderConstrained:
		return failDPoPRequired
	}
	switch e := err.(type) {
	case *ThrottledError:
		return failThrottled
	case *proofError:
		return e.kind
	}
	if errors.Is(err, ErrUnavailable) {
		return failUnavailable
	}
	return failInvalidToken
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
