package oauth

import "net/http"

// EventKind names what an [Event] reports.
type EventKind string

// The event kinds.
const (
	// EventTokenIssued: the token endpoint issued an access token.
	EventTokenIssued EventKind = "token_issued"
	// EventTokenRefused: the token endpoint refused a request. Err says
	// why; ErrCodeUsed and ErrRefreshReused mean a replay was detected
	// and the grant revoked.
	EventTokenRefused EventKind = "token_refused"
	// EventCodeIssued: Approve issued an authorization code.
	EventCodeIssued EventKind = "code_issued"
	// EventAuthorizeRefused: an authorization request was refused or
	// denied.
	EventAuthorizeRefused EventKind = "authorize_refused"
	// EventRevoked: the revocation endpoint revoked a token.
	EventRevoked EventKind = "revoked"
	// EventRevocationRefused: the revocation endpoint refused a request.
	EventRevocationRefused EventKind = "revocation_refused"
	// EventIntrospected: the introspection endpoint answered.
	EventIntrospected EventKind = "introspected"
	// EventIntrospectionRefused: the introspection endpoint refused a
	// request.
	EventIntrospectionRefused EventKind = "introspection_refused"
)

// Event describes one outcome at an endpoint, for [Config.OnEvent]. It
// never holds a secret, code or token, only identifiers that are safe to
// log.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Request is the request. Hooks must not read its body or keep it.
	Request *http.Request
	// ClientID is the client the request named or authenticated as, if
	// known. On authentication failures it is what the request claimed.
	ClientID string
	// Subject is the user or client the token is for, if known.
	Subject string
	// GrantType is the token request's grant_type, when it is one the
	// server knows.
	GrantType string
	// TokenID is the "jti" of the access token issued or revoked, if any.
	TokenID string
	// GrantID is the grant (refresh-token family) involved, if any.
	GrantID string
	// Err is the reason for a refusal, wrapping a sentinel of this package
	// (match with errors.Is); nil on success.
	Err error
}

func (s *Server) emit(ev Event) {
	if s.onEvent != nil {
		s.onEvent(ev)
	}
}
