package auth

import (
	"context"
	"encoding/json"
	"time"
)

// Method says how a [Principal] authenticated.
type Method int

// The authentication methods. The zero Method is not a valid method: a
// [Verifier] must set one.
const (
	// MethodAPIKey: the caller presented an API key. The principal is the
	// application that owns the key.
	MethodAPIKey Method = iota + 1
	// MethodClientCredentials: an OAuth 2.0 access token a client obtained
	// for itself (RFC 6749 §4.4). The subject is the client; no user is
	// involved.
	MethodClientCredentials
	// MethodAuthorizationCode: an OAuth 2.0 access token issued to a client
	// acting on behalf of a user who approved it (RFC 6749 §4.1). The
	// subject is the user; ClientID names the client acting for them.
	MethodAuthorizationCode
)

// String returns the method's stable name, used in logs and metrics:
// "api_key", "client_credentials", "authorization_code" or "unknown".
func (m Method) String() string {
	switch m {
	case MethodAPIKey:
		return "api_key"
	case MethodClientCredentials:
		return "client_credentials"
	case MethodAuthorizationCode:
		return "authorization_code"
	}
	return "unknown"
}

// MarshalText implements [encoding.TextMarshaler] with [Method.String].
func (m Method) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Principal is the authenticated caller of a request: who it is, how it
// authenticated and what it may do.
//
// A Principal returned by a [Verifier] may be cached and shared by
// concurrent requests. Treat it as read-only.
type Principal struct {
	// Subject identifies the caller. For an API key it is the key's owner;
	// for a client-credentials token, the client ID; for an
	// authorization-code token, the user.
	Subject string
	// ClientID is the OAuth 2.0 client that obtained the token. Empty for
	// API keys.
	ClientID string
	// Scopes are the permissions granted to this credential.
	Scopes Scopes
	// Method says how the caller authenticated.
	Method Method
	// CredentialID identifies the credential itself without revealing it:
	// the API key ID or the token's "jti". Safe to log.
	CredentialID string
	// ExpiresAt is when the credential stops being valid. The zero time
	// means it does not expire.
	ExpiresAt time.Time
	// Issuer is the token's "iss". Empty for API keys.
	Issuer string
	// Claims holds the verified JWT claims set as JSON. Nil for API keys.
	// Decode it with [Principal.DecodeClaims].
	Claims json.RawMessage
	// KeyThumbprint is the key a sender-constrained token is bound to:
	// the base64url RFC 7638 SHA-256 thumbprint in its "cnf" claim's
	// "jkt" member (RFC 9449 §6.1). Empty for API keys and bearer
	// tokens. The [Authenticator] accepts a token that has one only with
	// the DPoP scheme and a proof signed by that key, never as Bearer.
	KeyThumbprint string
	// SenderConstrained reports that the request proved possession of
	// the key KeyThumbprint names: the Authenticator checked its DPoP
	// proof (see [Config.DPoP]). Only the Authenticator sets it; require
	// it per route with [RequireDPoP].
	SenderConstrained bool
}

// IsUser reports whether the principal is a user acting through a client
// (an authorization-code token), as opposed to an application acting for
// itself (an API key or a client-credentials token).
func (p *Principal) IsUser() bool { return p != nil && p.Method == MethodAuthorizationCode }

// DecodeClaims decodes the verified JWT claims into v, which should be a
// pointer as for [json.Unmarshal]. It returns [ErrNoClaims] when the
// principal has none, as for API keys.
func (p *Principal) DecodeClaims(v any) error {
	if p == nil || len(p.Claims) == 0 {
		return ErrNoClaims
	}
	return json.Unmarshal(p.Claims, v)
}

// principalKey is the context key for the principal. Being unexported, no
// other package can set or overwrite the value except through NewContext.
type principalKey struct{}

// NewContext returns a copy of ctx that carries p. The [Authenticator]
// calls it for every authenticated request; tests and custom middleware may
// call it too.
//
// NewContext replaces the principal only: the route checks behind it
// ([RequireScopes], [RequireUser], [RequireAccount], [RequireDPoP]) still
// answer with the realm of the Authenticator in front and report their
// refusals, with p, to its [Config.OnFailure]. With no Authenticator in
// front they answer with [DefaultRealm] and report to nobody.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return &authContext{Context: ctx, p: p}
}

// FromContext returns the principal stored in ctx by [NewContext] or by an
// [Authenticator], and whether there was one. A request let through by
// [Config.Optional] without a credential has none.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p, p != nil
}

// responderKey finds the failure writer of the Authenticator that
// authenticated the request, so RequireScopes answers with its realm and
// reports to its hooks.
type responderKey struct{}

// authContext carries the principal and the failure writer in one
// allocation: a context.WithValue for each would cost two on every request.
// Value delegates everything else to the parent, so cancellation and other
// values work as with any derived context.
type authContext struct {
	context.Context
	p    *Principal
	resp *responder
}

func (c *authContext) Value(key any) any {
	switch key.(type) {
	case principalKey:
		return c.p
	case responderKey:
		if c.resp != nil {
			return c.resp
		}
		// A context from NewContext has no writer of its own: the
		// Authenticator's, further up, keeps answering and reporting
		// for the principal a user's middleware put in its place.
	}
	return c.Context.Value(key)
}
