package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
)

// Keys live in jwkset storage, one store per source, each key stored with
// the one algorithm it is bound to as its "alg". Lookups go through the
// storage API with the request's context.
//
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

// keySource is one place keys come from.
type keySource struct {
	store jwkset.Storage
	url   string // "" for given keys and key sets

	mu          sync.Mutex // serialises replacing the set
	loaded      bool       // a set was loaded; guarded by mu, mirrored in refresher.loaded
	fingerprint string     // of the loaded set, to notice removed or changed keys
}

func newLoadedSource(store jwkset.Storage) *keySource {
	return &keySource{store: store, loaded: true}
}

func (v *Verifier) addGivenKeys(cfg Config) error {
	if len(cfg.JWKS) == 0 && len(cfg.Keys) == 0 {
		return nil
	}
	ctx := context.Background()
	store := jwkset.NewMemoryStorage()
	if len(cfg.JWKS) > 0 {
		keys, err := parseJWKS(cfg.JWKS, v.allowed)
		if err != nil {
			return configError("JWKS: %v", err)
		}
		for _, k := range keys {
			store.KeyWrite(ctx, k)
		}
	}
	for i, pk := range cfg.Keys {
		alg := v.allowedAlgorithm(pk.Algorithm)
		if alg == nil {
			return configError("Keys[%d]: algorithm %q is not in Algorithms", i, pk.Algorithm)
		}
		k, ok := bindKey(pk.Key, pk.KeyID, alg)
		if !ok {
			return configError("Keys[%d]: key of type %T cannot verify %s (RSA keys need %d bits)", i, pk.Key, alg.name, minRSABits)
		}
		store.KeyWrite(ctx, k)
	}
	v.sources = append(v.sources, newLoadedSource(store))
	return nil
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
	if len(v.remotes) == 0 {
		return
	}
	v.wg.Add(1)
	go v.loop()
}

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

// Refresh fetches every remote JWKS now, or joins the fetch in progress,
// and waits for it or for ctx. It is for operators (a key-rotation webhook)
// and tests; the Verifier refreshes on its own. It is not rate limited. The
// error wraps [ErrFetch] for each source that failed; their previous keys
// stay in use.
func (v *Verifier) Refresh(ctx context.Context) error {
	if len(v.remotes) == 0 {
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
	run := v.startLocked()
	v.mu.Unlock()
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshRun is one fetch of every remote source.
type refreshRun struct {
	done          chan struct{}
	err           error // set before done is closed
	forUnknownKey bool  // started by a token with an unknown kid; set under v.mu
}

// startLocked returns the run in progress or starts one. v.mu is held.
func (v *Verifier) startLocked() *refreshRun {
	if v.running != nil {
		return v.running
	}
	run := &refreshRun{done: make(chan struct{})}
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
		run.err = v.fetchAll()
		v.mu.Lock()
		v.running = nil
		v.mu.Unlock()
		close(run.done)
	}()
	return run
}

// runForUnknownKey returns the fetch a request with an unknown "kid" should
// wait for: the one in progress, or a new one unless a fetch for an
// unknown kid started within RefreshRateLimit (then nil).
func (v *Verifier) runForUnknownKey() *refreshRun {
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
	run := v.startLocked()
	run.forUnknownKey = true
	return run
}

// loop fetches the remote sources now and then every RefreshInterval;
// until all of them have loaded once it retries sooner, from one second
// doubling up to the interval.
func (v *Verifier) loop() {
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
		v.mu.Lock()
		run := v.startLocked()
		v.mu.Unlock()
		select {
		case <-run.done:
		case <-v.bg.Done():
			return
		}
		next := v.interval
		if !v.allLoaded() {
			next, backoff = min(backoff, v.interval), backoff*2
		}
		t.Reset(next)
	}
}

// fetchAll fetches every remote source, one after the other, each within
// FetchTimeout.
func (v *Verifier) fetchAll() error {
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
	fp := fingerprint(keys)
	src.mu.Lock()
	defer src.mu.Unlock()
	if err := src.store.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	if src.loaded && fp != src.fingerprint && v.cache != nil {
		v.cache.clear()
	}
	src.fingerprint = fp
	if !src.loaded {
		src.loaded = true
		v.loaded.Add(1)
		v.checkReady(len(v.sources))
	}
	return nil
}

