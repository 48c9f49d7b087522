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
	h, v, _, _ := newThrottled(t, ThrottleConfig{MaxFailures: 3, PerCredential: true})
	// Guessing one key's secret from many addresses is throttled per key.
	for i := range 20 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req(fmt.Sprintf("203.0.113.%d:1", i), "k_target_guess"+fmt.Sprint(i)))
		want := 401
		if i >= 3 {
			want = 429
		}
		if rec.Code != want {
			t.Fatalf("attempt %d: %d, want %d", i, rec.Code, want)
		}
	}
	if n := v.calls.Load(); n != 3 {
		t.Errorf("verifier calls = %d, want 3", n)
	}
	// The price of PerCredential: the real key is refused too until the
	// window ends.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req("203.0.113.200:1", "k_target_good"))
	if rec.Code != 429 {
		t.Errorf("real key of a throttled ID: %d, want 429", rec.Code)
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

func TestThrottleClientAddr(t *testing.T) {
	th, err := NewThrottle(ThrottleConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"ipv4", "192.0.2.1:443", nil, "192.0.2.1"},
		// One /64 is one subscriber: grouping stops address rotation.
		{"ipv6 grouped", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"ipv6 same /64", "[2001:db8:1:2:ffff::1]:443", nil, "2001:db8:1:2::/64"},
		{"mapped", "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		// X-Forwarded-For only from a trusted proxy.
		{"xff untrusted", "192.0.2.9:443", []string{"203.0.113.5"}, "192.0.2.9"},
		{"xff trusted", "10.0.0.1:443", []string{"203.0.113.5"}, "203.0.113.5"},
		// The client can prepend anything; the rightmost untrusted wins.
		{"xff spoofed left", "10.0.0.1:443", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5"},
		{"xff proxies chain", "10.0.0.1:443", []string{"203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"xff two headers", "10.0.0.1:443", []string{"1.2.3.4", "203.0.113.5"}, "203.0.113.5"},
		// Garbage in the chain: fall back to the peer.
		{"xff garbage", "10.0.0.1:443", []string{"nonsense"}, "10.0.0.1"},
		{"bad remote", "???", nil, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := th.ClientAddr(r); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
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

// FuzzClientAddr feeds hostile RemoteAddr and X-Forwarded-For values to
// the client-address rule: it never panics, and always names an IPv4
// address, an IPv6 /64 or the shared "invalid" bucket.
func FuzzClientAddr(f *testing.F) {
	th, err := NewThrottle(ThrottleConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{
		{"10.0.0.1:1", "203.0.113.5"}, {"10.0.0.1:1", "1.2.3.4, 10.0.0.2"}, {"[::1]:1", "2001:db8::1"},
		{"192.0.2.1:1", "1.1.1.1"}, {"garbage", ""}, {"10.0.0.1:1", ",,,"}, {"[fe80::1%eth0]:1", "fe80::2%x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := th.ClientAddr(r)
		if got == "invalid" {
			return
		}
		if a, err := netip.ParseAddr(got); err == nil && a.Is4() {
			return
		}
		if p, err := netip.ParsePrefix(got); err == nil && p.Bits() == 64 && p.Addr().Is6() {
			return
		}
		t.Fatalf("ClientAddr(%q, %q) = %q", remote, xff, got)
	})
}
