package auth

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/audexum/auth/internal/cache"
)

// Defaults for [ThrottleConfig].
const (
	DefaultMaxFailures     = 10
	DefaultFailureWindow   = time.Minute
	DefaultThrottleTable   = 1 << 16
	DefaultRateLimitWindow = time.Minute
)

// Limiter counts events per key in fixed windows. It is the storage behind
// a [Throttle]: the in-memory [NewMemoryLimiter] serves one process; an
// implementation on a shared database or cache makes a fleet share limits
// (every instance then sees the failures of all).
//
// Sharing limits across a fleet: with the memory limiter, each of N
// instances behind a load balancer counts only the requests it sees, so a
// caller spreading attempts over the instances gets up to N×MaxFailures
// tries per window. To share the counts, give every instance's Throttle a
// Limiter on storage they all reach. This module's is the Limiter of
// github.com/audexum/auth/sqlstore on PostgreSQL (Store.Limits): one
// table row per key and window, one atomic upsert per Add, one SELECT per
// Count, ended windows deleted in bounded batches. Its windows are aligned
// to the Unix epoch so every instance agrees on them; keep the instances'
// clocks in sync (NTP). The price is a database round trip for every
// limit an [AttemptCounter] checks (a Count each) and for every failure
// it records (an Add per limit): size the database pool for it, or wrap
// it in a [CachedLimiter], which answers Count from memory for a second.
// Configure the same limits on every instance: the counts are shared,
// the limits are each instance's own. A Limiter on another shared store
// (Redis INCR with an expiry, say) only has to implement Count and Add
// with the same meaning.
//
// Implementations must be safe for concurrent use. An error means the
// count is unknown; the Throttle then lets the request through to
// authentication (which still has to succeed), so a limiter outage never
// locks every caller out.
type Limiter interface {
	// Count returns how many events key has in the window that contains
	// now, and how long until that window ends.
	Count(ctx context.Context, key string, window time.Duration, now time.Time) (n int, reset time.Duration, err error)
	// Add records one event for key in the window that contains now and
	// returns the new count and how long until the window ends.
	Add(ctx context.Context, key string, window time.Duration, now time.Time) (n int, reset time.Duration, err error)
}

