package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/sqlstore"
)

// Server limits. Timeouts bound slow clients; header and body caps bound
// what one request can make the server hold.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	maxOAuthBody      = 64 << 10
	shutdownTimeout   = 10 * time.Second
)

// apiAudience is the "aud" of access tokens for the sample API, relative
// to the issuer.
const apiAudiencePath = "/v1"

func (c *cli) serve(ctx context.Context, args []string) error {
	f, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(c.stderr, nil))
	cert, err := loadCertificate(f)
	if err != nil {
		return err
	}
	sys, err := openServeSystem(ctx, f.common, f.signing)
	if err != nil {
		return err
	}
	defer sys.Close()
	logKeyEncryption(logger, sys)
	l, err := listen(f)
	if err != nil {
		return err
	}
	defer l.close()
	issuer := cmp.Or(f.issuer, "https://"+l.apiAddr)
	if err := claimIssuer(ctx, sys, issuer); err != nil {
		return err
	}
	m := newMetrics()
	app, err := newApp(ctx, sys, issuer, logger, m)
	if err != nil {
		return err
	}
	defer app.close()
	if app.portal, err = newPortal(app, f.allowSignUp); err != nil {
		return err
	}
	l.apiServer = newAPIServer(app.handler(), cert, logger)
	if l.metrics != nil {
		l.metricsServer = newMetricsServer(m.handler())
	}
	return c.runServers(ctx, logger, l, issuer, sys.store.Dialect().String())
}

// serveFlags are the flags of serve.
type serveFlags struct {
	*command
	signing                                      signingFlags
	addr, issuer, certFile, keyFile, metricsAddr string
	allowSignUp                                  bool
}

// parseServeFlags parses serve's arguments and checks the flags that
// depend on each other.
func parseServeFlags(args []string) (serveFlags, error) {
	f := serveFlags{command: newCommand("serve")}
	fs := f.fs
	f.signing.register(fs)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8443", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&f.issuer, "issuer", "", "issuer URL of the authorization server (default https://HOST:PORT as served)")
	fs.StringVar(&f.certFile, "tls-cert", "", "TLS certificate file (default: a self-signed certificate in the data dir)")
	fs.StringVar(&f.keyFile, "tls-key", "", "TLS private key file")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics over plain HTTP on HOST:PORT (default off; port 0 picks a free port)")
	fs.BoolVar(&f.allowSignUp, "allow-signup", false, "let anyone create an account at /portal/signup (default off: accounts come from user add)")
	if err := f.parse(args); err != nil {
		return f, err
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return f, f.usagef("--tls-cert and --tls-key go together")
	}
	if f.issuer != "" {
		if u, err := url.Parse(f.issuer); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return f, f.usagef("--issuer must be an https URL without query or fragment")
		}
	} else if f.postgres() {
		// Instances on one database share keys, clients and grants: the
		// issuer each derived from its own address would differ, and
		// each would refuse the others' tokens.
		return f, f.usagef("--issuer is required with a PostgreSQL database: every instance must put the same issuer in its tokens (for example --issuer https://auth.example.com)")
	}
	return f, nil
}

