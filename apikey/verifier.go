package apikey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audexum/auth"
)

// closeFlushTimeout bounds the final last-used flush in Close. Call Flush
// with your own context first for a different bound.
const closeFlushTimeout = 10 * time.Second

// Config configures a [Verifier]. Give it either a Manager (the
// usual case in a process that also manages keys) or a Store.
type Config struct {
	// Manager, if set, supplies the Store, Hasher, Prefix and clock, and
	// tells the Verifier about every revocation and rotation it makes, so
	// they take effect on the very next request in this process. Leave
	// Store, Hasher and Prefix unset when Manager is set.
	Manager *Manager

	// Store is where keys are looked up, when Manager is nil.
	Store Store
	// Hasher must be configured with every pepper version stored keys
	// use, when Manager is nil. If nil, plain SHA-256 only.
	Hasher *Hasher
	// Prefix is the key prefix this Verifier claims, when Manager is nil.
	// If empty, [DefaultPrefix].
	Prefix string

	// Environments are the key environments accepted. If empty, only
	// [EnvLive]: a test key never authenticates against production unless
	// you ask for it.
	Environments []Env

	// CacheTTL is how long a looked-up key is remembered. Revocations and
	// rotations made through Manager in this process take effect at once;
	// those made by another process (sharing the store) take effect in this
	// one within CacheTTL, or at once if you call [Verifier.Invalidate]. If
	// zero, [DefaultCacheTTL] (30 s); if negative, keys are looked up in
	// the store on every request.
	CacheTTL time.Duration
	// NegativeCacheTTL is how long an unknown key ID is remembered, so a
	// flood of made-up keys does not reach the store. If zero,
	// [DefaultNegativeCacheTTL] (5 s); if negative, not cached.
	NegativeCacheTTL time.Duration
	// CacheSize caps the cached known IDs, and separately the unknown ones,
	// so made-up IDs never evict real keys. When a side is full, a new ID
	// takes the place of an expired one or else of the least used of 8
	// drawn at random, so a flood of new IDs does not push out the keys
	// clients use. If zero, [DefaultCacheSize].
	CacheSize int

	// LastUsedInterval is how often last-used times are written to the
	// store, in the background. If zero, [DefaultLastUsedInterval]; if
	// negative, never in the background: call [Verifier.Flush] yourself.
	LastUsedInterval time.Duration
	// OnError, if set, receives errors of background work (writing
	// last-used times). The package never logs.
	OnError func(error)

	// Now returns the current time. If nil, the Manager's clock, or
	// [time.Now].
	Now func() time.Time
}

// Verifier checks API keys. It implements [auth.Verifier] and
// [auth.ShapeMatcher]; put it in [auth.Config.Verifiers]. Create one with
// [NewVerifier]; it is safe for concurrent use. Call Close when done to stop
// its background work and write pending last-used times.
type Verifier struct {
	store     Store
	hasher    *Hasher
	prefix    string
	live, tst bool
	now       func() time.Time
	cache     *cache
	used      lastUsed
	onError   func(error)

	stop        chan struct{}
	done        chan struct{}
	closeOnce   sync.Once
	closed      atomic.Bool
	unsubscribe func() // from the Manager; nil without one
}

// NewVerifier returns a Verifier for cfg. It fails with an error wrapping
// [ErrInvalidConfig] if neither or both of Manager and Store are set, or a
// field is out of range.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{
		store:   cfg.Store,
		hasher:  cfg.Hasher,
		prefix:  cfg.Prefix,
		now:     cfg.Now,
		onError: cfg.OnError,
	}
	if m := cfg.Manager; m != nil {
		if cfg.Store != nil || cfg.Hasher != nil || cfg.Prefix != "" {
			return nil, fmt.Errorf("%w: set Manager or Store/Hasher/Prefix, not both", ErrInvalidConfig)
		}
		v.store, v.hasher, v.prefix = m.store, m.hasher, m.prefix
		if v.now == nil {
			v.now = m.now
		}
	}
	if v.store == nil {
		return nil, fmt.Errorf("%w: Manager or Store is required", ErrInvalidConfig)
	}
	var err error
	if v.prefix, err = checkPrefix(v.prefix); err != nil {
		return nil, err
	}
	if v.now == nil {
		v.now = time.Now
	}
	if len(cfg.Environments) == 0 {
		v.live = true
	}
	for _, e := range cfg.Environments {
		switch e {
		case EnvLive:
			v.live = true
		case EnvTest:
			v.tst = true
		default:
			return nil, fmt.Errorf("%w: unknown environment %q", ErrInvalidConfig, e)
		}
	}
	ttl, negTTL, size := cfg.CacheTTL, cfg.NegativeCacheTTL, cfg.CacheSize
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if negTTL == 0 {
		negTTL = DefaultNegativeCacheTTL
	}
	switch {
	case size < 0:
		return nil, fmt.Errorf("%w: negative CacheSize", ErrInvalidConfig)
	case size == 0:
		size = DefaultCacheSize
	}
	v.cache = newCache(ttl, negTTL, size)

	interval := cfg.LastUsedInterval
	if interval == 0 {
		interval = DefaultLastUsedInterval
	}
	v.stop = make(chan struct{})
	v.done = make(chan struct{})
	if interval > 0 {
		go v.flushLoop(interval)
	} else {
		close(v.done)
	}
	if cfg.Manager != nil {
		// Subscribed last, once nothing can fail: a Verifier that
		// NewVerifier refused is never called.
		v.unsubscribe = cfg.Manager.subscribe(v.Invalidate)
	}
	return v, nil
}

