package oauth

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
)

// Defaults and limits of [Config].
const (
	// DefaultAccessTokenTTL is the lifetime of access tokens when
	// Config.AccessTokenTTL is zero: "expires_in": 3600.
	DefaultAccessTokenTTL = time.Hour
	// DefaultCodeTTL is the lifetime of authorization codes when
	// Config.CodeTTL is zero.
	DefaultCodeTTL = 60 * time.Second
	// MaxCodeTTL is the longest Config.CodeTTL accepted. RFC 6749 §4.1.2:
	// "A maximum authorization code lifetime of 10 minutes is
	// RECOMMENDED."
	MaxCodeTTL = 10 * time.Minute
	// DefaultRefreshTokenTTL is the absolute lifetime of a grant's
	// refresh tokens when Config.RefreshTokenTTL is zero.
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	// DefaultRefreshIdleTimeout is how long an unused refresh token stays
	// valid when Config.RefreshIdleTimeout is zero.
	DefaultRefreshIdleTimeout = 7 * 24 * time.Hour
	// DefaultRefreshGrace is how long after a rotation the previous
	// refresh token may be presented again (concurrent refreshes by one
	// client) when Config.RefreshGrace is zero.
	DefaultRefreshGrace = 10 * time.Second
	// DefaultMaxAuthFailures is the number of failed client
	// authentications for one client ID from one client network within
	// AuthFailureWindow after which further attempts get 429, when
	// Config.MaxAuthFailures is zero.
	DefaultMaxAuthFailures = 10
	// DefaultMaxNetworkAuthFailures is the number of failed client
	// authentications from one client network, whatever client ID they
	// name, within AuthFailureWindow after which further attempts get 429,
	// when Config.MaxNetworkAuthFailures is zero.
	DefaultMaxNetworkAuthFailures = 50
	// DefaultAuthFailureWindow is the window of MaxAuthFailures when
	// Config.AuthFailureWindow is zero.
	DefaultAuthFailureWindow = time.Minute
	// DefaultRealm is the realm of the Basic challenge when Config.Realm
	// is empty.
	DefaultRealm = "oauth"
)

// Signer mints access tokens. [jwt.Signer] implements it; tests may use a
// fake.
type Signer interface {
	Sign(ctx context.Context, c jwt.Claims) (jwt.Token, error)
}

