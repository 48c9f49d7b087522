package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/label"
)

// DefaultSecretGrace is how long a client's previous secret keeps working
// after a rotation when ClientManagerConfig.SecretGrace is zero.
const DefaultSecretGrace = 24 * time.Hour

// maxNameLength bounds a client's name.
const maxNameLength = 200

// MaxOwnerLength bounds a client's owner, an account ID.
const MaxOwnerLength = 200

// maxRedirectURIs bounds the redirect URIs of one client.
const maxRedirectURIs = 20

// ClientManagerConfig configures a [ClientManager].
type ClientManagerConfig struct {
	// Clients stores the clients. Required.
	Clients ClientStore

	// ScopeCatalog is the server's scope catalog: if set, a client may be
	// registered only with scopes in it, matched case-sensitively;
	// Register refuses any other with an error wrapping
	// [ErrInvalidClientConfig] and [auth.ErrUnknownScope] that names the
	// scope and the known ones. Give it the catalog the [Server] and the
	// apikey package get ([Server.ClientManager] does).
	//
	// If nil (and AllowedScopes empty), any well-formed scopes: a catalog
	// grants nothing, so a nil one only loses the refusal of typos.
	ScopeCatalog *auth.ScopeCatalog

	// AllowedScopes, if not empty, are the only scopes a client may be
	// registered with.
	//
	// Deprecated: Use ScopeCatalog, which also describes each scope.
	// AllowedScopes works as a catalog of these names without
	// descriptions; setting both is an error.
	AllowedScopes auth.Scopes

	// SecretGrace is how long the previous secrets keep working after
	// RotateSecret, so deployed instances can switch without downtime.
	// If zero, [DefaultSecretGrace]. Negative is an error.
	SecretGrace time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// ClientManager registers OAuth 2.0 clients and issues their secrets. It is
// safe for concurrent use.
type ClientManager struct {
	store   ClientStore
	catalog *auth.ScopeCatalog
	allowed auth.Scopes // the deprecated AllowedScopes, when catalog is nil
	grace   time.Duration
	now     func() time.Time
}

// NewClientManager returns a ClientManager for cfg. It fails with an error wrapping
// [ErrInvalidConfig] if cfg.Clients is nil, SecretGrace is negative, or
// both ScopeCatalog and the deprecated AllowedScopes are set.
func NewClientManager(cfg ClientManagerConfig) (*ClientManager, error) {
	if cfg.Clients == nil {
		return nil, fmt.Errorf("%w: a ClientStore is required", ErrInvalidConfig)
	}
	if cfg.SecretGrace < 0 {
		return nil, fmt.Errorf("%w: negative SecretGrace", ErrInvalidConfig)
	}
	if cfg.ScopeCatalog != nil && cfg.AllowedScopes.Len() > 0 {
		return nil, fmt.Errorf("%w: set ScopeCatalog or the deprecated AllowedScopes, not both", ErrInvalidConfig)
	}
	r := &ClientManager{store: cfg.Clients, catalog: cfg.ScopeCatalog, allowed: cfg.AllowedScopes, grace: cfg.SecretGrace, now: cfg.Now}
	if r.grace == 0 {
		r.grace = DefaultSecretGrace
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r, nil
}

// Registration describes a client to register.
type Registration struct {
	// Name is a human label, shown on consent pages. Required, printable,
	// at most 200 bytes.
	Name string
	// Type is server, web or mobile. Required.
	Type ClientType
	// RedirectURIs are the exact redirection endpoints, each as
	// [ValidateRedirectURI] accepts; at least one with authorization_code.
	RedirectURIs []string
	// GrantTypes the client may use. If empty: client_credentials for
	// server clients, authorization_code and refresh_token for web and
	// mobile clients. Mobile (public) clients may not use
	// client_credentials, and refresh_token needs authorization_code.
	GrantTypes []string
	// Scopes the client may obtain. With a scope catalog
	// ([ClientManagerConfig.ScopeCatalog]), each must be in it.
	Scopes auth.Scopes
	// DefaultScopes are granted when a request names no scope; they must
	// be within Scopes. If empty, Scopes.
	DefaultScopes auth.Scopes
	// Owner is [Client.Owner]: an account ID of at most [MaxOwnerLength]
	// bytes without white space, control or format characters, which the
	// ClientManager does not check exists. Empty for an operator-managed
	// client.
	Owner string

	// RequireDPoP sets [Client.RequireDPoP]. Set it for mobile apps that
	// can keep a key in the platform's key store: their refresh tokens are
	// then worthless to whoever copies them (RFC 9700 §2.2.2), which
	// rotation alone only detects after the fact.
	RequireDPoP bool
}

// Register validates reg, creates the client with a new ID and, for
// confidential clients, a new secret. The secret is returned once and
// never stored: only its SHA-256 is kept. Public (mobile) clients get an
// empty secret.
//
// It fails with an error wrapping [ErrInvalidClientConfig] or
// [ErrInvalidRedirectURI] for a registration it refuses (also wrapping
// [auth.ErrUnknownScope] for a scope outside the catalog), or the store's
// error.
func (r *ClientManager) Register(ctx context.Context, reg Registration) (*Client, string, error) {
	c, err := r.validate(reg)
	if err != nil {
		return nil, "", err
	}
	now := r.now()
	c.CreatedAt = now
	var secret string
	if c.Type.Confidential() {
		secret = newValue(SecretPrefix)
		c.Secrets = []ClientSecret{{Hash: HashSecret(secret), CreatedAt: now}}
	}
	for range 3 {
		c.ID = newClientID()
		err = r.store.CreateClient(ctx, c)
		if !errors.Is(err, ErrAlreadyExists) {
			break
		}
	}
	if err != nil {
		return nil, "", err
	}
	return c.Clone(), secret, nil
}

func (r *ClientManager) validate(reg Registration) (*Client, error) {
	if !label.Valid(reg.Name, maxNameLength) {
		return nil, fmt.Errorf("%w: name must be 1 to %d bytes of UTF-8, not only white space, without control or format characters", ErrInvalidClientConfig, maxNameLength)
	}
	if !reg.Type.valid() {
		return nil, fmt.Errorf("%w: type must be server, web or mobile", ErrInvalidClientConfig)
	}
	if reg.Owner != "" && !validOwner(reg.Owner) {
		return nil, fmt.Errorf("%w: owner must be an account ID of 1 to %d bytes of UTF-8 without white space, control or format characters", ErrInvalidClientConfig, MaxOwnerLength)
	}
	grants := slices.Clone(reg.GrantTypes)
	if len(grants) == 0 {
		if reg.Type == ClientServer {
			grants = []string{GrantClientCredentials}
		} else {
			grants = []string{GrantAuthorizationCode, GrantRefreshToken}
		}
	}
	slices.Sort(grants)
	grants = slices.Compact(grants)
	for _, g := range grants {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials:
			if !reg.Type.Confidential() {
				return nil, fmt.Errorf("%w: a public client cannot use client_credentials", ErrInvalidClientConfig)
			}
		default:
			return nil, fmt.Errorf("%w: unsupported grant type", ErrInvalidClientConfig)
		}
	}
	hasCode := slices.Contains(grants, GrantAuthorizationCode)
	if slices.Contains(grants, GrantRefreshToken) && !hasCode {
		return nil, fmt.Errorf("%w: refresh_token needs authorization_code", ErrInvalidClientConfig)
	}
	if reg.Type == ClientServer && len(reg.RedirectURIs) > 0 {
		// A server client has no user and no browser: nothing is ever
		// redirected to it, and a registered URI would only be a target.
		return nil, fmt.Errorf("%w: a server client cannot have redirect URIs", ErrInvalidRedirectURI)
	}
	if hasCode && len(reg.RedirectURIs) == 0 {
		return nil, fmt.Errorf("%w: authorization_code needs a redirect URI", ErrInvalidRedirectURI)
	}
	if len(reg.RedirectURIs) > maxRedirectURIs {
		return nil, fmt.Errorf("%w: more than %d redirect URIs", ErrInvalidRedirectURI, maxRedirectURIs)
	}
	uris := slices.Clone(reg.RedirectURIs)
	for _, u := range uris {
		if err := validateRedirectURI(u); err != nil {
			return nil, err
		}
	}
	if err := r.checkScopes(reg.Scopes); err != nil {
		return nil, err
	}
	if !reg.Scopes.Includes(reg.DefaultScopes) {
		return nil, fmt.Errorf("%w: default scopes must be within the client's scopes", ErrInvalidClientConfig)
	}
	return &Client{
		Name:          reg.Name,
		Type:          reg.Type,
		RedirectURIs:  uris,
		GrantTypes:    grants,
		Scopes:        reg.Scopes,
		DefaultScopes: reg.DefaultScopes,
		Owner:         reg.Owner,
		RequireDPoP:   reg.RequireDPoP,
	}, nil
}

// validOwner reports whether owner can be an account ID: printable (as
// names are, see label.Valid) and without white space, since an ID is
// compared byte for byte and a stray space would make another account.
func validOwner(owner string) bool {
	return label.Valid(owner, MaxOwnerLength) && !strings.ContainsFunc(owner, unicode.IsSpace)
}

// checkScopes enforces the scope catalog, or the deprecated
// AllowedScopes, on a registration. The default scopes are within the
// scopes, so checking these covers both.
func (r *ClientManager) checkScopes(s auth.Scopes) error {
	switch {
	case r.catalog != nil:
		if err := r.catalog.Check(s); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidClientConfig, err)
		}
	case r.allowed.Len() > 0 && !r.allowed.Includes(s):
		return fmt.Errorf("%w: %w: not among the allowed scopes", ErrInvalidClientConfig, auth.ErrUnknownScope)
	}
	return nil
}

