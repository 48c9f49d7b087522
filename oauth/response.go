package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/audexum/auth"
)

// errorCode is the closed set of RFC 6749 §5.2 answers (plus 405, 429 and
// 503). Each has a constant body: nothing from the request or from the
// internal error reaches the response.
type errorCode uint8

const (
	codeInvalidRequest errorCode = iota
	codeInvalidClient
	codeInvalidGrant
	codeUnauthorizedClient
	codeUnsupportedGrantType
	codeInvalidScope
	codeTooManyRequests
	codeUnavailable
	codeMethodNotAllowed
	codeInvalidDPoPProof
	codeUseDPoPNonce
)

type errorResponse struct {
	status int
	body   []byte
}

func newErrorResponse(status int, code, description string) errorResponse {
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
	return errorResponse{status: status, body: b}
}

// errorResponses are the bodies, built once. The descriptions are
// constant and say nothing about which check failed.
var errorResponses = [...]errorResponse{
	codeInvalidRequest:       newErrorResponse(http.StatusBadRequest, "invalid_request", "The request is missing a required parameter, repeats a parameter, or is otherwise malformed."),
	codeInvalidClient:        newErrorResponse(http.StatusUnauthorized, "invalid_client", "Client authentication failed."),
	codeInvalidGrant:         newErrorResponse(http.StatusBadRequest, "invalid_grant", "The authorization grant or refresh token is invalid, expired, revoked, or was issued to another client."),
	codeUnauthorizedClient:   newErrorResponse(http.StatusBadRequest, "unauthorized_client", "The client is not authorized to use this grant type."),
	codeUnsupportedGrantType: newErrorResponse(http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported."),
	codeInvalidScope:         newErrorResponse(http.StatusBadRequest, "invalid_scope", "The requested scope is invalid, unknown, or exceeds the scope granted."),
	codeTooManyRequests:      newErrorResponse(http.StatusTooManyRequests, "temporarily_unavailable", "Too many failed attempts; retry later."),
	codeUnavailable:          newErrorResponse(http.StatusServiceUnavailable, "temporarily_unavailable", "The server is temporarily unable to handle the request."),
	codeMethodNotAllowed:     newErrorResponse(http.StatusMethodNotAllowed, "invalid_request", "The request is missing a required parameter, repeats a parameter, or is otherwise malformed."),
	// RFC 9449 §5 and §8: both are 400 at the token endpoint.
	codeInvalidDPoPProof: newErrorResponse(http.StatusBadRequest, "invalid_dpop_proof", "The DPoP proof is missing, invalid, or was used before."),
	codeUseDPoPNonce:     newErrorResponse(http.StatusBadRequest, "use_dpop_nonce", "Sign a new DPoP proof with the nonce in the DPoP-Nonce header."),
}

// unavailableRetryAfter is the Retry-After of a 503.
const unavailableRetryAfter = "5"

// codeFor maps an error to its answer. Anything not recognised is 503:
// an unexpected error (a store down) is neither a grant nor a verdict.
func codeFor(err error) errorCode {
	switch {
	case errors.Is(err, auth.ErrUseNonce):
		return codeUseDPoPNonce
	case errors.Is(err, auth.ErrInvalidProof), errors.Is(err, ErrDPoPRequired):
		return codeInvalidDPoPProof
	case errors.Is(err, ErrTooManyFailures):
		return codeTooManyRequests
	case errors.Is(err, ErrMalformedRequest):
		return codeInvalidRequest
	case errors.Is(err, ErrClientAuth):
		return codeInvalidClient
	case errors.Is(err, ErrUnsupportedGrantType):
		return codeUnsupportedGrantType
	case errors.Is(err, ErrUnauthorizedClient):
		return codeUnauthorizedClient
	case errors.Is(err, ErrInvalidScope):
		return codeInvalidScope
	case errors.Is(err, ErrInvalidGrant), errors.Is(err, ErrCodeUsed), errors.Is(err, ErrRefreshReused),
		errors.Is(err, ErrGrantRevoked):
		return codeInvalidGrant
	}
	return codeUnavailable
}

// failure is a refusal at a client-authenticated endpoint, with what the
// response needs beyond the error.
type failure struct {
	err        error
	basic      bool          // the client tried HTTP Basic: 401 carries the challenge
	retryAfter time.Duration // for 429
}

// noStore sets the headers every token, revocation and introspection
// response carries. RFC 6749 §5.1: "The authorization server MUST include
// the HTTP "Cache-Control" response header field with a value of
// "no-store" in any response containing tokens, credentials, or other
// sensitive information, as well as the "Pragma" response header field
// with a value of "no-cache"."
func noStore(h http.Header) {
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	h["X-Content-Type-Options"] = hdrNosniff
}

// Header values shared by every response, built once. Each slice has no
// spare capacity, so a handler that appends to one copies it instead of
// writing into the shared array.
var (
	hdrNoStore = one("no-store")
	hdrNoCache = one("no-cache")
	hdrNosniff = one("nosniff")
	hdrJSON    = one("application/json;charset=UTF-8")
)

func one(v string) []string { return []string{v}[:1:1] }

// writeError writes the answer for f. The error itself goes to the event
// hook, never to the response.
func (s *Server) writeError(w http.ResponseWriter, f failure) {
	code := codeFor(f.err)
	resp := errorResponses[code]
	h := w.Header()
	noStore(h)
	switch code {
	case codeInvalidClient:
		// RFC 6749 §5.2: "If the client attempted to authenticate via
		// the "Authorization" request header field, the authorization
		// server MUST respond with an HTTP 401 (Unauthorized) status code
		// and include the "WWW-Authenticate" response header field".
		if f.basic {
			h["Www-Authenticate"] = s.challenge
		}
	case codeTooManyRequests:
		secs := int64(math.Ceil(f.retryAfter.Seconds()))
		h["Retry-After"] = []string{strconv.FormatInt(max(secs, 1), 10)}
	case codeUnavailable:
		h["Retry-After"] = []string{unavailableRetryAfter}
	case codeUseDPoPNonce:
		s.setDPoPNonce(h)
	}
	writeJSON(w, resp.status, resp.body)
}

// errMethod is the reason reported for a 405.
var errMethod = fmt.Errorf("%w: method not allowed", ErrMalformedRequest)

func writeMethodNotAllowed(w http.ResponseWriter, allow string) {
	h := w.Header()
	noStore(h)
	h["Allow"] = []string{allow}
	resp := errorResponses[codeMethodNotAllowed]
	writeJSON(w, resp.status, resp.body)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

// onlyGet wraps h to answer methods other than GET and HEAD with 405.
func onlyGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeMethodNotAllowed(w, "GET, HEAD")
			return
		}
		h.ServeHTTP(w, r)
	})
}
