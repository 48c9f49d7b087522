package jwt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
)

// Fetching is done here rather than by jwkset's HTTP storage, whose
// refresh on an unknown "kid" runs on the caller's context behind a
// rate.Limiter.Wait: callers arriving while that fetch runs fail at once
// instead of waiting for it, a caller that hangs up cancels the fetch after
// spending the rate budget, the body is read without a size cap, and a
// failed fetch cannot be told from an unknown key, so "nothing ever loaded"
// (503) and "no such key" (401) look the same. Here one fetch runs at a
// time on its own context, every request with an unknown "kid" waits for
// it at most RefreshWait, at most one such fetch starts per
// RefreshRateLimit, and a source records whether it ever loaded.

// refresher is the Verifier's JWKS refresh state.
type refresher struct {
	client         *http.Client
	fetchTimeout   time.Duration
	interval       time.Duration
	rateLimit      time.Duration
	wait           time.Duration
	onRefreshError func(url string, err error)

	mu         sync.Mutex
	running    *refreshRun // nil when no fetch runs
	onDemand   bool        // a fetch for an unknown kid has happened
	onDemandAt time.Time   // when

	loaded    atomic.Int32 // sources with keys loaded
	ready     chan struct{}
	readyOnce sync.Once

	bg     context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

func (v *Verifier) addRemotes(cfg Config) error {
	r := &v.refresher
	r.fetchTimeout = orDefault(cfg.FetchTimeout, DefaultFetchTimeout)
	r.interval = orDefault(cfg.RefreshInterval, DefaultRefreshInterval)
	r.rateLimit = orDefault(cfg.RefreshRateLimit, DefaultRefreshRateLimit)
	r.wait = orDefault(cfg.RefreshWait, DefaultRefreshWait)
	if cfg.FetchTimeout < 0 || cfg.RefreshInterval < 0 || cfg.RefreshRateLimit < 0 || cfg.RefreshWait < 0 {
		return configError("negative duration")
	}
	r.onRefreshError = cfg.OnRefreshError
	r.client = cfg.HTTPClient
	if r.client == nil {
		r.client = &http.Client{Timeout: r.fetchTimeout}
	}
	for _, u := range cfg.JWKSURLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || !(p.Scheme == "https" || p.Scheme == "http" && isLoopback(p.Hostname())) {
			return configError("JWKS URL %q is not an absolute https URL (http only for loopback hosts)", u)
		}
		src := &keySource{store: jwkset.NewMemoryStorage(), url: u}
		v.remotes = append(v.remotes, src)
		v.sources = append(v.sources, src)
	}
	return nil
}

// isLoopback reports whether host names this machine: keys fetched over
// plain HTTP can be replaced by anyone on the path, except on loopback (a
// sidecar, a test server).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// start marks the loaded sources and launches the background refresh.
func (v *Verifier) start() {
	v.ready = make(chan struct{})
	for _, s := range v.sources {
		if s.loaded {
			v.loaded.Add(1)
		}
	}
	v.checkReady(len(v.sources))
	v.bg, v.stop = context.WithCancel(context.Background())
	if len(v.remotes) > 0 {
		v.wg.Add(1)
		go v.poll(v.interval, v.remotesLoaded, func() {
			v.mu.Lock()
			run := v.startLocked(false, "")
			v.mu.Unlock()
			select {
			case <-run.done:
			case <-v.bg.Done():
			}
		})
	}
	if v.keyfunc != nil {
		v.wg.Add(1)
		go v.poll(min(v.interval, keyfuncReadInterval), v.keyfunc.isLoaded, func() {
			v.readKeyfunc(false, "")
		})
	}
}

// refreshable reports whether some key source can change: remote JWKS or
// Config.Keyfunc.
func (v *Verifier) refreshable() bool { return len(v.remotes) > 0 || v.keyfunc != nil }

func (v *Verifier) checkReady(total int) {
	if int(v.loaded.Load()) == total {
		v.readyOnce.Do(func() { close(v.ready) })
	}
}

