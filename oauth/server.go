package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
)

// The paths [Server.Handler] serves, relative to where it is mounted.
const (
	TokenPath               = "/oauth/token"
	AuthorizePath           = "/oauth/authorize"
	RevocationPath          = "/oauth/revoke"
	IntrospectionPath       = "/oauth/introspect"
	MetadataPath            = "/.well-known/oauth-authorization-server"
	OpenIDConfigurationPath = "/.well-known/openid-configuration"
	JWKSPath                = "/.well-known/jwks.json"
)

// Server is an OAuth 2.0 authorization server (see [Server.Handler]).
// Create one with [NewServer]; it is safe for concurrent use.
type Server struct {
	issuer   string
	signer   Signer
	jwks     http.Handler
	verifier auth.Verifier
	clients  ClientStore
	grants   GrantStore
	registry *ClientManager
	// scopes are the catalog's names (or the deprecated Config.Scopes):
	// when not empty, no scope outside them is authorized or issued.
	scopes   auth.Scopes
	audience []string

	accessTTL   time.Duration
	codeTTL     time.Duration
	refreshTTL  time.Duration
	refreshIdle time.Duration
	grace       time.Duration

	dpop      *dpop.Checker
	attempts  *auth.AttemptCounter
	proxies   []netip.Prefix
	challenge []string // WWW-Authenticate: Basic realm="…"
	consent   func(http.ResponseWriter, *http.Request, *AuthorizeRequest)
	now       func() time.Time
	onEvent   func(Event)

	metadata []byte
}

