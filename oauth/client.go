package oauth

import (
	"slices"
	"time"

	"github.com/audexum/auth"
)

// ClientType is the kind of application a client is. It decides whether
// the client has a secret (RFC 6749 §2.1).
type ClientType string

// The client types.
const (
	// ClientServer is a server-to-server application: confidential (it has
	// a secret), typically using the client_credentials grant.
	ClientServer ClientType = "server"
	// ClientWeb is a web application with a back end: confidential, using
	// the authorization_code grant.
	ClientWeb ClientType = "web"
	// ClientMobile is a native or mobile application: public, it has no
	// secret, since anything shipped in an app can be extracted (RFC 8252
	// §8.5). It may only use authorization_code (with PKCE) and
	// refresh_token.
	ClientMobile ClientType = "mobile"
)

// Confidential reports whether clients of type t authenticate with a
// secret.
func (t ClientType) Confidential() bool { return t == ClientServer || t == ClientWeb }

func (t ClientType) valid() bool { return t == ClientServer || t == ClientWeb || t == ClientMobile }

// Grant types (RFC 6749 §4, §6).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

// Client is a registered OAuth 2.0 client. It never holds a secret, only
// hashes of its secrets.
type Client struct {
	// ID is the client identifier (RFC 6749 §2.2), public.
	ID string
	// Name is a human label shown on consent pages.
	Name string
	// Type is server, web or mobile.
	Type ClientType
	// RedirectURIs are the registered redirection endpoints, compared
	// exactly (RFC 9700 §2.1).
	RedirectURIs []string
	// GrantTypes are the grant types the client may use.
	GrantTypes []string
	// Scopes are the scopes the client may obtain.
	Scopes auth.Scopes
	// DefaultScopes are granted when a request names none. If empty, the
	// client's Scopes.
	DefaultScopes auth.Scopes
	// Secrets are the hashes of the client's current secrets: one, or two
	// during a rotation's grace period. Empty for public clients.
	Secrets []ClientSecret
	// RequireDPoP makes every token request of the client carry a valid
	// DPoP proof (RFC 9449 §5), so all its tokens are bound (see
	// [Config.DPoP], without which it gets none).
	RequireDPoP bool
	// CreatedAt is when the client was registered.
	CreatedAt time.Time
	// Owner is the ID of the account the client belongs to: its
	// client-credentials tokens act for that account ([AccountResolver]),
	// and a developer portal lists it among the account's. Empty for a
	// client the operator manages, which acts for no account.
	Owner string
}

// HasGrantType reports whether the client may use the grant type gt.
func (c *Client) HasGrantType(gt string) bool { return slices.Contains(c.GrantTypes, gt) }

// defaultScopes is the set used when a request names no scope.
func (c *Client) defaultScopes() auth.Scopes {
	if c.DefaultScopes.Len() > 0 {
		return c.DefaultScopes
	}
	return c.Scopes
}

// Clone returns a deep copy of c, for stores that must not share records.
func (c *Client) Clone() *Client {
	if c == nil {
		return nil
	}
	d := *c
	d.RedirectURIs = slices.Clone(c.RedirectURIs)
	d.GrantTypes = slices.Clone(c.GrantTypes)
	d.Secrets = slices.Clone(c.Secrets)
	return &d
}
