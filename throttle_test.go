package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// idVerifier is the stub verifier that can also name credential IDs:
// "k_<id>_<secret>" has ID <id>; only secret "good" verifies.
type idVerifier struct{ calls atomic.Int64 }

func (v *idVerifier) MatchShape(c string) bool { return strings.HasPrefix(c, "k_") }
func (v *idVerifier) CredentialID(c string) (string, bool) {
	parts := strings.Split(c, "_")
	if len(parts) != 3 {
		return "", false
	}
	return parts[1], true
}
func (v *idVerifier) Verify(ctx context.Context, c string) (*Principal, error) {
	v.calls.Add(1)
	if c == "k_down_x" {
		return nil, ErrUnavailable
	}
	if strings.HasSuffix(c, "_good") {
		id, _ := v.CredentialID(c)
		return &Principal{Subject: "app", Method: MethodAPIKey, CredentialID: id}, nil
	}
	return nil, ErrInvalidCredential
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newThrottled(t *testing.T, tc ThrottleConfig) (http.Handler, *idVerifier, *clock, *[]error) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	if tc.Now == nil {
		tc.Now = clk.now
	}
	th, err := NewThrottle(tc)
	if err != nil {
		t.Fatal(err)
	}
	v := &idVerifier{}
	var reasons []error
	a, err := New(Config{Verifiers: []Verifier{v}, Throttle: th, OnFailure: func(e Event) { reasons = append(reasons, e.Err) }})
	if err != nil {
		t.Fatal(err)
	}
	return a.Handler(okHandler()), v, clk, &reasons
}

func req(remote, auth string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	if auth != "" {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	return r
}

func TestThrottleFailuresPerAddress(t *testing.T) {
	h, v, clk, reasons := newThrottled(t, ThrottleConfig{MaxFailures: 5, FailureWindow: time.Minute})
	var throttled int
	for i := range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("198.51.100.7:1000", fmt.Sprintf("k_id%d_bad", i)))
		switch rec.Code {
		case 401:
		case 429:
			throttled++
			if got := rec.Body.String(); got != `{"error":"too_many_requests","message":"Too many requests"}` {
				t.Fatalf("429 body = %q", got)
			}
			if got := rec.Header().Get("Retry-After"); got != "60" {
				t.Fatalf("Retry-After = %q, want 60", got)
			}
		default:
			t.Fatalf("attempt %d: status %d", i, rec.Code)
		}
	}
	if n := v.calls.Load(); n != 5 {
		t.Errorf("verifier called %d times, want 5 (MaxFailures)", n)
	}
	if throttled != 995 {
		t.Errorf("throttled %d, want 995", throttled)
	}
	if last := (*reasons)[len(*reasons)-1]; !errors.Is(last, ErrThrottled) {
		t.Errorf("hook reason = %v, want ErrThrottled", last)
	}
	// Even a valid key is refused from that address inside the window...
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("198.51.100.7:1000", "k_mine_good"))
	if rec.Code != 429 {
		t.Errorf("valid key from throttled address: %d, want 429", rec.Code)
	}
	// ...but another address is unaffected,
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req("198.51.100.8:1000", "k_mine_good"))
	if rec.Code != 200 {
		t.Errorf("other address: %d, want 200", rec.Code)
	}
	// and after the window the address is served again.
	clk.advance(time.Minute)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req("198.51.100.7:1000", "k_mine_good"))
	if rec.Code != 200 {
		t.Errorf("after window: %d, want 200", rec.Code)
	}
}

func TestThrottleFailuresPerCredential(t *testing.T) {
	h, v, _, reasons := newThrottled(t, ThrottleConfig{MaxFailures: 3, PerCredential: true, CredentialCeiling: 30})
	do := func(remote, cred string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(remote, cred))
		return rec.Code
	}
	// Guessing one key's secret from 15 networks, twice each: every guess
	// is evaluated until the ID's ceiling (30) is reached.
	for n := range 15 {
		for i := range 2 {
			if got := do(fmt.Sprintf("203.0.113.%d:1", n), fmt.Sprintf("k_target_guess%d", i)); got != 401 {
				t.Fatalf("network %d guess %d: %d, want 401", n, i, got)
			}
		}
	}
	if n := v.calls.Load(); n != 30 {
		t.Fatalf("verifier calls = %d, want 30", n)
	}
	// Past the ceiling, a network that has failed for the ID is refused
	// for it, though it is under its own limit (2 < 3)...
	if got := do("203.0.113.0:1", "k_target_guess9"); got != 429 {
		t.Errorf("failed network after the ceiling: %d, want 429", got)
	}
	if last := (*reasons)[len(*reasons)-1]; !errors.Is(last, ErrThrottled) {
		t.Errorf("hook reason = %v, want ErrThrottled", last)
	}
	// ...but not for other IDs,
	if got := do("203.0.113.0:1", "k_other_good"); got != 200 {
		t.Errorf("failed network, another ID: %d, want 200", got)
	}
	// the owner on a network that has not failed gets in: knowing an ID
	// is not enough to lock its owner out,
	if got := do("198.51.100.1:1", "k_target_good"); got != 200 {
		t.Errorf("owner on a clean network: %d, want 200", got)
	}
	// and a fresh network gets one guess, not MaxFailures.
	if got := do("198.51.100.2:1", "k_target_guessA"); got != 401 {
		t.Errorf("fresh network, first guess: %d, want 401", got)
	}
	if got := do("198.51.100.2:1", "k_target_guessB"); got != 429 {
		t.Errorf("fresh network, second guess after the ceiling: %d, want 429", got)
	}
}