// CredentialID implements [auth.CredentialIDer]: it returns the ID a
// well-formed key of this verifier's prefix names, without looking it up
// or checking its secret, so failures can be reported (and, where a
// [auth.Throttle] is told to, counted) per key. It does not allocate.
func (v *Verifier) CredentialID(credential string) (string, bool) {
	k, err := parse(credential, v.prefix)
	if err != nil {
		return "", false
	}
	return k.ID, true
}

// MatchShape implements [auth.ShapeMatcher]: it claims credentials that
// start with the prefix and an underscore ("adx_"). It does no I/O and does
// not allocate.
func (v *Verifier) MatchShape(credential string) bool {
	n := len(v.prefix)
	return len(credential) > n && credential[n] == '_' && credential[:n] == v.prefix //consttime:public the prefix is the public start of every key
}

// Verify implements [auth.Verifier]. In order, it checks the key's
// format, prefix, environment and checksum (no store access, no
// allocation); finds the key by ID in the cache or the store; compares the
// hash of the whole key with the stored one in constant time (or, for the
// key last accepted while its record is cached, compares the key itself in
// constant time instead of hashing it again); and refuses a revoked or
// expired key (a rotated-out key expires at the end of its grace period).
// It returns the key's principal, shared between requests and read-only.
//
// Errors are this package's sentinels as they are, errors matching
// [auth.ErrRevoked] or [auth.ErrExpired], or, for a store failure, an
// error matching [auth.ErrUnavailable] that wraps the store's.
func (v *Verifier) Verify(ctx context.Context, credential string) (*auth.Principal, error) {
	k, err := parse(credential, v.prefix)
	if err != nil {
		return nil, err
	}
	if !v.acceptsEnv(k.Env) {
		return nil, ErrWrongEnvironment
	}
	now := v.now()
	e, negative := v.cache.get(k.ID, now)
	if negative {
		return nil, ErrNotFound
	}
	if e == nil {
		if e, err = v.load(ctx, k.ID, now); err != nil {
			return nil, err
		}
	}
	// The secret is judged before the key's state, so someone who knows
	// only an ID learns nothing about the key, not even from the hook.
	if !e.matchesSeen(credential) {
		sum, ok := v.hasher.hash(credential, e.pepper)
		if !ok {
			return nil, ErrUnknownPepper
		}
		if !equalHash(&sum, &e.hash) {
			return nil, ErrSecretMismatch
		}
		e.rememberSeen(credential)
	}
	if e.revoked {
		return nil, errRevoked
	}
	if e.expired(now) {
		return nil, errExpired
	}
	if !v.closed.Load() {
		v.used.mark(e, now)
	}
	return e.p, nil
}

func (v *Verifier) acceptsEnv(e Env) bool {
	return (e == EnvLive && v.live) || (e == EnvTest && v.tst)
}

// load reads the record of id from the store and caches the answer.
func (v *Verifier) load(ctx context.Context, id string, now time.Time) (*entry, error) {
	gen := v.cache.generation()
	rec, err := v.store.Key(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		// Cloned: id is a piece of the presented key.
		v.cache.putNegative(strings.Clone(id), gen, now)
		return nil, ErrNotFound
	case err != nil:
		// Fail closed, and not as "invalid": the key may be fine.
		return nil, fmt.Errorf("%w: %w", errKeyStore, err)
	case rec.ID != id:
		return nil, fmt.Errorf("%w: it returned the wrong record", errKeyStore)
	}
	e := newEntry(&rec)
	v.cache.putPositive(rec.ID, e, gen, now)
	return e, nil
}

// Invalidate drops what the Verifier remembers about the key with the
// given ID, so the next request reads the store. A Verifier built on a
// Manager calls it for every change the Manager makes; call it yourself
// when another process changes a key, if you learn of it (a database
// notification, a message) and cannot wait for CacheTTL.
func (v *Verifier) Invalidate(id string) { v.cache.invalidate(id) }

// InvalidateAll drops everything the Verifier remembers about keys.
func (v *Verifier) InvalidateAll() { v.cache.invalidateAll() }

// Flush writes pending last-used times to the store now. On failure they
// are kept for the next flush.
func (v *Verifier) Flush(ctx context.Context) error {
	return v.used.flush(ctx, v.store)
}

func (v *Verifier) flushLoop(interval time.Duration) {
	defer close(v.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			err := v.Flush(ctx)
			cancel()
			if err != nil && v.onError != nil {
				v.onError(err)
			}
		}
	}
}

// Close stops the background flusher and writes pending last-used times,
// waiting at most 10 seconds for the store. Close it after the server has
// stopped sending it requests. Should a request still come, it is verified
// against the store directly, never from a cache that no longer hears of
// the Manager's changes, and its use is not recorded. Close returns the
// final flush's error; calling it again returns [ErrClosed].
func (v *Verifier) Close() error {
	err := ErrClosed
	v.closeOnce.Do(func() {
		if v.unsubscribe != nil {
			v.unsubscribe()
		}
		v.closed.Store(true)
		v.cache.close()
		close(v.stop)
		<-v.done
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		defer cancel()
		err = v.Flush(ctx)
	})
	return err
}