// loadCertificate loads the TLS certificate of --tls-cert and --tls-key,
// or without them the self-signed one of the data directory, which it
// makes on first use.
func loadCertificate(f serveFlags) (tls.Certificate, error) {
	certFile, keyFile := f.certFile, f.keyFile
	if certFile == "" {
		if err := privateDir(f.dataDir); err != nil {
			return tls.Certificate{}, err
		}
		var err error
		if certFile, keyFile, err = ensureSelfSigned(f.dataDir, time.Now()); err != nil {
			return tls.Certificate{}, fmt.Errorf("TLS certificate: %w", err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS certificate: %w", err)
	}
	return cert, nil
}

// logKeyEncryption tells the operator at startup how the signing keys
// are kept: in clear (a warning), or under a key-encryption key this
// start created (to back up).
func logKeyEncryption(logger *slog.Logger, sys *system) {
	switch {
	case !sys.signing.Encrypted():
		logger.Warn("signing keys are stored in clear (--insecure-plaintext-signing-keys): anyone who can read the database or a backup of it can mint tokens; set " + envKEK + " to encrypt them")
	case sys.kek.created:
		logger.Info("created the key-encryption key of the signing keys: back it up, apart from the database", "file", sys.kek.file)
	}
}

// claimIssuer records issuer as the one of a PostgreSQL database, or
// refuses an issuer other than the one recorded: instances sharing a
// database must sign with the same one. On SQLite, one process, it does
// nothing.
func claimIssuer(ctx context.Context, sys *system, issuer string) error {
	if !sys.pg {
		return nil
	}
	err := sys.store.ClaimIssuer(ctx, issuer)
	if errors.Is(err, sqlstore.ErrIssuerMismatch) {
		return fmt.Errorf("--issuer %s: another issuer serves this database (every instance must use the one it was first started with): %w", issuer, err)
	}
	return err
}

// endpoints are where serve serves: the listeners and the servers on
// them, the API over TLS, and the metrics over plain HTTP when
// --metrics-addr is given (metrics and metricsServer nil otherwise).
type endpoints struct {
	api, metrics             net.Listener
	apiAddr, metricsAddr     string // HOST:PORT to announce (servedHostPort)
	apiServer, metricsServer *http.Server
}

// listen opens the listeners of f's --addr and --metrics-addr; the
// caller sets the servers.
func listen(f serveFlags) (*endpoints, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, err
	}
	l := &endpoints{api: ln, apiAddr: servedHostPort(f.addr, ln.Addr())}
	if f.metricsAddr != "" {
		if l.metrics, err = net.Listen("tcp", f.metricsAddr); err != nil {
			ln.Close()
			return nil, fmt.Errorf("metrics: %w", err)
		}
		l.metricsAddr = servedHostPort(f.metricsAddr, l.metrics.Addr())
	}
	return l, nil
}

func (l *endpoints) close() {
	if l.metrics != nil {
		l.metrics.Close()
	}
	l.api.Close()
}

// newAPIServer returns the HTTPS server of handler h, with the server
// limits and TLS 1.2 or later.
func newAPIServer(h http.Handler, cert tls.Certificate, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
		},
	}
}

// newMetricsServer returns the plain-HTTP server of the metrics handler h.
func newMetricsServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout}
}