func TestThrottlePerCredentialOffByDefault(t *testing.T) {
	h, _, _, reasons := newThrottled(t, ThrottleConfig{MaxFailures: 3})
	for i := range 10 {
		h.ServeHTTP(httptest.NewRecorder(), req(fmt.Sprintf("203.0.113.%d:1", i), "k_target_guess"))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("203.0.113.200:1", "k_target_good"))
	if rec.Code != 200 {
		t.Errorf("real key after forged ones from other addresses: %d, want 200", rec.Code)
	}
	if n := len(*reasons); n != 10 {
		t.Errorf("hook calls = %d, want 10", n)
	}
}

func TestThrottleWhatCounts(t *testing.T) {
	h, _, _, _ := newThrottled(t, ThrottleConfig{MaxFailures: 2})
	// No credential and our own outage are not the caller's failures.
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), req("192.0.2.1:1", ""))
		h.ServeHTTP(httptest.NewRecorder(), req("192.0.2.1:1", "k_down_x"))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("192.0.2.1:1", "k_a_good"))
	if rec.Code != 200 {
		t.Fatalf("after misses and outages: %d, want 200", rec.Code)
	}
	// Malformed credentials are failures, before any verifier.
	for range 2 {
		h.ServeHTTP(httptest.NewRecorder(), req("192.0.2.2:1", `k_"`))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req("192.0.2.2:1", "k_a_good"))
	if rec.Code != 429 {
		t.Errorf("after malformed: %d, want 429", rec.Code)
	}
}

func TestMemoryLimiterBounded(t *testing.T) {
	const size = 1024
	m := NewMemoryLimiter(size)
	th, err := NewThrottle(ThrottleConfig{Limiter: m, MaxFailures: 3})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Verifiers: []Verifier{&idVerifier{}}, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(okHandler())
	// The attacker gets itself blocked first...
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), req("198.51.100.1:1", "k_x_bad"))
	}
	// ...then floods 100 000 distinct addresses to push its entry out.
	for i := range 100_000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		h.ServeHTTP(httptest.NewRecorder(), req(netip.AddrPortFrom(addr, 1).String(), "k_y_bad"))
	}
	if n := m.Len(); n > size {
		t.Errorf("table holds %d entries, want at most %d", n, size)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("198.51.100.1:1", "k_x_bad"))
	if rec.Code != 429 {
		t.Errorf("blocked address after flood: %d, want 429 (heavy entries survive eviction)", rec.Code)
	}
}

func TestRateLimit(t *testing.T) {
	h, _, clk, reasons := newThrottled(t, ThrottleConfig{RateLimit: 3, RateLimitWindow: 10 * time.Second})
	for i := range 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("192.0.2.1:1", "k_app_good"))
		want, remaining := 200, fmt.Sprint(2-i)
		if i >= 3 {
			want, remaining = 429, "0"
		}
		if rec.Code != want {
			t.Fatalf("request %d: %d, want %d", i, rec.Code, want)
		}
		if got := rec.Header().Get("RateLimit-Limit"); got != "3" {
			t.Errorf("RateLimit-Limit = %q", got)
		}
		if got := rec.Header().Get("RateLimit-Remaining"); got != remaining {
			t.Errorf("request %d: RateLimit-Remaining = %q, want %s", i, got, remaining)
		}
		if got := rec.Header().Get("RateLimit-Reset"); got != "10" {
			t.Errorf("RateLimit-Reset = %q, want 10", got)
		}
		if want == 429 && rec.Header().Get("Retry-After") != "10" {
			t.Errorf("Retry-After = %q, want 10", rec.Header().Get("Retry-After"))
		}
	}
	if last := (*reasons)[len(*reasons)-1]; !errors.Is(last, ErrRateLimited) {
		t.Errorf("hook reason = %v, want ErrRateLimited", last)
	}
	// Another key has its own budget; the window resets.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("192.0.2.1:1", "k_other_good"))
	if rec.Code != 200 {
		t.Errorf("other key: %d, want 200", rec.Code)
	}
	clk.advance(10 * time.Second)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req("192.0.2.1:1", "k_app_good"))
	if rec.Code != 200 {
		t.Errorf("after window: %d, want 200", rec.Code)
	}
}

type brokenLimiter struct{}

func (brokenLimiter) Count(context.Context, string, time.Duration, time.Time) (int, time.Duration, error) {
	return 0, 0, errors.New("down")
}
func (brokenLimiter) Add(context.Context, string, time.Duration, time.Time) (int, time.Duration, error) {
	return 0, 0, errors.New("down")
}

func TestThrottleLimiterDown(t *testing.T) {
	// A limiter outage must not lock everyone out: authentication decides.
	h, _, _, _ := newThrottled(t, ThrottleConfig{Limiter: brokenLimiter{}, RateLimit: 1})
	for _, c := range []struct {
		cred string
		want int
	}{{"k_a_good", 200}, {"k_a_good", 200}, {"k_a_bad", 401}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("192.0.2.1:1", c.cred))
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d", c.cred, rec.Code, c.want)
		}
	}
}

func TestNewThrottleErrors(t *testing.T) {
	for name, cfg := range map[string]ThrottleConfig{
		"negative max":   {MaxFailures: -1},
		"negative rate":  {RateLimit: -1},
		"invalid prefix": {TrustedProxies: []netip.Prefix{{}}},
	} {
		if _, err := NewThrottle(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
}