func fingerprint(keys []jwkset.JWK) string {
	var b strings.Builder
	for _, k := range keys {
		m := k.Marshal()
		for _, s := range []string{m.KID, string(m.ALG), m.N, m.E, m.X, m.Y, "\n"} {
			b.WriteString(s)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// parseJWKS reads a JWK Set and returns its usable keys, each bound to one
// algorithm. Keys that are unsupported, not for signatures, too weak, or
// fit no allowed algorithm are skipped, not fatal; a set with no usable key
// at all is an error.
func parseJWKS(data []byte, allowed []*algorithm) ([]jwkset.JWK, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	var out []jwkset.JWK
	seen := make(map[string]bool, len(set.Keys))
	for _, m := range set.Keys {
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue // RFC 7517 §4.2: an encryption key never verifies
		}
		if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
			continue // RFC 7517 §4.3
		}
		if seen[m.KID] {
			continue // one key per kid: the first
		}
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue
		}
		alg := bindAlgorithm(j.Key(), string(m.ALG), allowed)
		if alg == nil {
			continue
		}
		k, ok := bindKey(j.Key(), m.KID, alg)
		if !ok {
			continue
		}
		seen[m.KID] = true
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("no usable key in JWK Set")
	}
	return out, nil
}

// bindAlgorithm returns the one algorithm key will verify: the JWK's "alg"
// if it names one, else the first allowed algorithm that fits the key's
// type and curve. It returns nil when the key fits no allowed algorithm.
func bindAlgorithm(key crypto.PublicKey, named string, allowed []*algorithm) *algorithm {
	for _, a := range allowed {
		if (named == "" || a.name == named) && a.fits(key) {
			return a
		}
	}
	return nil
}

// bindKey returns a JWK of the public key bound to alg, or false when the
// key does not fit alg or is too weak (RSA under 2048 bits).
func bindKey(key crypto.PublicKey, kid string, alg *algorithm) (jwkset.JWK, bool) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return jwkset.JWK{}, false
		}
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return jwkset.JWK{}, false
	}
	if !alg.fits(key) {
		return jwkset.JWK{}, false
	}
	j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		ALG: jwkset.ALG(alg.name),
		KID: kid,
		USE: jwkset.UseSig,
	}})
	return j, err == nil
}

// lookup returns the key named kid from the sources, or errUnknownKey. A
// key bound to another algorithm than alg is refused (RFC 8725 §3.1): an
// RS256 key never checks a PS256 token.
func (v *Verifier) lookup(ctx context.Context, kid string, alg *algorithm) (crypto.PublicKey, error) {
	for _, src := range v.sources {
		j, err := src.store.KeyRead(ctx, kid)
		if err != nil {
			if errors.Is(err, jwkset.ErrKeyNotFound) {
				continue
			}
			return nil, errNoKeys
		}
		if string(j.Marshal().ALG) != alg.name {
			return nil, errAlgorithm
		}
		return j.Key(), nil
	}
	return nil, errUnknownKey
}

// checkKidless verifies a token without "kid" with at most
// maxKidlessTries keys bound to its algorithm (RFC 7515 §4.1.4 leaves the
// key to the application; trying every key would let one token cost many
// signature checks).
func (v *Verifier) checkKidless(ctx context.Context, alg *algorithm, signed, sig []byte) error {
	tries := 0
	for _, src := range v.sources {
		keys, err := src.store.KeyReadAll(ctx)
		if err != nil {
			return errNoKeys
		}
		for _, j := range keys {
			if string(j.Marshal().ALG) != alg.name {
				continue
			}
			if tries == maxKidlessTries {
				return errBadSignature
			}
			tries++
			if alg.verify(j.Key(), signed, sig) {
				return nil
			}
		}
	}
	switch {
	case tries > 0:
		return errBadSignature
	case !v.allLoaded():
		return errNoKeys
	}
	return errUnknownKey
}