// runServers serves on l until ctx ends or the API server fails, then
// shuts both servers down, waiting up to shutdownTimeout for the
// requests in flight. It prints where it listens to stdout.
func (c *cli) runServers(ctx context.Context, logger *slog.Logger, l *endpoints, issuer, database string) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- l.apiServer.ServeTLS(l.api, "", "") }()
	fmt.Fprintf(c.stdout, "listening on https://%s\n", l.apiAddr)
	if l.metrics != nil {
		go l.metricsServer.Serve(l.metrics)
		fmt.Fprintf(c.stdout, "metrics on http://%s\n", l.metricsAddr)
	}
	logger.Info("serving", "addr", l.apiAddr, "issuer", issuer, "database", database)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := l.apiServer.Shutdown(sctx); err != nil {
		logger.Warn("shutdown", "err", err)
	}
	if l.metricsServer != nil {
		l.metricsServer.Shutdown(sctx)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servedHostPort is the HOST:PORT clients should use: the host as given
// (so "localhost" stays a name), the port as bound (so port 0 shows the
// one picked).
func servedHostPort(flagAddr string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(flagAddr)
	_, port, _ := net.SplitHostPort(bound.String())
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// app is the running server: verifiers, the OAuth server and handlers.
type app struct {
	sys       *system
	logger    *slog.Logger
	keySet    *jwt.KeyManager
	oauth     *oauth.Server
	keyV      *apikey.Verifier
	tokenV    *jwt.Verifier
	gate      *oauth.ClientGate
	authn     *auth.Authenticator
	metrics   *metrics
	signIns   *auth.AttemptCounter
	accounts  *oauth.AccountResolver
	failures  *sqlstore.FailureRecorder
	requests  *sqlstore.RequestRecorder
	stopWatch context.CancelFunc
	watchDone chan struct{}
	// portal is the Developer Portal, mounted at portal.MountPath when
	// set (serve sets it; see newPortal).
	portal *portal.Portal
}

// newApp builds the server on sys: the verifiers of tokens and API keys,
// the OAuth server, the authenticator of the API, and the background work
// that records authentications and follows the change log.
func newApp(ctx context.Context, sys *system, issuer string, logger *slog.Logger, m *metrics) (*app, error) {
	a := &app{sys: sys, logger: logger, metrics: m}
	limiter := sharedLimiter(sys)
	audience := strings.TrimSuffix(issuer, "/") + apiAudiencePath
	var err error
	if a.signIns, err = auth.NewAttemptCounter(auth.PasswordAttempts(limiter)); err != nil {
		return nil, err
	}
	if a.keySet, err = jwt.NewKeyManager(jwt.KeyManagerConfig{Store: sys.signing}); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	grants, err := newRevocationCache(sys)
	if err != nil {
		return nil, err
	}
	if err := a.buildTokenChecks(issuer, audience, grants); err != nil {
		return nil, err
	}
	proofs, err := newDPoPChecker(sys)
	if err != nil {
		return nil, err
	}
	if a.oauth, err = a.newOAuthServer(issuer, audience, grants, limiter, proofs); err != nil {
		return nil, err
	}
	if a.keyV, err = a.newAPIKeyVerifier(); err != nil {
		return nil, err
	}
	if a.authn, err = a.newAuthenticator(limiter, proofs); err != nil {
		return nil, err
	}
	// Started last, so no error return leaves it running.
	if err := a.startBackground(); err != nil {
		return nil, err
	}
	return a, nil
}

// sharedLimiter is the limiter of every attempt counter: nil (in memory)
// on SQLite, the database's on PostgreSQL.
//
// On PostgreSQL, several instances may serve one database: they share
// the failure counts of every attempt counter through it, so a caller
// spreading attempts over the instances is limited as one. On SQLite
// the server is a single process, and a database write per failed
// attempt would queue on SQLite's one writer (with an fsync each), so
// a flood of failures would slow key management and last-used
// updates: the in-memory limiter (nil) serves it better. The shared
// counts are read through a one-second cache, so a request that fails
// nothing costs no database round trip.
func sharedLimiter(sys *system) auth.Limiter {
	if !sys.pg {
		return nil
	}
	return auth.NewCachedLimiter(sys.store.Limits(), time.Second, 0)
}

// newRevocationCache returns the revocation checks of access tokens and
// grants. Tokens revoked at /oauth/revoke (or by a replayed code or
// refresh token) are refused by the API at once: the verifier asks on
// every request, through this cache, which every revocation made here
// invalidates, and whose "not revoked" answers live at most a second
// (the delay for revocations made by other instances).
func newRevocationCache(sys *system) (*oauth.RevocationCache, error) {
	return oauth.NewRevocationCache(oauth.RevocationCacheConfig{Grants: sys.grants, MaxAge: time.Second, Size: 100_000})
}

// buildTokenChecks sets what checks an access token at the API: its
// verifier (a.tokenV), the gate that refuses the tokens of deleted
// clients (a.gate), and the resolver of the account a credential acts
// for (a.accounts).
func (a *app) buildTokenChecks(issuer, audience string, grants *oauth.RevocationCache) error {
	var err error
	a.tokenV, err = jwt.NewVerifier(jwt.Config{
		Issuer:     issuer,
		Audiences:  []string{audience},
		Algorithms: []string{jwt.ES256, jwt.RS256, jwt.EdDSA},
		KeyManager: a.keySet,
		Revoked:    grants.IsRevoked,
		// A token seen before is served from the cache until it expires
		// (a map lookup instead of an ECDSA verification: 80 µs to 4 µs
		// a request in bench/); the revocation hook still runs on every
		// hit, and only tokens that passed every check are cached.
		CacheSize: 10_000,
	})
	if err != nil {
		return err
	}
	// Tokens of a deleted client are refused; the gate hears of client
	// changes through the change log (Follow, in startBackground).
	if a.gate, err = oauth.NewClientGate(oauth.ClientGateConfig{Verifier: a.tokenV, Clients: a.sys.clients}); err != nil {
		return err
	}
	// Which account a credential acts for, at /v1/user/profile: the
	// user who consented, or the owner of the key or client.
	a.accounts, err = oauth.NewAccountResolver(oauth.AccountResolverConfig{Clients: a.sys.clients, IsAccount: a.sys.store.Users().IsAccount})
	return err
}

// newDPoPChecker returns the DPoP (RFC 9449) checker of the token
// endpoint and the API: one for both, so a proof is accepted once in all.
// On PostgreSQL the instances remember proofs in the database, or a
// request replayed to another instance would pass there; on SQLite, one
// process, in memory.
func newDPoPChecker(sys *system) (*dpop.Checker, error) {
	cfg := dpop.Config{}
	if sys.pg {
		cfg.Replay = sys.store.DPoPReplays()
	}
	return dpop.NewChecker(cfg)
}

// newOAuthServer returns the authorization server: the token, revocation
// and introspection endpoints and the metadata, with its events counted
// and logged.
func (a *app) newOAuthServer(issuer, audience string, grants *oauth.RevocationCache, limiter auth.Limiter, proofs *dpop.Checker) (*oauth.Server, error) {
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: a.keySet})
	if err != nil {
		return nil, err
	}
	return oauth.NewServer(oauth.Config{
		Issuer:              issuer,
		Signer:              signer,
		JWKS:                a.keySet.JWKSHandler(),
		AccessTokenVerifier: a.gate,
		Clients:             a.sys.clients,
		Grants:              grants,
		Audience:            []string{audience},
		ScopeCatalog:        scopeCatalog,
		AuthFailureLimiter:  limiter,
		DPoP:                proofs,
		OnEvent: func(e oauth.Event) {
			a.metrics.oauthEvent(e)
			a.logger.Info("oauth", "event", string(e.Kind), "client_id", e.ClientID, "grant_type", e.GrantType, "err", errString(e.Err))
		},
	})
}

