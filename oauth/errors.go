package oauth

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors. Handlers report them, wrapped with %w, to
// [Config.OnEvent]; match them with [errors.Is]. None of them is ever
// written to a response: clients see only the RFC 6749 §5.2 error codes,
// each with one constant description.
//
// Four share a meaning with a sentinel of the root package (see Errors
// in its documentation) and match it: [ErrInvalidConfig]
// [auth.ErrInvalidConfig], [ErrUnavailable] [auth.ErrUnavailable],
// [ErrClientDeleted] [auth.ErrRevoked] and [ErrDPoPRequired]
// [auth.ErrInvalidProof]. The others are the authorization server's own
// (its refusals are answered by RFC 6749 codes, not by the
// Authenticator) and are plain.
var (
	// ErrInvalidConfig: NewServer or NewClientManager was given an unusable
	// Config.
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "oauth: invalid config")

	// ErrNotFound: a store has no such client, code, grant or token.
	ErrNotFound = errors.New("oauth: not found")
	// ErrAlreadyExists: a store already holds a record with that
	// identifier.
	ErrAlreadyExists = errors.New("oauth: already exists")
	// ErrCodeUsed: an authorization code was presented a second time. The
	// grant issued from its first use is revoked (RFC 6749 §4.1.2).
	ErrCodeUsed = errors.New("oauth: authorization code already used")
	// ErrRefreshReused: a rotated refresh token was presented after the
	// grace window. Its whole grant is revoked (RFC 9700 §4.14.2).
	ErrRefreshReused = errors.New("oauth: refresh token reused")
	// ErrGrantRevoked: the grant (refresh-token family) was revoked.
	ErrGrantRevoked = errors.New("oauth: grant revoked")

	// ErrInvalidClientConfig: a client registration is refused (unknown
	// type, bad redirect URI, grant type or scope).
	ErrInvalidClientConfig = errors.New("oauth: invalid client registration")
	// ErrInvalidRedirectURI: a redirect URI is not absolute https (or
	// http on a loopback address), has a fragment or userinfo, or does not
	// match a registered one exactly.
	ErrInvalidRedirectURI = errors.New("oauth: invalid redirect URI")

	// ErrMalformedRequest: the request is not well formed (wrong method
	// or content type, repeated or missing parameter, parameters in the
	// query, oversized body). Answered invalid_request.
	ErrMalformedRequest = errors.New("oauth: malformed request")
	// ErrClientAuth: client authentication failed: unknown client, wrong
	// or missing secret, expired secret. Answered invalid_client.
	ErrClientAuth = errors.New("oauth: client authentication failed")
	// ErrTooManyFailures: the client network had too many authentication
	// failures within the window, for the client ID it names or for any
	// (see Config.MaxAuthFailures). Answered 429 with Retry-After.
	ErrTooManyFailures = errors.New("oauth: too many client authentication failures")
	// ErrUnauthorizedClient: the client may not use this grant type or
	// response type.
	ErrUnauthorizedClient = errors.New("oauth: client not allowed to use this grant")
	// ErrUnsupportedGrantType: the grant type is unknown or not supported
	// (password and implicit are never supported, RFC 9700 §2.4).
	ErrUnsupportedGrantType = errors.New("oauth: unsupported grant type")
	// ErrUnsupportedResponseType: the authorize request's response_type
	// is not "code".
	ErrUnsupportedResponseType = errors.New("oauth: unsupported response type")
	// ErrInvalidGrant: the code or refresh token is unknown, expired,
	// revoked, issued to another client, or its redirect URI or PKCE
	// verifier does not match.
	ErrInvalidGrant = errors.New("oauth: invalid grant")
	// ErrInvalidScope: the requested scope is malformed or exceeds what
	// the client (or the grant) allows.
	ErrInvalidScope = errors.New("oauth: invalid scope")
	// ErrPKCE: the authorize request has no S256 code challenge, or a
	// malformed one.
	ErrPKCE = errors.New("oauth: PKCE S256 code challenge required")
	// ErrUnknownClient: the authorize request names no registered client.
	// Answered with a 400 page, never a redirect.
	ErrUnknownClient = errors.New("oauth: unknown client")
	// ErrAccessDenied: the resource owner or the application denied the
	// authorization request.
	ErrAccessDenied = errors.New("oauth: access denied")
	// ErrClientDeleted: an access token verified, but its client no
	// longer exists (see [ClientGate]). It matches [auth.ErrRevoked], so
	// the API answers 401 invalid_token.
	ErrClientDeleted = reason.New(auth.ErrRevoked, "oauth: the token's client was deleted")
	// ErrUnavailable: a store or the signer failed. Answered 503
	// temporarily_unavailable: neither a grant nor a refusal.
	ErrUnavailable = reason.New(auth.ErrUnavailable, "oauth: temporarily unavailable")

	// ErrDPoPRequired: a token request came without a DPoP proof from a
	// client registered with RequireDPoP, or to refresh a refresh token
	// bound to a key. Answered invalid_dpop_proof (RFC 9449 §5); a
	// proof that is there but invalid is answered the same, with a
	// sentinel of package dpop as the reason.
	ErrDPoPRequired = reason.New(auth.ErrInvalidProof, "oauth: DPoP proof required")
	// ErrDPoPKey: the token request's DPoP proof is valid but signed by
	// another key than the one the code (dpop_jkt) or the refresh token
	// is bound to. Wrapped with ErrInvalidGrant: nothing is issued. A
	// refresh token is left as it was (its rotation and replay rules do
	// not run); a code is spent, as by a failed PKCE check.
	ErrDPoPKey = errors.New("oauth: DPoP proof key is not the bound key")
)