// Ready reports whether keys have been loaded from every key source, so
// the Verifier can give every token a verdict. Use it for readiness
// checks. Given keys and key sets are ready at once; remote JWKS once
// their first fetch succeeds.
func (v *Verifier) Ready() bool {
	select {
	case <-v.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until [Verifier.Ready] is true or ctx is done, and
// returns ctx's error in the latter case.
func (v *Verifier) WaitReady(ctx context.Context) error {
	select {
	case <-v.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *Verifier) allLoaded() bool { return int(v.loaded.Load()) == len(v.sources) }

// remotesLoaded reports whether every remote JWKS has loaded once.
func (v *Verifier) remotesLoaded() bool {
	for _, src := range v.remotes {
		if !src.isLoaded() {
			return false
		}
	}
	return true
}

// Close stops the background refresh and waits for a fetch in progress to
// end. The Verifier keeps verifying with the keys it has. Close is safe to
// call more than once.
func (v *Verifier) Close() error {
	v.closed.Do(func() {
		v.mu.Lock()
		v.stop() // under mu: startLocked starts nothing after this
		v.mu.Unlock()
		v.wg.Wait()
	})
	return nil
}

// Refresh fetches every remote JWKS now, and reads Config.Keyfunc's
// storage again, or joins the fetch in progress, and waits for it or for
// ctx. It is for operators (a key-rotation webhook) and tests; the
// Verifier refreshes on its own. It is not rate limited. It does not make
// keyfunc fetch: keyfunc's storage is read as it is. The error wraps
// [ErrFetch] for each source that failed; their previous keys stay in use.
func (v *Verifier) Refresh(ctx context.Context) error {
	if !v.refreshable() {
		return nil
	}
	// A fetch in progress may have read the endpoint before the change
	// the caller knows of: let it end, then fetch (or join a fetch that
	// began after this call).
	v.mu.Lock()
	prev := v.running
	v.mu.Unlock()
	if prev != nil {
		select {
		case <-prev.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	v.mu.Lock()
	run := v.startLocked(false, "")
	v.mu.Unlock()
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshRun is one fetch of every remote source, with a read of
// Config.Keyfunc's storage.
type refreshRun struct {
	done          chan struct{}
	err           error  // set before done is closed
	forUnknownKey bool   // started by a token with an unknown kid
	kid           string // that kid, asked of Config.Keyfunc's storage
}

// startLocked returns the run in progress or starts one, for the unknown
// kid if forUnknownKey. v.mu is held.
func (v *Verifier) startLocked(forUnknownKey bool, kid string) *refreshRun {
	if v.running != nil {
		return v.running
	}
	run := &refreshRun{done: make(chan struct{}), forUnknownKey: forUnknownKey, kid: kid}
	if v.bg.Err() != nil {
		run.err = fmt.Errorf("%w: verifier closed", ErrFetch)
		close(run.done)
		return run
	}
	v.running = run
	v.wg.Add(1)
	// The fetch runs on the Verifier's context, not a request's: a client
	// that hangs up must not cancel it for everyone else.
	go func() {
		defer v.wg.Done()
		run.err = v.fetchAll(run)
		v.mu.Lock()
		v.running = nil
		v.mu.Unlock()
		close(run.done)
	}()
	return run
}

// runForUnknownKey returns the fetch a request with the unknown kid should
// wait for: the one in progress, or a new one unless a fetch for an
// unknown kid started within RefreshRateLimit (then nil).
func (v *Verifier) runForUnknownKey(kid string) *refreshRun {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running != nil {
		return v.running
	}
	now := v.now()
	if since := now.Sub(v.onDemandAt); v.onDemand && since >= 0 && since < v.rateLimit {
		return nil
	}
	v.onDemand, v.onDemandAt = true, now
	return v.startLocked(true, kid)
}

// poll calls tick now and then every interval; until loaded reports true
// it calls it sooner, from one second doubling up to the interval. It
// returns when the Verifier is closed.
func (v *Verifier) poll(interval time.Duration, loaded func() bool, tick func()) {
	defer v.wg.Done()
	backoff := time.Second
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-v.bg.Done():
			return
		case <-t.C:
		}
		tick()
		next := interval
		if !loaded() {
			next, backoff = min(backoff, interval), backoff*2
		}
		t.Reset(next)
	}
}

// fetchAll fetches every remote source, one after the other, each within
// FetchTimeout, then reads Config.Keyfunc's storage.
func (v *Verifier) fetchAll(run *refreshRun) error {
	var errs []error
	for _, src := range v.remotes {
		ctx, cancel := context.WithTimeout(v.bg, v.fetchTimeout)
		err := v.fetch(ctx, src)
		cancel()
		if err != nil {
			err = fmt.Errorf("%w: %s: %v", ErrFetch, src.url, err)
			if v.onRefreshError != nil {
				v.onRefreshError(src.url, err)
			}
			errs = append(errs, err)
		}
	}
	if v.keyfunc != nil {
		if err := v.readKeyfunc(run.forUnknownKey, run.kid); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fetch loads src's JWKS and replaces its keys. On any failure the
// previous keys stay (serve stale): an outage of the issuer's endpoint
// must not lock every caller out.
func (v *Verifier) fetch(ctx context.Context, src *keySource) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return err
	}
	if len(body) > MaxJWKSSize {
		return fmt.Errorf("response larger than %d bytes", MaxJWKSSize)
	}
	keys, err := parseJWKS(body, v.allowed)
	if err != nil {
		return err
	}
	return v.replace(ctx, src, keys)
}

// replace makes keys the whole set of src: keys no longer published stop
// verifying at once, and cached tokens are dropped when the set changed.
func (v *Verifier) replace(ctx context.Context, src *keySource, keys []jwkset.JWK) error {
	src.mu.Lock()
	defer src.mu.Unlock()
	return v.replaceLocked(ctx, src, keys)
}

// replaceLocked is replace with src.mu held.
func (v *Verifier) replaceLocked(ctx context.Context, src *keySource, keys []jwkset.JWK) error {
	fp := fingerprint(keys)
	if err := src.store.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	if src.loaded && fp != src.fingerprint && v.cache != nil {
		v.cache.Clear()
	}
	src.fingerprint = fp
	if !src.loaded {
		src.loaded = true
		v.loaded.Add(1)
		v.checkReady(len(v.sources))
	}
	return nil
}