// RotateSecret issues a new secret for a confidential client and returns
// it (once). The previous secrets keep working for the grace period
// (ClientManagerConfig.SecretGrace), then stop. It fails with [ErrNotFound] for
// an unknown client and [ErrInvalidClientConfig] for a public client.
func (r *ClientManager) RotateSecret(ctx context.Context, clientID string) (string, error) {
	c, err := r.store.Client(ctx, clientID)
	if err != nil {
		return "", err
	}
	if !c.Type.Confidential() {
		return "", fmt.Errorf("%w: a public client has no secret", ErrInvalidClientConfig)
	}
	now := r.now()
	secret := newValue(SecretPrefix)
	if err := r.store.RotateClientSecret(ctx, clientID, ClientSecret{Hash: HashSecret(secret), CreatedAt: now}, now.Add(r.grace)); err != nil {
		return "", err
	}
	return secret, nil
}

// Get returns the registered client with the given ID, or an error
// wrapping [ErrNotFound].
func (r *ClientManager) Get(ctx context.Context, clientID string) (*Client, error) {
	return r.store.Client(ctx, clientID)
}

// List returns every registered client, ordered by ID.
func (r *ClientManager) List(ctx context.Context) ([]*Client, error) {
	return r.store.ListClients(ctx)
}

// Delete removes a client. Tokens already issued to it stay valid until
// they expire or are revoked.
func (r *ClientManager) Delete(ctx context.Context, clientID string) error {
	return r.store.DeleteClient(ctx, clientID)
}

// verifySecret reports whether secret is one of c's active secrets at
// now. Every stored hash is compared, in constant time, so the time taken
// does not tell which one matched or how much of it.
func verifySecret(c *Client, secret string, now time.Time) bool {
	if !validValue(secret, SecretPrefix) {
		return false
	}
	h := HashSecret(secret)
	ok := 0
	for i := range c.Secrets {
		s := &c.Secrets[i]
		match := subtle.ConstantTimeCompare(h[:], s.Hash[:])
		if s.Active(now) {
			ok |= match
		}
	}
	return ok == 1
}
