package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustCounter(t testing.TB, cfg AttemptCounterConfig) *AttemptCounter {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	c, err := NewAttemptCounter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func netOf(s string) netip.Prefix { return netip.PrefixFrom(netip.MustParseAddr(s), 32) }

// busy counts the attempts in flight and the readers in Reserve.
func busy(c *AttemptCounter) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.inflight {
		n += f.n + f.pins
	}
	return n
}

var passwordLike = AttemptCounterConfig{
	PerNetwork:         AttemptLimit{Max: 30, Window: 15 * time.Minute},
	PerIdentityNetwork: AttemptLimit{Max: 5, Window: 15 * time.Minute},
	PerIdentity:        AttemptLimit{Max: 20, Window: 15 * time.Minute},
}

// TestAttemptBurst is the burst bypass: many concurrent wrong attempts for
// one identity from one network are admitted only up to the limit, the
// rest are refused once those fail, and the owner on another network is
// not affected.
func TestAttemptBurst(t *testing.T) {
	c := mustCounter(t, passwordLike)
	ctx := context.Background()
	attacker := netOf("192.0.2.1")
	const burst = 150
	var started, admittedN, refused atomic.Int64
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			started.Add(1)
			a, err := c.Reserve(ctx, attacker, "ann")
			if err != nil {
				var te *ThrottledError
				if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || te.RetryAfter <= 0 {
					t.Errorf("refusal = %v, want a *ThrottledError with RetryAfter", err)
				}
				refused.Add(1)
				return
			}
			admittedN.Add(1)
			<-gate // the expensive check
			a.Fail(ctx)
		})
	}
	// Hold the admitted attempts until every request has arrived: each is
	// then admitted, refused, or waiting in Reserve (pinning the key).
	key := c.keysFor(attacker, "ann").idNet
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		pins := 0
		if f := c.inflight[key]; f != nil {
			pins = f.pins
		}
		c.mu.Unlock()
		if started.Load() == burst && admittedN.Load()+int64(pins)+refused.Load() == burst {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("burst did not settle: %d admitted, %d waiting, %d refused", admittedN.Load(), pins, refused.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := admittedN.Load(); n != 5 {
		t.Errorf("%d attempts admitted at once, want 5 (the limit)", n)
	}
	close(gate)
	wg.Wait()
	if n := admittedN.Load(); n != 5 {
		t.Errorf("%d attempts admitted in all, want 5", n)
	}
	if n := refused.Load(); n != burst-5 {
		t.Errorf("refused %d, want %d", n, burst-5)
	}
	// The right password, last, is refused from that network too...
	if _, err := c.Reserve(ctx, attacker, "ann"); !errors.Is(err, ErrThrottled) {
		t.Errorf("after the burst, same network: err = %v, want ErrThrottled", err)
	}
	// ...while the owner on another network signs in.
	a, err := c.Reserve(ctx, netOf("198.51.100.7"), "ann")
	if err != nil {
		t.Fatalf("owner on another network: %v", err)
	}
	a.Release()
	if n := busy(c); n != 0 {
		t.Errorf("%d attempts or readers left in the in-flight table, want 0", n)
	}
}

// TestAttemptSuccessesGiveBack: an identity that keeps succeeding is never
// limited, one attempt at a time or many at once.
func TestAttemptSuccessesGiveBack(t *testing.T) {
	c := mustCounter(t, passwordLike)
	ctx := context.Background()
	n := netOf("192.0.2.1")
	for i := range 100 {
		a, err := c.Reserve(ctx, n, "ann")
		if err != nil {
			t.Fatalf("sequential sign-in %d: %v", i, err)
		}
		a.Release()
	}
	// 50 at once: 5 at a time are evaluated, the others wait their turn
	// and none is refused.
	var wg sync.WaitGroup
	var inFlight, most atomic.Int64
	for range 50 {
		wg.Go(func() {
			a, err := c.Reserve(ctx, n, "ann")
			if err != nil {
				t.Errorf("concurrent sign-in: %v", err)
				return
			}
			cur := inFlight.Add(1)
			for {
				m := most.Load()
				if cur <= m || most.CompareAndSwap(m, cur) {
					break
				}
			}
			time.Sleep(time.Millisecond) // the check's work
			inFlight.Add(-1)
			a.Release()
		})
	}
	wg.Wait()
	if m := most.Load(); m > 5 {
		t.Errorf("%d attempts evaluated at once, want at most 5", m)
	}
}

// TestAttemptNoLockoutByStrangers: failures from other networks never
// block a network that has not failed; past the identity's ceiling, a
// network that has failed for it is refused, and a fresh one gets one try.
func TestAttemptNoLockoutByStrangers(t *testing.T) {
	c := mustCounter(t, passwordLike)
	ctx := context.Background()
	fail := func(n netip.Prefix, id string) error {
		a, err := c.Reserve(ctx, n, id)
		if err == nil {
			a.Fail(ctx)
		}
		return err
	}
	// Four networks use up their own limit for ann: 20 failures, the
	// ceiling.
	for i := range 4 {
		for j := range 5 {
			if err := fail(netOf(fmt.Sprintf("203.0.113.%d", i)), "ann"); err != nil {
				t.Fatalf("network %d attempt %d: %v", i, j, err)
			}
		}
		if err := fail(netOf(fmt.Sprintf("203.0.113.%d", i)), "ann"); !errors.Is(err, ErrThrottled) {
			t.Fatalf("network %d sixth attempt: %v, want ErrThrottled", i, err)
		}
	}
	// Past the ceiling (20): ann on her own network still signs in.
	a, err := c.Reserve(ctx, netOf("198.51.100.1"), "ann")
	if err != nil {
		t.Fatalf("owner after the ceiling: %v", err)
	}
	a.Release()
	// A fresh network gets one failure, not five.
	if err := fail(netOf("198.51.100.2"), "ann"); err != nil {
		t.Fatalf("fresh network, first try: %v", err)
	}
	if err := fail(netOf("198.51.100.2"), "ann"); !errors.Is(err, ErrThrottled) {
		t.Errorf("fresh network, second try past the ceiling: %v, want ErrThrottled", err)
	}
	// Other identities are unaffected, from the same networks.
	if err := fail(netOf("198.51.100.2"), "bob"); err != nil {
		t.Errorf("another identity: %v", err)
	}
}

// TestAttemptPerNetwork: one network spraying many identities is stopped
// by the per-network limit.
func TestAttemptPerNetwork(t *testing.T) {
	c := mustCounter(t, passwordLike)
	ctx := context.Background()
	n := netOf("192.0.2.1")
	for i := range 30 {
		a, err := c.Reserve(ctx, n, fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		a.Fail(ctx)
	}
	if _, err := c.Reserve(ctx, n, "user99"); !errors.Is(err, ErrThrottled) {
		t.Errorf("31st identity from one network: %v, want ErrThrottled", err)
	}
	if _, err := c.Reserve(ctx, n, ""); !errors.Is(err, ErrThrottled) {
		t.Errorf("no identity from a blocked network: %v, want ErrThrottled", err)
	}
}

// keyRecorder is a Limiter that remembers the longest key it was given.
type keyRecorder struct {
	*MemoryLimiter
	longest atomic.Int64
}

func (k *keyRecorder) see(key string) {
	for {
		l := k.longest.Load()
		if int64(len(key)) <= l || k.longest.CompareAndSwap(l, int64(len(key))) {
			return
		}
	}
}

func (k *keyRecorder) Count(ctx context.Context, key string, w time.Duration, now time.Time) (int, time.Duration, error) {
	k.see(key)
	return k.MemoryLimiter.Count(ctx, key, w, now)
}

func (k *keyRecorder) Add(ctx context.Context, key string, w time.Duration, now time.Time) (int, time.Duration, error) {
	k.see(key)
	return k.MemoryLimiter.Add(ctx, key, w, now)
}

// TestAttemptKeysBounded: no identity, however long or strange, makes a
// limiter key longer than a few dozen bytes, and hashed and plain
// identities never share a key.
func TestAttemptKeysBounded(t *testing.T) {
	rec := &keyRecorder{MemoryLimiter: NewMemoryLimiter(0)}
	cfg := passwordLike
	cfg.Limiter = rec
	c := mustCounter(t, cfg)
	ctx := context.Background()
	long := strings.Repeat("x", 62_000)
	for _, id := range []string{long, "a|b", "tab\there", "ünïcode", "\x00"} {
		a, err := c.Reserve(ctx, netip.MustParsePrefix("2001:db8:1:2::/64"), id)
		if err != nil {
			t.Fatal(err)
		}
		a.Fail(ctx)
	}
	if l := rec.longest.Load(); l > 128 {
		t.Errorf("longest limiter key = %d bytes, want at most 128", l)
	}
	plain, hashed := identityKey("#abc"), identityKey(strings.Repeat("y", 65))
	if plain[0] != '=' || hashed[0] != '#' {
		t.Errorf("identityKey prefixes: %q, %q", plain, hashed)
	}
	// An identity cannot bring the separator into a key: every key keeps
	// its fields (name|i|identity|network, name|c|identity), so no
	// identity spells a key of another identity or network.
	for _, id := range []string{"a|b", "ann|192.0.2.9", "|"} {
		k := c.keysFor(netOf("192.0.2.1"), id)
		if n := strings.Count(k.idNet, "|"); n != 3 {
			t.Errorf("identity %q: key %q has %d separators, want 3", id, k.idNet, n)
		}
		if n := strings.Count(k.id, "|"); n != 2 {
			t.Errorf("identity %q: key %q has %d separators, want 2", id, k.id, n)
		}
	}
}

// TestAttemptTableBounded: the in-flight table keeps a bounded number of
// idle entries however many networks come and go.
func TestAttemptTableBounded(t *testing.T) {
	c := mustCounter(t, passwordLike)
	ctx := context.Background()
	for i := range 5000 {
		a, err := c.Reserve(ctx, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32), "ann")
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			a.Fail(ctx)
		} else {
			a.Release()
		}
	}
	if n := len(c.inflight); n > keepIdle+2 {
		t.Errorf("in-flight table holds %d entries, want at most %d", n, keepIdle+2)
	}
}