// NewServer returns a Server for cfg. It fails with an error wrapping
// [ErrInvalidConfig] when a required field is missing, the issuer is not
// an https URL without query or fragment, a duration is negative or out of
// range, the realm cannot be put in a header, or both ScopeCatalog and the
// deprecated Scopes are set.
func NewServer(cfg Config) (*Server, error) {
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	switch {
	case cfg.Signer == nil:
		return nil, fmt.Errorf("%w: a Signer is required", ErrInvalidConfig)
	case cfg.Clients == nil:
		return nil, fmt.Errorf("%w: a ClientStore is required", ErrInvalidConfig)
	case cfg.Grants == nil:
		return nil, fmt.Errorf("%w: a GrantStore is required", ErrInvalidConfig)
	case len(cfg.Audience) == 0:
		return nil, fmt.Errorf("%w: at least one Audience is required", ErrInvalidConfig)
	}
	for _, a := range cfg.Audience {
		if a == "" {
			return nil, fmt.Errorf("%w: empty Audience", ErrInvalidConfig)
		}
	}
	for _, d := range []time.Duration{cfg.AccessTokenTTL, cfg.CodeTTL, cfg.RefreshTokenTTL, cfg.RefreshIdleTimeout, cfg.RefreshGrace, cfg.SecretGrace, cfg.AuthFailureWindow} {
		if d < 0 {
			return nil, fmt.Errorf("%w: negative duration", ErrInvalidConfig)
		}
	}
	if cfg.MaxAuthFailures < 0 || cfg.MaxNetworkAuthFailures < 0 {
		return nil, fmt.Errorf("%w: negative MaxAuthFailures or MaxNetworkAuthFailures", ErrInvalidConfig)
	}
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: TrustedProxies[%d] is not a valid prefix", ErrInvalidConfig, i)
		}
	}
	scopes := cfg.Scopes
	if cfg.ScopeCatalog != nil {
		if scopes.Len() > 0 {
			return nil, fmt.Errorf("%w: set ScopeCatalog or the deprecated Scopes, not both", ErrInvalidConfig)
		}
		scopes = cfg.ScopeCatalog.Scopes()
	}
	if cfg.CodeTTL > MaxCodeTTL {
		return nil, fmt.Errorf("%w: CodeTTL above %v", ErrInvalidConfig, MaxCodeTTL)
	}
	realm := orDefault(cfg.Realm, DefaultRealm)
	if !printableASCII(strings.ReplaceAll(realm, " ", "x")) || strings.ContainsAny(realm, `"\`) {
		return nil, fmt.Errorf("%w: Realm must be printable ASCII without quotes or backslashes", ErrInvalidConfig)
	}
	s := &Server{
		issuer:      cfg.Issuer,
		signer:      cfg.Signer,
		jwks:        cfg.JWKS,
		verifier:    cfg.AccessTokenVerifier,
		clients:     cfg.Clients,
		grants:      cfg.Grants,
		scopes:      scopes,
		audience:    append([]string(nil), cfg.Audience...),
		accessTTL:   orDefault(cfg.AccessTokenTTL, DefaultAccessTokenTTL),
		codeTTL:     orDefault(cfg.CodeTTL, DefaultCodeTTL),
		refreshTTL:  orDefault(cfg.RefreshTokenTTL, DefaultRefreshTokenTTL),
		refreshIdle: orDefault(cfg.RefreshIdleTimeout, DefaultRefreshIdleTimeout),
		grace:       orDefault(cfg.RefreshGrace, DefaultRefreshGrace),
		challenge:   []string{`Basic realm="` + realm + `"`},
		consent:     cfg.Consent,
		dpop:        cfg.DPoP,
		now:         cfg.Now,
		onEvent:     cfg.OnEvent,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.proxies = append([]netip.Prefix(nil), cfg.TrustedProxies...)
	window := orDefault(cfg.AuthFailureWindow, DefaultAuthFailureWindow)
	attempts, err := auth.NewAttemptCounter(auth.AttemptCounterConfig{
		Name:               "oauth-client",
		PerNetwork:         auth.AttemptLimit{Max: orDefault(cfg.MaxNetworkAuthFailures, DefaultMaxNetworkAuthFailures), Window: window},
		PerIdentityNetwork: auth.AttemptLimit{Max: orDefault(cfg.MaxAuthFailures, DefaultMaxAuthFailures), Window: window},
		Limiter:            cfg.AuthFailureLimiter,
		Now:                s.now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s.attempts = attempts
	reg, err := NewClientManager(ClientManagerConfig{Clients: cfg.Clients, ScopeCatalog: cfg.ScopeCatalog, AllowedScopes: cfg.Scopes, SecretGrace: cfg.SecretGrace, Now: s.now})
	if err != nil {
		return nil, err
	}
	s.registry = reg
	s.metadata = s.buildMetadata()
	return s, nil
}

// errOutsideCatalog is the reason given to OnEvent when a request needs a
// scope outside the catalog. It does not name the scope: scopes in
// requests are the caller's input.
var errOutsideCatalog = fmt.Errorf("%w: %w", ErrInvalidScope, auth.ErrUnknownScope)

// inCatalog reports whether every scope of sc is in the server's scope
// catalog, or the server has none.
func (s *Server) inCatalog(sc auth.Scopes) bool {
	return s.scopes.Len() == 0 || s.scopes.Includes(sc)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// checkIssuer enforces RFC 8414 §2: "a URL that uses the "https" scheme and
// has no query or fragment components".
func checkIssuer(iss string) error {
	if iss == "" {
		return fmt.Errorf("%w: Issuer is required", ErrInvalidConfig)
	}
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.ContainsAny(iss, "#?") || !printableASCII(iss) {
		return fmt.Errorf("%w: Issuer must be an https URL without query or fragment", ErrInvalidConfig)
	}
	return nil
}

// ClientManager returns the client manager, to register clients and rotate
// their secrets.
func (s *Server) ClientManager() *ClientManager { return s.registry }

// Issuer returns the issuer identifier.
func (s *Server) Issuer() string { return s.issuer }

// endpoint returns the absolute URL of path under the issuer.
func (s *Server) endpoint(path string) string { return strings.TrimSuffix(s.issuer, "/") + path }

// Handler returns a handler serving every endpoint at its path:
//
//	POST     /oauth/token                             [Server.TokenHandler]
//	GET|POST /oauth/authorize                         [Server.AuthorizeHandler]
//	POST     /oauth/revoke                            [Server.RevocationHandler]
//	POST     /oauth/introspect                        [Server.IntrospectionHandler]
//	GET      /.well-known/oauth-authorization-server  [Server.MetadataHandler]
//	GET      /.well-known/openid-configuration        the same document
//	GET      /.well-known/jwks.json                   Config.JWKS, if set
//
// Other methods get 405. The paths are relative to the issuer: when the
// issuer has a path, mount the handler under it with [http.StripPrefix].
// Serve it over HTTPS only (see [auth.RequireHTTPS]).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(TokenPath, s.TokenHandler())
	mux.Handle(AuthorizePath, s.AuthorizeHandler())
	mux.Handle(RevocationPath, s.RevocationHandler())
	mux.Handle(IntrospectionPath, s.IntrospectionHandler())
	mux.Handle(MetadataPath, s.MetadataHandler())
	mux.Handle(OpenIDConfigurationPath, s.MetadataHandler())
	if s.jwks != nil {
		mux.Handle(JWKSPath, onlyGet(s.jwks))
	}
	return mux
}

// IsRevoked reports whether the access token with ID jti was revoked,
// directly or with its grant. Give it to the resource servers' verifier as
// jwt.Config.Revoked. A store failure is an error, which the verifier
// turns into 503, never into "not revoked".
func (s *Server) IsRevoked(ctx context.Context, jti string) (bool, error) {
	return s.grants.IsRevoked(ctx, jti)
}