// newAPIKeyVerifier returns the verifier of API keys. The Manager the
// portal revokes and rotates keys with tells it at once; changes by other
// processes come through Follow.
func (a *app) newAPIKeyVerifier() (*apikey.Verifier, error) {
	return apikey.NewVerifier(apikey.Config{
		Manager: a.sys.keys,
		OnError: func(err error) {
			a.metrics.storeErrors.WithLabelValues("api_key_last_used").Inc()
			a.logger.Error("api key last-used flush", "err", err)
		},
	})
}

// newAuthenticator returns the authenticator of the API, over the API key
// and token verifiers, counting, recording and logging every outcome.
func (a *app) newAuthenticator(limiter auth.Limiter, proofs *dpop.Checker) (*auth.Authenticator, error) {
	logFailure := auth.LogFailures(a.logger)
	throttle, err := auth.NewThrottle(auth.ThrottleConfig{Limiter: limiter})
	if err != nil {
		return nil, err
	}
	return auth.New(auth.Config{
		Verifiers: []auth.Verifier{a.keyV, a.gate},
		DPoP:      proofs,
		Throttle:  throttle,
		OnSuccess: func(e auth.Event) {
			a.metrics.authSuccess(e)
			a.requests.Record(sqlstore.UsageID(e.Principal))
		},
		OnFailure: func(e auth.Event) {
			a.metrics.authFailure(e)
			keyID, reason := failureRow(e)
			a.failures.RecordFrom(keyID, reason, clientNetwork(e.Request))
			logFailure(e)
		},
	})
}

