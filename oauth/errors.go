package oauth

import (
	"errors"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/reason"
)

// Sentinel errors; match them with [errors.Is]. Handlers report them,
// wrapped with %w, to [Config.OnEvent], never to clients. The four built
// on a root sentinel match it (see Errors in package auth).
var (
	ErrInvalidConfig = reason.New(auth.ErrInvalidConfig, "oauth: invalid config")

	// ErrNotFound: a store has no such client, code, grant or token.
	ErrNotFound      = errors.New("oauth: not found")
	ErrAlreadyExists = errors.New("oauth: already exists")
	// ErrCodeUsed: an authorization code was presented a second time. The
	// grant issued from its first use is revoked (RFC 6749 §4.1.2).
	ErrCodeUsed = errors.New("oauth: authorization code already used")
	// ErrRefreshReused: a rotated refresh token was presented after the
	// grace window. Its whole grant is revoked (RFC 9700 §4.14.2).
	ErrRefreshReused = errors.New("oauth: refresh token reused")
	ErrGrantRevoked  = errors.New("oauth: grant revoked")

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
	// ErrUnauthorizedClient: for a grant type or a response type.
	ErrUnauthorizedClient = errors.New("oauth: client not allowed to use this grant")
	// ErrUnsupportedGrantType: the grant type is unknown or not supported
	// (password and implicit are never supported, RFC 9700 §2.4).
	ErrUnsupportedGrantType = errors.New("oauth: unsupported grant type")
	// ErrUnsupportedResponseType: a response_type other than "code".
	ErrUnsupportedResponseType = errors.New("oauth: unsupported response type")
	// ErrInvalidGrant: the code or refresh token is unknown, expired,
	// revoked, issued to another client, or its redirect URI or PKCE
	// verifier does not match.
	ErrInvalidGrant = errors.New("oauth: invalid grant")
	// ErrInvalidScope: the requested scope is malformed or exceeds what
	// the client (or the grant) allows.
	ErrInvalidScope = errors.New("oauth: invalid scope")
	// ErrPKCE: no S256 code challenge, or a malformed one.
	ErrPKCE = errors.New("oauth: PKCE S256 code challenge required")
	// ErrUnknownClient: answered with a 400 page, never a redirect.
	ErrUnknownClient = errors.New("oauth: unknown client")
	// ErrAccessDenied: the user or the application denied the request.
	ErrAccessDenied = errors.New("oauth: access denied")
	// ErrClientDeleted: an access token verified, but its client no
	// longer exists (see [ClientGate]); 401 invalid_token.
	ErrClientDeleted = reason.New(auth.ErrRevoked, "oauth: the token's client was deleted")
	// ErrUnavailable: a store or the signer failed; 503, neither a grant
	// nor a refusal.
	ErrUnavailable = reason.New(auth.ErrUnavailable, "oauth: temporarily unavailable")

	// ErrDPoPRequired: no DPoP proof from a client with RequireDPoP, or
	// for a bound refresh token; invalid_dpop_proof (RFC 9449 §5), as for
	// an invalid proof, whose reason is a sentinel of package dpop.
	ErrDPoPRequired = reason.New(auth.ErrInvalidProof, "oauth: DPoP proof required")
	// ErrDPoPKey: the token request's DPoP proof is valid but signed by
	// another key than the one the code (dpop_jkt) or the refresh token
	// is bound to. Wrapped with ErrInvalidGrant: nothing is issued. A
	// refresh token is left as it was (its rotation and replay rules do
	// not run); a code is spent, as by a failed PKCE check.
	ErrDPoPKey = errors.New("oauth: DPoP proof key is not the bound key")
)
