package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// DefaultAttemptWait is how long [AttemptCounter.Reserve] waits for
// attempts in flight to finish when [AttemptCounterConfig].MaxWait is zero.
const DefaultAttemptWait = 3 * time.Second

// maxPlainIdentity is the longest identity that appears in a limiter key
// as it is; longer ones, and any with bytes outside printable ASCII, are
// replaced by a hash, so no request can make a key longer than a few dozen
// bytes.
const maxPlainIdentity = 64

// AttemptLimit is a number of failed attempts allowed in a fixed window.
// A zero Max means no limit.
type AttemptLimit struct {
	Max    int
	Window time.Duration
}

// AttemptCounterConfig configures an [AttemptCounter]. Identities are what an
// attempt claims to be (a username, a client ID, a credential ID);
// networks come from [ClientNetwork].
type AttemptCounterConfig struct {
	// Name keeps this counter's keys apart from other counters' in a
	// shared Limiter: 1 to 32 of a-z, 0-9 and '-'. Required.
	Name string

	// PerNetwork limits failures from one client network, whatever
	// identity they claim: it stops one network trying many identities
	// (password spraying, scanning client IDs).
	PerNetwork AttemptLimit

	// PerIdentityNetwork limits failures for one identity from one
	// network. It blocks the guesser and nobody else: the identity's
	// owner, on another network, is not affected.
	PerIdentityNetwork AttemptLimit

	// PerIdentity is a ceiling on the failures of one identity from all
	// networks together, against guessing spread over many networks. It
	// never blocks a network by itself: once it is reached, each network
	// may make one more failed attempt for the identity in the
	// PerIdentityNetwork window instead of PerIdentityNetwork.Max, so a
	// network that has not failed for the identity (its owner's) still
	// gets in, while every network that has failed is refused. Requires
	// PerIdentityNetwork. Leave it zero for secrets nobody can guess
	// (random 256-bit client secrets): a ceiling adds nothing there.
	PerIdentity AttemptLimit

	// Limiter stores the failure counts. If nil, an in-memory
	// [MemoryLimiter] with [DefaultThrottleTable] entries. Give every
	// instance of a fleet the same shared Limiter (with the same Name and
	// limits) to count the fleet's failures as one; wrap a database
	// Limiter in a [CachedLimiter] so a request that fails nothing costs
	// no round trip.
	Limiter Limiter

	// MaxWait is how long Reserve waits for attempts in flight from the
	// same network (or for the same identity from it) to finish when they
	// could use up the limit. If zero, [DefaultAttemptWait]. A request
	// that waits longer is refused as throttled.
	MaxWait time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// AttemptCounter limits attempts at guessing secrets: API keys, client
// secrets, passwords. It is the one attempt limiter of this module: the
// [Throttle], the oauth package's client authentication and the reference
// server's sign-in page all count with one. Create one with
// [NewAttemptCounter]; it is safe for concurrent use.
//
// Use it around the check that is expensive or depends on the secret (a
// password hash, a secret comparison, a store lookup):
//
//	a, err := counter.Reserve(ctx, auth.ClientNetwork(r, proxies), username)
//	if err != nil {
//		return err // *ThrottledError: answer 429 with Retry-After
//	}
//	ok := checkPassword(username, password)
//	if !ok {
//		a.Fail(ctx)
//		return errWrongPassword
//	}
//	a.Release()
//
// The rules:
//
//   - Reserve before work. Reserve counts the attempt before the check
//     runs, so however many requests arrive at once, no more are evaluated
//     than the limits have room for: the failures already recorded plus
//     the attempts in flight never exceed a limit. A request that would go
//     over while others are in flight waits for them (at most MaxWait)
//     and is then admitted or refused; a request over a limit of recorded
//     failures is refused at once.
//   - Successes give their reservation back: only failures are recorded.
//   - Bounded keys: identities longer than 64 bytes or not printable
//     ASCII are hashed before they reach a key, and the table of attempts
//     in flight holds only requests being served.
//   - No lockout by strangers: blocking is per network and per (identity,
//     network); an identity-wide count only lowers what a network that
//     has already failed for that identity may try (see
//     [AttemptCounterConfig].PerIdentity).
//
// In a fleet, recorded failures are shared through the Limiter; attempts
// in flight are each instance's own, so a burst spread over N instances
// at the same instant evaluates at most N times the room left.
type AttemptCounter struct {
	name                 string
	perNet, perIDNet, id AttemptLimit
	limiter              Limiter
	maxWait              time.Duration
	now                  func() time.Time

	mu       sync.Mutex
	inflight map[string]*flight
}

// flight is the in-process state of one blocking key: attempts admitted
// and not yet finished, readers between their count and their decision,
// and a generation bumped by every failure recorded here.
type flight struct {
	n, pins int
	gen     uint64
	wake    chan struct{} // closed on every change; nil until someone waits
}

// NewAttemptCounter returns an AttemptCounter for cfg, or an error
// wrapping [ErrInvalidConfig] for a missing or malformed Name, negative
// or windowless limits, no limit at all, or PerIdentity without
// PerIdentityNetwork.
func NewAttemptCounter(cfg AttemptCounterConfig) (*AttemptCounter, error) {
	if !validCounterName(cfg.Name) {
		return nil, fmt.Errorf("%w: attempt counter Name must be 1 to 32 of a-z, 0-9 and '-'", ErrInvalidConfig)
	}
	for _, l := range []AttemptLimit{cfg.PerNetwork, cfg.PerIdentityNetwork, cfg.PerIdentity} {
		if l.Max < 0 || l.Window < 0 || (l.Max > 0 && l.Window == 0) {
			return nil, fmt.Errorf("%w: attempt limit %+v: Max and Window must be positive", ErrInvalidConfig, l)
		}
	}
	switch {
	case cfg.PerNetwork.Max == 0 && cfg.PerIdentityNetwork.Max == 0:
		return nil, fmt.Errorf("%w: attempt counter %q limits nothing: set PerNetwork or PerIdentityNetwork", ErrInvalidConfig, cfg.Name)
	case cfg.PerIdentity.Max > 0 && cfg.PerIdentityNetwork.Max == 0:
		return nil, fmt.Errorf("%w: attempt counter %q: PerIdentity needs PerIdentityNetwork", ErrInvalidConfig, cfg.Name)
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("%w: negative MaxWait", ErrInvalidConfig)
	}
	c := &AttemptCounter{
		name:     cfg.Name,
		perNet:   cfg.PerNetwork,
		perIDNet: cfg.PerIdentityNetwork,
		id:       cfg.PerIdentity,
		limiter:  cfg.Limiter,
		maxWait:  cfg.MaxWait,
		now:      cfg.Now,
		inflight: make(map[string]*flight),
	}
	if c.limiter == nil {
		c.limiter = NewMemoryLimiter(DefaultThrottleTable)
	}
	if c.maxWait == 0 {
		c.maxWait = DefaultAttemptWait
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func validCounterName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Attempt is an attempt admitted by [AttemptCounter.Reserve]. Finish it
// exactly once, with Fail or Release; later calls do nothing. An Attempt
// is not safe for concurrent use.
type Attempt struct {
	c    *AttemptCounter
	keys attemptKeys
	done bool
}

// attemptKeys are the limiter keys of one attempt; empty when a limit
// does not apply.
type attemptKeys struct {
	net, idNet, id string
}

// blocking returns the keys that admit or refuse, with their limits.
func (k *attemptKeys) blocking(c *AttemptCounter) (keys [2]string, limits [2]AttemptLimit) {
	return [2]string{k.net, k.idNet}, [2]AttemptLimit{c.perNet, c.perIDNet}
}

func (c *AttemptCounter) keysFor(network netip.Prefix, identity string) attemptKeys {
	var k attemptKeys
	var buf [96]byte
	b := append(append(buf[:0], c.name...), "|n|"...)
	b = appendNetwork(b, network)
	if c.perNet.Max > 0 {
		k.net = string(b)
	}
	if identity != "" && c.perIDNet.Max > 0 {
		ik := identityKey(identity)
		k.idNet = c.name + "|i|" + ik + "|" + string(b[len(c.name)+3:])
		if c.id.Max > 0 {
			k.id = c.name + "|c|" + ik
		}
	}
	return k
}

// identityKey is identity as it appears in a key: as it is ("=" prefix)
// when short and printable, else a hash ("#" prefix), so the two never
// collide and no key grows with the request.
func identityKey(identity string) string {
	if len(identity) <= maxPlainIdentity {
		plain := true
		for i := 0; i < len(identity); i++ {
			if c := identity[i]; c <= ' ' || c > '~' || c == '|' {
				plain = false
				break
			}
		}
		if plain {
			return "=" + identity
		}
	}
	sum := sha256.Sum256([]byte(identity))
	return "#" + hex.EncodeToString(sum[:16])
}

// Reserve admits one attempt from network for identity (empty when the
// request names none), or refuses it with a [*ThrottledError] wrapping
// [ErrThrottled] whose RetryAfter says when to try again. It returns
// ctx.Err() if ctx ends while it waits. Call it before the work the limit
// protects, and finish the returned Attempt when the work is done.
//
// A Limiter error counts as no failures recorded (a limiter outage must
// not lock every caller out); attempts in flight are still limited.
func (c *AttemptCounter) Reserve(ctx context.Context, network netip.Prefix, identity string) (Attempt, error) {
	k := c.keysFor(network, identity)
	keys, limits := k.blocking(c)
	var (
		flights  [2]*flight
		gens     [2]uint64
		deadline time.Time
	)
	c.mu.Lock()
	for i, key := range keys {
		if key != "" {
			f := c.inflight[key]
			if f == nil {
				f = &flight{}
				c.inflight[key] = f
			}
			f.pins++
			flights[i] = f
		}
	}
	for {
		for i, f := range flights {
			if f != nil {
				gens[i] = f.gen
			}
		}
		c.mu.Unlock()

		// Recorded failures, read outside the lock (the Limiter may be a
		// database). A failure recorded by this process while we read
		// bumps gen, and we read again.
		now := c.now()
		var counts [2]int
		var resets [2]time.Duration
		for i, key := range keys {
			if key != "" {
				counts[i], resets[i] = c.count(ctx, key, limits[i].Window, now)
			}
		}
		max := [2]int{limits[0].Max, limits[1].Max}
		if k.id != "" {
			if n, _ := c.count(ctx, k.id, c.id.Window, now); n >= c.id.Max {
				max[1] = 1
			}
		}

		c.mu.Lock()
		if changed(flights, gens) {
			continue
		}
		var retry time.Duration
		blocked := false
		for i := range keys {
			if flights[i] != nil && counts[i] >= max[i] {
				blocked = true
				retry = max2(retry, resets[i])
			}
		}
		if blocked {
			c.unpin(keys, flights)
			c.mu.Unlock()
			return Attempt{}, &ThrottledError{RetryAfter: max2(retry, time.Second), err: ErrThrottled}
		}
		var wait *flight
		for i, f := range flights {
			if f != nil && counts[i]+f.n >= max[i] {
				wait = f
			}
		}
		if wait == nil {
			for _, f := range flights {
				if f != nil {
					f.n++
				}
			}
			c.unpin(keys, flights)
			c.mu.Unlock()
			return Attempt{c: c, keys: k}, nil
		}
		// The room left is taken by attempts in flight: wait for one of
		// them to finish, then look again.
		if wait.wake == nil {
			wait.wake = make(chan struct{})
		}
		ch := wait.wake
		c.mu.Unlock()
		if deadline.IsZero() {
			deadline = time.Now().Add(c.maxWait)
		}
		err := waitFor(ctx, ch, deadline)
		c.mu.Lock()
		if err != nil {
			c.unpin(keys, flights)
			c.mu.Unlock()
			if err == errWaitedTooLong {
				return Attempt{}, &ThrottledError{RetryAfter: time.Second, err: ErrThrottled}
			}
			return Attempt{}, err
		}
	}
}

var errWaitedTooLong = fmt.Errorf("%w: waited too long", ErrThrottled)

func waitFor(ctx context.Context, ch <-chan struct{}, deadline time.Time) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errWaitedTooLong
	}
}

func changed(flights [2]*flight, gens [2]uint64) bool {
	for i, f := range flights {
		if f != nil && f.gen != gens[i] {
			return true
		}
	}
	return false
}

func max2(a, b time.Duration) time.Duration {
	if b > a {
		return b
	}
	return a
}

// count reads a recorded count; an error counts as none.
func (c *AttemptCounter) count(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Duration) {
	n, reset, err := c.limiter.Count(ctx, key, window, now)
	if err != nil {
		return 0, 0
	}
	return n, reset
}

// unpin drops Reserve's pins; c.mu is held.
func (c *AttemptCounter) unpin(keys [2]string, flights [2]*flight) {
	for i, f := range flights {
		if f != nil {
			f.pins--
			c.forget(keys[i], f)
		}
	}
}

// keepIdle is how many idle entries the in-flight table keeps, so that a
// steady caller's requests do not each allocate one; past it, idle entries
// are dropped as they become idle.
const keepIdle = 1024

// forget removes f from the table when nobody uses it and the table holds
// more than keepIdle entries; c.mu is held.
func (c *AttemptCounter) forget(key string, f *flight) {
	if f.n == 0 && f.pins == 0 && len(c.inflight) > keepIdle {
		delete(c.inflight, key)
	}
}

// finish ends the attempt; failed records it first.
func (a *Attempt) finish(ctx context.Context, failed bool) {
	if a.done || a.c == nil {
		return
	}
	a.done = true
	c := a.c
	if failed {
		// Recorded before the in-flight slot is given up, so a reader
		// sees the attempt in one place or the other, never in neither.
		// Best effort: a Limiter error is ignored, as documented.
		now := c.now()
		for _, kl := range []struct {
			key    string
			window time.Duration
		}{{a.keys.net, c.perNet.Window}, {a.keys.idNet, c.perIDNet.Window}, {a.keys.id, c.id.Window}} {
			if kl.key != "" {
				_, _, _ = c.limiter.Add(ctx, kl.key, kl.window, now)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, key := range []string{a.keys.net, a.keys.idNet} {
		if key == "" {
			continue
		}
		f := c.inflight[key]
		if f == nil {
			continue
		}
		f.n--
		if failed {
			f.gen++
		}
		if f.wake != nil {
			close(f.wake)
			f.wake = nil
		}
		c.forget(key, f)
	}
}

// Fail records the attempt as a failure (a wrong secret, an unknown
// identity, a malformed request).
func (a *Attempt) Fail(ctx context.Context) { a.finish(ctx, true) }

// Release gives the reservation back without recording a failure: the
// attempt succeeded, or no verdict was reached (our own outage).
func (a *Attempt) Release() { a.finish(context.Background(), false) }

// PasswordAttempts returns the attempt policy for signing in with a
// password, counted in l (nil: in memory). Passwords are chosen by people
// and can be guessed, unlike keys and client secrets, so:
//
//   - 5 failures per (username, network) in 15 minutes: the guesser is
//     stopped after a handful of tries, and only on its own network;
//   - 30 failures per network in 15 minutes, whatever the usernames:
//     trying one common password on many accounts (spraying) from one
//     network is stopped, while an office behind one address where people
//     mistype now and then stays well under it;
//   - a ceiling of 100 failures per username in 15 minutes from all
//     networks together (NIST SP 800-63B §5.2.2 allows no more than 100
//     consecutive failures): past it, each network may fail once for that
//     username instead of five times, so guessing spread over many
//     networks is capped at about one guess per network per window, while
//     the owner, whose network has not failed, still signs in. No one can
//     lock a user out from somewhere else.
//
// Use the username as the identity only once it is valid (well formed,
// short); count a malformed one with an empty identity, per network.
func PasswordAttempts(l Limiter) AttemptCounterConfig {
	const window = 15 * time.Minute
	return AttemptCounterConfig{
		Name:               "password",
		PerNetwork:         AttemptLimit{Max: 30, Window: window},
		PerIdentityNetwork: AttemptLimit{Max: 5, Window: window},
		PerIdentity:        AttemptLimit{Max: 100, Window: window},
		Limiter:            l,
	}
}