// Config configures a [Server]. The zero value of every field is the
// secure choice; Issuer, Signer, Clients, Grants and Audience must be set.
type Config struct {
	// Issuer is the authorization server's issuer identifier (RFC 8414
	// §2): an https URL without query or fragment. It is the "iss" of
	// access tokens (the Signer must use the same), the "iss" of
	// authorization responses (RFC 9207) and the base of every endpoint
	// URL in the metadata. Required.
	Issuer string

	// Signer mints the access tokens: a [jwt.Signer] with the same
	// issuer. Required.
	Signer Signer

	// JWKS serves the public keys of the Signer at /.well-known/jwks.json,
	// usually [jwt.KeyManager.JWKSHandler]. If nil, the route is not served
	// and the metadata has no jwks_uri.
	JWKS http.Handler

	// AccessTokenVerifier recognises this server's access tokens at the
	// revocation and introspection endpoints: a [jwt.Verifier] built on
	// the same key set, issuer and audience. If nil, those endpoints know
	// refresh tokens only and treat access tokens as unknown.
	AccessTokenVerifier auth.Verifier

	// Clients stores registered clients. Required.
	Clients ClientStore

	// Grants stores codes, grants, refresh tokens and revoked token IDs.
	// Required.
	Grants GrantStore

	// ScopeCatalog is the server's scope catalog, the one the apikey
	// package and the consent page use too. If set, it is enforced at
	// every step that hands out a scope, matched case-sensitively:
	//
	//   - [Server.ClientManager] refuses to register a client with a scope
	//     outside it (see [ClientManagerConfig.ScopeCatalog]);
	//   - the authorization endpoint answers invalid_scope to a request
	//     whose scopes (those asked for, or the client's defaults) are not
	//     all in it;
	//   - the token endpoint issues no access token with a scope outside
	//     it, whatever the grant. A client or grant from before a scope
	//     left the catalog gets invalid_scope for that scope (a refresh
	//     token is not spent by the refusal) and may ask for a subset.
	//
	// Its names are the metadata's scopes_supported.
	//
	// If nil (and Scopes empty), each client's registered scopes are the
	// only bound. That is not weaker than it looks: a catalog grants
	// nothing; a nil one only loses the refusal of typos and of scopes
	// withdrawn from service.
	ScopeCatalog *auth.ScopeCatalog

	// Scopes, if not empty, are the only scopes clients may be registered
	// with; they are listed as scopes_supported in the metadata.
	//
	// Deprecated: Use ScopeCatalog, which also describes each scope.
	// Scopes works as a catalog of these names without descriptions,
	// enforced wherever ScopeCatalog is; setting both is an error.
	Scopes auth.Scopes

	// Audience is the "aud" of every access token: the resource servers
	// that accept them (RFC 9068 §3). Required.
	Audience []string

	// AccessTokenTTL is the lifetime of access tokens. If zero,
	// [DefaultAccessTokenTTL].
	AccessTokenTTL time.Duration

	// CodeTTL is the lifetime of authorization codes. If zero,
	// [DefaultCodeTTL]; at most [MaxCodeTTL].
	CodeTTL time.Duration

	// RefreshTokenTTL is the absolute lifetime of a grant: after it, its
	// refresh tokens stop working however often they were rotated. If
	// zero, [DefaultRefreshTokenTTL].
	RefreshTokenTTL time.Duration

	// RefreshIdleTimeout is how long a refresh token stays valid unused.
	// If zero, [DefaultRefreshIdleTimeout].
	RefreshIdleTimeout time.Duration

	// RefreshGrace is how long after a rotation the previous refresh token
	// is still exchanged (each exchange supersedes the current head, so a
	// grant never has two live refresh tokens). After it, presenting the
	// old token revokes the whole grant (RFC 9700 §4.14.2). If zero,
	// [DefaultRefreshGrace].
	RefreshGrace time.Duration

	// SecretGrace is how long a client's previous secret keeps working
	// after a rotation. If zero, [DefaultSecretGrace].
	SecretGrace time.Duration

	// MaxAuthFailures, MaxNetworkAuthFailures and AuthFailureWindow limit
	// failed client authentications at the token, revocation and
	// introspection endpoints, counted with an [auth.AttemptCounter]
	// before the client store is asked: after MaxAuthFailures failures for
	// one client ID from one client network ([auth.ClientNetwork]), or
	// MaxNetworkAuthFailures from one network for any client IDs, within
	// AuthFailureWindow, that network gets 429 with Retry-After until the
	// window ends, even with the right secret. Nothing is counted per
	// client ID alone: client IDs are public and secrets 256-bit, so a
	// per-ID lock would only let anyone lock a client out. If zero,
	// [DefaultMaxAuthFailures], [DefaultMaxNetworkAuthFailures] and
	// [DefaultAuthFailureWindow].
	MaxAuthFailures        int
	MaxNetworkAuthFailures int
	AuthFailureWindow      time.Duration

	// AuthFailureLimiter stores the failure counts. If nil, each Server
	// counts in its own memory. Give every instance of a fleet the same
	// shared Limiter (see [auth.Limiter]) so that failures at one count at
	// all.
	AuthFailureLimiter auth.Limiter

	// TrustedProxies lists the networks of reverse proxies in front of the
	// server whose X-Forwarded-For is believed when counting failures per
	// client network, by the rule of [auth.ClientNetwork]. Empty: the
	// immediate peer is the client.
	TrustedProxies []netip.Prefix

	// Realm is the realm of the WWW-Authenticate: Basic challenge. If
	// empty, [DefaultRealm].
	Realm string

	// DPoP, if set, makes the server issue sender-constrained tokens
	// (RFC 9449): a token request with a valid DPoP proof gets an access
	// token bound to the proof's key ("cnf" "jkt", token_type "DPoP"); a
	// public client's refresh tokens are bound to it too, and refreshing
	// them needs a proof by that key. dpop_jkt binds a code to a key
	// (§10). An invalid proof gets invalid_dpop_proof; with
	// [dpop.Config.RequireNonce], a missing nonce use_dpop_nonce and a
	// DPoP-Nonce. It may be the Checker the Authenticator uses, so a proof
	// is accepted once in all. If nil, DPoP headers are ignored (tokens
	// are Bearer, RFC 9449 §5) and clients that require DPoP get none.
	DPoP *dpop.Checker

	// Consent is called by [Server.AuthorizeHandler] for every valid
	// authorization request: the application authenticates the user,
	// asks for consent and answers with [Server.Approve] or
	// [Server.Deny]. If nil, every valid request is answered as denied,
	// so no code is ever issued without the application.
	Consent func(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest)

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time

	// OnEvent, if set, is called for every token issued or refused, every
	// authorization answered, every revocation and every detected replay.
	// It must be safe for concurrent use and return quickly. The package
	// never logs on its own.
	OnEvent func(Event)
}
