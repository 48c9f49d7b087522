package portal

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"time"

	"github.com/audexum/auth"
)

// MountPath is where the portal's handler must be mounted: every page and
// form of the portal is under it.
const MountPath = "/portal/"

// Session lifetimes.
const (
	// DefaultIdleTimeout ends a session that made no request for this
	// long.
	DefaultIdleTimeout = 30 * time.Minute
	// DefaultAbsoluteTimeout ends a session this long after sign-in,
	// however active.
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// Config configures a [Portal]. The stores, the scope catalog and
// WithActor are required; every other field has a secure default.
type Config struct {
	// Accounts signs people in and changes their passwords. Required.
	Accounts Accounts

	// SignUp, if set, lets anyone create an account at
	// /portal/signup. If nil (the default), there is no sign-up page:
	// accounts are created by the operator.
	SignUp AccountCreator

	// Sessions keeps the sessions. Required.
	Sessions Sessions

	// Keys manages the API keys. Required.
	Keys Keys

	// Applications manages the OAuth 2.0 clients. Required.
	Applications Applications

	// Usage reports the usage the Monitoring pages show. Required.
	Usage Usage

	// ScopeCatalog is the server's scope catalog, the one its
	// apikey.Manager and oauth.ClientManager get: the forms offer its scopes
	// and accept no other. Required.
	ScopeCatalog *auth.ScopeCatalog

	// WithActor returns ctx naming actor as the one who makes the changes
	// done with it, for the stores' audit trail (sqlstore.WithActor). The
	// portal calls the stores for a signed-in account with
	// WithActor(ctx, "portal:"+username). Required: an application without
	// an audit trail says so with a function that returns ctx.
	WithActor func(ctx context.Context, actor string) context.Context

	// SignInAttempts counts failed sign-ins (and wrong current passwords,
	// and sign-ups refused for a taken username). If nil, a counter with
	// [auth.PasswordAttempts] in memory. Give the portal the counter the
	// server's other sign-in pages use, on a shared Limiter in a fleet, so
	// a guesser's failures count together.
	SignInAttempts *auth.AttemptCounter

	// TrustedProxies lists the reverse proxies in front of the portal,
	// whose X-Forwarded-Proto and X-Forwarded-For are believed as by
	// [auth.RequireHTTPS] and [auth.ClientNetwork]. If empty, only
	// connections the portal terminated TLS for are served, and sign-ins
	// are counted per peer address.
	TrustedProxies []netip.Prefix

	// IdleTimeout ends a session after this long without a request. If
	// zero, [DefaultIdleTimeout] (30 minutes). Sessions record activity
	// once a minute, so a session may end up to a minute early.
	IdleTimeout time.Duration

	// AbsoluteTimeout ends a session this long after sign-in. If zero,
	// [DefaultAbsoluteTimeout] (12 hours). At least IdleTimeout.
	AbsoluteTimeout time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time

	// OnError, if set, receives the errors the portal does not show: a
	// store that failed, a page that did not render. Each went to the
	// person as a constant page.
	OnError func(r *http.Request, err error)
}

// Portal is the Developer Portal, an [http.Handler] to mount at
// [MountPath]. Create one with [New]; it is safe for concurrent use.
type Portal struct {
	accounts  Accounts
	signUp    AccountCreator
	sessions  Sessions
	keys      Keys
	apps      Applications
	usage     Usage
	catalog   *auth.ScopeCatalog
	withActor func(context.Context, string) context.Context
	attempts  *auth.AttemptCounter
	proxies   []netip.Prefix
	idle, abs time.Duration
	now       func() time.Time
	onError   func(*http.Request, error)

	cop      *http.CrossOriginProtection
	handler  http.Handler
	mux      *http.ServeMux
	pages    map[string]*template.Template
	failures map[failKind][]byte
}

// New returns the Portal for cfg. It fails with an error wrapping
// [ErrInvalidConfig] for a missing store, catalog or WithActor, an invalid
// trusted proxy network, or a negative or inconsistent timeout.
func New(cfg Config) (*Portal, error) {
	switch {
	case cfg.Accounts == nil:
		return nil, fmt.Errorf("%w: Accounts is required", ErrInvalidConfig)
	case cfg.Sessions == nil:
		return nil, fmt.Errorf("%w: Sessions is required", ErrInvalidConfig)
	case cfg.Keys == nil:
		return nil, fmt.Errorf("%w: Keys is required", ErrInvalidConfig)
	case cfg.Applications == nil:
		return nil, fmt.Errorf("%w: Applications is required", ErrInvalidConfig)
	case cfg.Usage == nil:
		return nil, fmt.Errorf("%w: Usage is required", ErrInvalidConfig)
	case cfg.ScopeCatalog == nil:
		return nil, fmt.Errorf("%w: ScopeCatalog is required", ErrInvalidConfig)
	case cfg.WithActor == nil:
		return nil, fmt.Errorf("%w: WithActor is required (the stores' audit trail names who acted)", ErrInvalidConfig)
	case cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < 0:
		return nil, fmt.Errorf("%w: negative session timeout", ErrInvalidConfig)
	}
	p := &Portal{
		accounts:  cfg.Accounts,
		signUp:    cfg.SignUp,
		sessions:  cfg.Sessions,
		keys:      cfg.Keys,
		apps:      cfg.Applications,
		usage:     cfg.Usage,
		catalog:   cfg.ScopeCatalog,
		withActor: cfg.WithActor,
		attempts:  cfg.SignInAttempts,
		idle:      cfg.IdleTimeout,
		abs:       cfg.AbsoluteTimeout,
		now:       cfg.Now,
		onError:   cfg.OnError,
	}
	for i, n := range cfg.TrustedProxies {
		if !n.IsValid() {
			return nil, fmt.Errorf("%w: TrustedProxies[%d] is not a valid network", ErrInvalidConfig, i)
		}
		p.proxies = append(p.proxies, n.Masked())
	}
	if p.idle == 0 {
		p.idle = DefaultIdleTimeout
	}
	if p.abs == 0 {
		p.abs = DefaultAbsoluteTimeout
	}
	if p.abs < p.idle {
		return nil, fmt.Errorf("%w: AbsoluteTimeout %v is shorter than IdleTimeout %v", ErrInvalidConfig, p.abs, p.idle)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.attempts == nil {
		c, err := auth.NewAttemptCounter(auth.PasswordAttempts(nil))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		p.attempts = c
	}
	if err := p.parseTemplates(); err != nil {
		return nil, err
	}
	p.cop = http.NewCrossOriginProtection()
	p.mux = p.routes()
	p.handler = auth.RequireHTTPS(auth.HTTPSConfig{TrustedProxies: p.proxies})(http.HandlerFunc(p.serve))
	return p, nil
}

// ServeHTTP serves the portal's pages. Every response carries the page
// headers (see the package documentation); plain HTTP is refused as
// [auth.RequireHTTPS] refuses it, and an unsafe request from another
// origin with 403.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w.Header())
	p.handler.ServeHTTP(w, r)
}

// serve checks the request's origin and routes it.
func (p *Portal) serve(w http.ResponseWriter, r *http.Request) {
	// CSRF: browsers say where an unsafe request comes from
	// (Sec-Fetch-Site, Origin); one from another site is refused before
	// anything reads its form or its session. SameSite=Lax on the cookie
	// is the second line.
	if err := p.cop.Check(r); err != nil {
		p.fail(w, r, failCrossOrigin, nil)
		return
	}
	p.mux.ServeHTTP(w, r)
}

// routes returns the portal's routes. Any other method or path, under
// MountPath or not, gets the constant 404 page.
func (p *Portal) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { p.fail(w, r, failNotFound, nil) })
	mux.HandleFunc("GET /portal/{$}", p.home)
	mux.HandleFunc("GET /portal/signin", p.signInPage)
	mux.HandleFunc("POST /portal/signin", p.signIn)
	if p.signUp != nil {
		mux.HandleFunc("GET /portal/signup", p.signUpPage)
		mux.HandleFunc("POST /portal/signup", p.signUpPost)
	}
	mux.Handle("POST /portal/signout", p.signedIn(p.signOut))
	mux.Handle("POST /portal/signout-everywhere", p.signedIn(p.signOutEverywhere))

	mux.Handle("GET /portal/keys", p.signedIn(p.keyList))
	mux.Handle("POST /portal/keys", p.signedIn(p.keyCreate))
	mux.Handle("GET /portal/keys/new", p.signedIn(p.keyNew))
	mux.Handle("GET /portal/keys/{id}", p.signedIn(p.keyDetail))
	mux.Handle("GET /portal/keys/{id}/rotate", p.signedIn(p.keyRotatePage))
	mux.Handle("POST /portal/keys/{id}/rotate", p.signedIn(p.keyRotate))
	mux.Handle("GET /portal/keys/{id}/revoke", p.signedIn(p.keyRevokePage))
	mux.Handle("POST /portal/keys/{id}/revoke", p.signedIn(p.keyRevoke))

	mux.Handle("GET /portal/apps", p.signedIn(p.appList))
	mux.Handle("POST /portal/apps", p.signedIn(p.appRegister))
	mux.Handle("GET /portal/apps/new", p.signedIn(p.appNew))
	mux.Handle("GET /portal/apps/{id}", p.signedIn(p.appDetail))
	mux.Handle("GET /portal/apps/{id}/rotate", p.signedIn(p.appRotatePage))
	mux.Handle("POST /portal/apps/{id}/rotate", p.signedIn(p.appRotate))
	mux.Handle("GET /portal/apps/{id}/delete", p.signedIn(p.appDeletePage))
	mux.Handle("POST /portal/apps/{id}/delete", p.signedIn(p.appDelete))

	mux.Handle("GET /portal/monitoring", p.signedIn(p.monitoring))
	mux.Handle("GET /portal/monitoring/keys/{id}", p.signedIn(p.monitorKey))
	mux.Handle("GET /portal/monitoring/apps/{id}", p.signedIn(p.monitorApp))

	mux.Handle("GET /portal/account", p.signedIn(p.account))
	mux.Handle("POST /portal/account/password", p.signedIn(p.changePassword))
	return mux
}

// report passes err to OnError.
func (p *Portal) report(r *http.Request, err error) {
	if p.onError != nil && err != nil {
		p.onError(r, err)
	}
}