// startBackground starts the work that outlives requests: the recorders
// of authentications, and following the change log. app.close stops it.
func (a *app) startBackground() error {
	// Changes made by other processes (the CLI, other instances) evict
	// this process's caches: LISTEN/NOTIFY on PostgreSQL, polling the
	// change log on SQLite.
	a.sys.onStoreError = func(err error) {
		a.metrics.storeErrors.WithLabelValues("change_log").Inc()
		a.logger.Error("change log", "err", err)
	}
	if err := a.startRecorders(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	a.stopWatch, a.watchDone = cancel, make(chan struct{})
	go func() {
		defer close(a.watchDone)
		a.sys.store.Follow(wctx, sqlstore.Followers{APIKeys: a.keyV, Clients: a.gate, SigningKeys: a.keySet, OnChange: a.onChange})
	}()
	return nil
}

// startRecorders starts the recorders of authentications. Failed ones
// are counted per minute in memory and written to the audit trail every
// 10 s and at shutdown (app.close): the request path never waits for the
// database. Successful ones likewise, per credential and hour, for the
// monitoring a portal shows.
func (a *app) startRecorders() error {
	var err error
	a.failures, err = a.sys.store.NewFailureRecorder(sqlstore.FailureRecorderConfig{
		OnError: func(err error) {
			a.metrics.storeErrors.WithLabelValues("audit").Inc()
			a.logger.Error("audit failure counts", "err", err)
		},
	})
	if err != nil {
		return err
	}
	a.requests, err = a.sys.store.NewRequestRecorder(sqlstore.RequestRecorderConfig{
		OnError: func(err error) {
			a.metrics.storeErrors.WithLabelValues("request_counts").Inc()
			a.logger.Error("request counts", "err", err)
		},
	})
	if err != nil {
		a.failures.Close()
		return err
	}
	return nil
}

// onChange counts and logs what Follow applied: reloads of the signing
// keys, and their failures (Follow retries them).
func (a *app) onChange(ch sqlstore.Change, err error) {
	if ch.Kind != sqlstore.KindSigningKey && ch.Kind != sqlstore.KindAll {
		return
	}
	if err != nil {
		a.metrics.keyReloads.WithLabelValues("error").Inc()
		a.logger.Error("reload signing keys", "err", err)
		return
	}
	a.metrics.keyReloads.WithLabelValues("ok").Inc()
}

func (a *app) close() {
	a.stopWatch()
	<-a.watchDone
	// Flushes the pending last-used updates.
	if err := a.keyV.Close(); err != nil {
		a.logger.Error("close api key verifier", "err", err)
	}
	a.tokenV.Close()
	// Writes the failure and request counts of the last seconds.
	if err := a.failures.Close(); err != nil {
		a.logger.Error("audit failure counts", "err", err)
	}
	if err := a.requests.Close(); err != nil {
		a.logger.Error("request counts", "err", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// handler is the whole HTTP surface.
func (a *app) handler() http.Handler {
	api := http.NewServeMux()
	apiRoutes(api, a.sys.users, a.accounts.Account)
	protected := auth.RequireHTTPS(auth.HTTPSConfig{})(a.authn.Handler(api))

	mux := http.NewServeMux()
	mux.Handle("/v1/", protected)
	mux.Handle("GET /healthz", http.HandlerFunc(a.healthz))
	limit := func(h http.Handler) http.Handler { return http.MaxBytesHandler(h, maxOAuthBody) }
	mux.Handle("/oauth/token", limit(a.oauth.TokenHandler()))
	mux.Handle("/oauth/revoke", limit(a.oauth.RevocationHandler()))
	mux.Handle("/oauth/introspect", limit(a.oauth.IntrospectionHandler()))
	mux.Handle("/oauth/authorize", limit(a.consentHandler()))
	mux.Handle("/.well-known/", a.oauth.Handler())
	if a.portal != nil {
		mux.Handle(portal.MountPath, a.portal)
	}
	return a.logRequests(mux)
}

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, body := http.StatusOK, `{"status":"ok"}`
	if err := a.sys.db.PingContext(ctx); err != nil || a.keySet.ActiveKeyID() == "" || !a.authn.Ready() {
		status, body = http.StatusServiceUnavailable, `{"status":"unavailable"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, body)
}

// statusRecorder remembers the status a handler wrote, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs one JSON line per request: never the query string
// (which may carry a leaked credential) nor any header.
func (a *app) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		// The mux records the pattern it matched on the request itself.
		a.metrics.observe(r.Pattern, rec.status, elapsed)
		a.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.String("remote_addr", r.RemoteAddr),
			slog.String("proto", r.Proto),
			slog.Duration("elapsed", elapsed),
		)
	})
}