// ThrottleConfig configures a [Throttle]. The zero value throttles failed
// attempts (10 per minute per client network) and sets no request rate
// limit.
type ThrottleConfig struct {
	// MaxFailures is how many failed authentications one client network
	// (see [ClientNetwork]) may have in one window before further requests
	// from it are refused with 429 until the window ends. If zero,
	// DefaultMaxFailures.
	MaxFailures int
	// FailureWindow is the window for MaxFailures. If zero,
	// DefaultFailureWindow.
	FailureWindow time.Duration

	// PerCredential also counts failures per credential ID, for
	// verifiers that implement [CredentialIDer], against guessing one
	// credential's secret from many networks. Once an ID has
	// CredentialCeiling failures in a window, a network that has already
	// failed for that ID is refused for it; a network that has not (the
	// credential's owner) still gets through, so knowing an ID is not
	// enough to lock its owner out. Off by default: API keys and tokens of
	// this module have secrets of 190 bits or more, which nobody guesses,
	// so the per-network limit is all they need.
	PerCredential bool
	// CredentialCeiling is the per-ID ceiling of PerCredential. If zero,
	// 10 × MaxFailures.
	CredentialCeiling int

	// RateLimit, if positive, is how many requests one principal
	// (credential) may make per RateLimitWindow; further requests get 429
	// with Retry-After and RateLimit-Limit, RateLimit-Remaining and
	// RateLimit-Reset headers. Zero means no rate limit.
	RateLimit int
	// RateLimitWindow is the window for RateLimit. If zero,
	// DefaultRateLimitWindow.
	RateLimitWindow time.Duration

	// TrustedProxies lists the networks of reverse proxies whose
	// X-Forwarded-For is believed, as for [HTTPSConfig.TrustedProxies]
	// and by the rule of [ClientNetwork].
	TrustedProxies []netip.Prefix

	// Limiter stores the counts. If nil, an in-memory limiter with
	// DefaultThrottleTable entries. A shared Limiter makes a fleet count
	// as one (see [Limiter]).
	Limiter Limiter

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Throttle limits failed authentication attempts per client network (IPv4
// address, IPv6 /64) and optionally per credential ID, and the request rate
// of each principal. Give it to [Config.Throttle]; the [Authenticator]
// reserves an attempt with its [AttemptCounter] before any verifier runs,
// so a throttled caller costs no store or signature work and a burst of
// concurrent failures evaluates no more credentials than MaxFailures. The
// price: one network has at most MaxFailures credentials (fewer once it
// has failed) being verified at the same moment; its other requests wait
// for one of those to finish, which for a cached key or token is well
// under a microsecond. Safe for concurrent use.
type Throttle struct {
	attempts     *AttemptCounter
	perCred      bool
	rateLimit    int
	rateWindow   time.Duration
	proxies      []netip.Prefix
	limiter      Limiter
	now          func() time.Time
	rateLimitHdr []string
}

// NewThrottle returns a Throttle for cfg, or an error wrapping
// [ErrInvalidConfig] for negative limits or invalid proxy prefixes.
func NewThrottle(cfg ThrottleConfig) (*Throttle, error) {
	if cfg.MaxFailures < 0 || cfg.FailureWindow < 0 || cfg.RateLimit < 0 || cfg.RateLimitWindow < 0 || cfg.CredentialCeiling < 0 {
		return nil, fmt.Errorf("%w: negative throttle limit or window", ErrInvalidConfig)
	}
	proxies, err := trustedPrefixes("TrustedProxies", cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	t := &Throttle{
		perCred:    cfg.PerCredential,
		rateLimit:  cfg.RateLimit,
		rateWindow: orDefault(cfg.RateLimitWindow, DefaultRateLimitWindow),
		proxies:    proxies,
		limiter:    cfg.Limiter,
		now:        cfg.Now,
	}
	if t.limiter == nil {
		t.limiter = NewMemoryLimiter(DefaultThrottleTable)
	}
	if t.now == nil {
		t.now = time.Now
	}
	fail := AttemptLimit{Max: orDefault(cfg.MaxFailures, DefaultMaxFailures), Window: orDefault(cfg.FailureWindow, DefaultFailureWindow)}
	ac := AttemptCounterConfig{Name: "authn", PerNetwork: fail, Limiter: t.limiter, Now: t.now}
	if t.perCred {
		ac.PerIdentityNetwork = fail
		ac.PerIdentity = AttemptLimit{Max: orDefault(cfg.CredentialCeiling, 10*fail.Max), Window: fail.Window}
	}
	if t.attempts, err = NewAttemptCounter(ac); err != nil {
		return nil, err
	}
	t.rateLimitHdr = one(strconv.Itoa(t.rateLimit))
	return t, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// keyRate keeps the rate-limit counts apart from the attempt counters' in
// a shared limiter.
const keyRate = "rl:"

// ThrottledError is the reason given to [Config.OnFailure] when a
// [Throttle] refuses a request. It wraps [ErrThrottled] or
// [ErrRateLimited].
type ThrottledError struct {
	// RetryAfter is how long until the caller may try again.
	RetryAfter time.Duration
	err        error
}

func (e *ThrottledError) Error() string { return e.err.Error() }
func (e *ThrottledError) Unwrap() error { return e.err }

// rate counts one request of principal p and reports the numbers for the
// RateLimit headers; err is a *ThrottledError when p is over its limit.
func (t *Throttle) rate(ctx context.Context, p *Principal) (remaining int, reset time.Duration, err error) {
	id := p.CredentialID
	if id == "" {
		id = "s:" + p.Subject
	}
	n, reset, lerr := t.limiter.Add(ctx, keyRate+p.Method.String()+":"+id, t.rateWindow, t.now())
	if lerr != nil {
		return t.rateLimit, t.rateWindow, nil
	}
	if n > t.rateLimit {
		return 0, reset, &ThrottledError{RetryAfter: reset, err: ErrRateLimited}
	}
	return t.rateLimit - n, reset, nil
}

// CredentialIDer is implemented by a [Verifier] that can name the
// credential a string claims to be without verifying it (an API key's ID).
// The [Authenticator] puts the ID in [Event.CredentialID] of failures, and
// a [Throttle] with PerCredential counts failures per ID. It must be cheap,
// do no I/O and never return secret material.
type CredentialIDer interface {
	CredentialID(credential string) (id string, ok bool)
}

// MemoryLimiter is an in-memory [Limiter] for one process. It is
// bounded: it holds at most the number of keys it was made with, so a
// caller rotating addresses cannot grow it. When it is full, a new key
// takes the place of a key whose window has ended or else of the least
// used of 8 keys drawn at random (a key is used by each Count and Add):
// keys being throttled, counted on every request they make, survive a
// flood of new keys until their window ends. It is safe for concurrent
// use.
type MemoryLimiter struct {
	windows *cache.Map[string, limitWindow]
}

// limitWindow is the count of one key in its current window.
type limitWindow struct {
	end time.Time
	n   int
}

// NewMemoryLimiter returns a MemoryLimiter holding at most size keys
// (DefaultThrottleTable if size ≤ 0).
func NewMemoryLimiter(size int) *MemoryLimiter {
	if size <= 0 {
		size = DefaultThrottleTable
	}
	return &MemoryLimiter{windows: cache.New[string, limitWindow](size)}
}

// Count implements [Limiter].
func (m *MemoryLimiter) Count(_ context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	w, ok := m.windows.Get(key, now)
	if !ok {
		return 0, window, nil
	}
	return w.n, w.end.Sub(now), nil
}

// Add implements [Limiter].
func (m *MemoryLimiter) Add(_ context.Context, key string, window time.Duration, now time.Time) (int, time.Duration, error) {
	var w limitWindow
	m.windows.Update(key, now, func(v *limitWindow, _ time.Time, found bool) time.Time {
		if !found {
			// The key's first event, or its window ended: a new window,
			// which the map forgets when it ends.
			v.end = now.Add(window)
		}
		v.n++
		w = *v
		return v.end
	})
	return w.n, w.end.Sub(now), nil
}