// TestAttemptWait: a request waits at most MaxWait for attempts in flight,
// and not past its context.
func TestAttemptWait(t *testing.T) {
	cfg := passwordLike
	cfg.MaxWait = 20 * time.Millisecond
	c := mustCounter(t, cfg)
	ctx := context.Background()
	n := netOf("192.0.2.1")
	var held []Attempt
	for range 5 {
		a, err := c.Reserve(ctx, n, "ann")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, a)
	}
	_, err := c.Reserve(ctx, n, "ann")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Errorf("after MaxWait: err = %v, want a *ThrottledError with RetryAfter 1s", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Reserve(cctx, n, "ann"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v, want context.Canceled", err)
	}
	for i := range held {
		held[i].Release()
		held[i].Release() // a second finish does nothing
	}
	if n := busy(c); n != 0 {
		t.Errorf("%d attempts or readers left in the in-flight table, want 0", n)
	}
	if a, err := c.Reserve(ctx, n, "ann"); err != nil {
		t.Errorf("after the holders released: %v", err)
	} else {
		a.Release()
	}
}

// TestAttemptLimiterDown: a limiter outage admits attempts (a store down
// must not lock everyone out), but a burst is still bounded in process.
func TestAttemptLimiterDown(t *testing.T) {
	cfg := passwordLike
	cfg.Limiter = brokenLimiter{}
	cfg.MaxWait = 10 * time.Millisecond
	c := mustCounter(t, cfg)
	ctx := context.Background()
	n := netOf("192.0.2.1")
	var held []Attempt
	for range 5 {
		a, err := c.Reserve(ctx, n, "ann")
		if err != nil {
			t.Fatalf("limiter down: %v", err)
		}
		held = append(held, a)
	}
	if _, err := c.Reserve(ctx, n, "ann"); !errors.Is(err, ErrThrottled) {
		t.Errorf("sixth in flight with the limiter down: %v, want ErrThrottled", err)
	}
	for i := range held {
		held[i].Fail(ctx)
	}
}

func TestNewAttemptCounterErrors(t *testing.T) {
	lim := AttemptLimit{Max: 5, Window: time.Minute}
	for name, cfg := range map[string]AttemptCounterConfig{
		"no name":             {PerNetwork: lim},
		"bad name":            {Name: "Sign In", PerNetwork: lim},
		"long name":           {Name: strings.Repeat("a", 33), PerNetwork: lim},
		"no limit":            {Name: "x"},
		"only ceiling":        {Name: "x", PerNetwork: lim, PerIdentity: lim},
		"negative max":        {Name: "x", PerNetwork: AttemptLimit{Max: -1, Window: time.Minute}},
		"no window":           {Name: "x", PerNetwork: AttemptLimit{Max: 1}},
		"negative window":     {Name: "x", PerNetwork: AttemptLimit{Max: 1, Window: -time.Second}},
		"negative wait":       {Name: "x", PerNetwork: lim, MaxWait: -1},
		"ceiling, bad window": {Name: "x", PerIdentityNetwork: lim, PerIdentity: AttemptLimit{Max: 9}},
	} {
		if _, err := NewAttemptCounter(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func BenchmarkAttemptReserveRelease(b *testing.B) {
	c := mustCounter(b, AttemptCounterConfig{PerNetwork: AttemptLimit{Max: 10, Window: time.Minute}})
	ctx := context.Background()
	n := netOf("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		a, err := c.Reserve(ctx, n, "")
		if err != nil {
			b.Fatal(err)
		}
		a.Release()
	}
}
