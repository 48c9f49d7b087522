package dbtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/sqlstore"
)

// failingVerifier refuses every credential except "good".
type failingVerifier struct{}

func (failingVerifier) Verify(_ context.Context, c string) (*auth.Principal, error) {
	if c == "good" {
		return &auth.Principal{Subject: "app", Method: auth.MethodAPIKey, CredentialID: "k1"}, nil
	}
	return nil, auth.ErrInvalidCredential
}

// throttledHandler is an Authenticator with a Throttle of maxFailures on
// lim, at the clock now.
func throttledHandler(t *testing.T, lim auth.Limiter, maxFailures int, now func() time.Time) http.Handler {
	t.Helper()
	th, err := auth.NewThrottle(auth.ThrottleConfig{MaxFailures: maxFailures, Limiter: lim, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{failingVerifier{}}, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	return a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
}

func status(h http.Handler, remote, credential string) int {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	r.Header.Set("Authorization", "Bearer "+credential)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// Two instances on one database share failure counts: failures seen by
// either throttle both.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		now := func() time.Time { return t0.Add(10 * time.Second) }
		const maxFailures = 6
		a := throttledHandler(t, st[0].Limits(), maxFailures, now)
		b := throttledHandler(t, st[1].Limits(), maxFailures, now)
		const addr = "203.0.113.9:4000"
		for i := range maxFailures {
			h := a
			if i%2 == 1 {
				h = b
			}
			if got := status(h, addr, "bad"); got != http.StatusUnauthorized {
				t.Fatalf("failure %d: got %d, want 401", i, got)
			}
		}
		for name, h := range map[string]http.Handler{"A": a, "B": b} {
			if got := status(h, addr, "good"); got != http.StatusTooManyRequests {
				t.Errorf("instance %s after %d failures on A and B: got %d, want 429", name, maxFailures, got)
			}
			if got := status(h, "203.0.113.10:4000", "good"); got != http.StatusOK {
				t.Errorf("instance %s, other address: got %d, want 200", name, got)
			}
		}
		// The next window starts from zero on both.
		later := func() time.Time { return t0.Add(time.Minute + 10*time.Second) }
		if got := status(throttledHandler(t, st[1].Limits(), maxFailures, later), addr, "good"); got != http.StatusOK {
			t.Errorf("next window: got %d, want 200", got)
		}
	})
}

// Concurrent Adds from two handles count exactly.
func TestLimiterConcurrentAdds(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		lim := [2]*sqlstore.Limits{st[0].Limits(), st[1].Limits()}
		now := t0.Add(5 * time.Second)
		seen := make([]int, racers)
		errs := race(func(i int) error {
			n, _, err := lim[i%2].Add(context.Background(), "fa:198.51.100.1", time.Minute, now)
			seen[i] = n
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Add %d: %v", i, err)
			}
		}
		n, reset, err := lim[0].Count(t.Context(), "fa:198.51.100.1", time.Minute, now)
		if err != nil || n != racers || reset != 55*time.Second {
			t.Errorf("Count = %d, %v, %v; want %d, 55s, nil", n, reset, err, racers)
		}
		// Every Add saw its own count: 1..racers, each once.
		got := make(map[int]bool)
		for _, n := range seen {
			got[n] = true
		}
		if len(got) != racers || got[0] || got[racers+1] {
			t.Errorf("counts returned by Add: %v, want each of 1..%d once", seen, racers)
		}
	})
}

func TestLimiterWindowsAndKeys(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		lim := openStore(t, db).Limits()
		ctx := t.Context()
		long := strings.Repeat("x", 10_000)
		tests := []struct {
			name  string
			key   string
			w     time.Duration
			at    time.Time
			adds  int
			want  int
			reset time.Duration
		}{
			{"aligned window", "a", time.Minute, t0.Add(45 * time.Second), 3, 3, 15 * time.Second},
			// Same key, next window: a new count.
			{"next window", "a", time.Minute, t0.Add(61 * time.Second), 1, 1, 59 * time.Second},
			// Same key, other window length: its own row.
			{"other length", "a", time.Hour, t0.Add(30 * time.Minute), 2, 2, 30 * time.Minute},
			// Too long, or not text PostgreSQL can store: hashed, still counted.
			{"long key", long, time.Minute, t0, 2, 2, time.Minute},
			{"NUL in key", "a\x00b", time.Minute, t0, 1, 1, time.Minute},
			{"invalid UTF-8", "\xff", time.Minute, t0, 1, 1, time.Minute},
		}
		for _, tt := range tests {
			for range tt.adds {
				if _, _, err := lim.Add(ctx, tt.key, tt.w, tt.at); err != nil {
					t.Fatalf("%s: Add: %v", tt.name, err)
				}
			}
			n, reset, err := lim.Count(ctx, tt.key, tt.w, tt.at)
			if err != nil || n != tt.want || reset != tt.reset {
				t.Errorf("%s: Count = %d, %v, %v; want %d, %v, nil", tt.name, n, reset, err, tt.want, tt.reset)
			}
		}
		if n, _, err := lim.Count(ctx, "never", time.Minute, t0); err != nil || n != 0 {
			t.Errorf("unknown key: Count = %d, %v; want 0, nil", n, err)
		}
		if _, _, err := lim.Add(ctx, "a", 0, t0); !errors.Is(err, sqlstore.ErrInvalidConfig) {
			t.Errorf("zero window: got %v, want ErrInvalidConfig", err)
		}
	})
}

// Ended windows are swept in bounded batches by the Adds themselves: a
// flood of distinct keys does not leave the table growing.
func TestLimiterSweep(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		lim := s.Limits()
		ctx := t.Context()
		const keys = 300
		for i := range keys {
			if _, _, err := lim.Add(ctx, fmt.Sprintf("fa:10.0.%d.%d", i/256, i%256), time.Minute, t0); err != nil {
				t.Fatal(err)
			}
		}
		rows := func() int {
			var n int
			if err := h.QueryRowContext(ctx, `SELECT COUNT(*) FROM rate_limits`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := rows(); got != keys {
			t.Fatalf("rows after %d keys: got %d, want %d", keys, got, keys)
		}
		// A minute later, new keys' Adds sweep the ended window.
		for i := range 32 {
			if _, _, err := lim.Add(ctx, fmt.Sprintf("fa:10.1.0.%d", i), time.Minute, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if got := rows(); got != 32 {
			t.Errorf("rows after two sweeps: got %d, want 32 (the live window only)", got)
		}
		// Sweep by hand: nothing ended is left; the live window stays.
		if n, err := lim.Sweep(ctx, t0.Add(time.Minute)); err != nil || n != 0 {
			t.Errorf("Sweep = %d, %v; want 0, nil", n, err)
		}
		if n, err := lim.Sweep(ctx, t0.Add(2*time.Minute)); err != nil || n != 32 {
			t.Errorf("Sweep after the window = %d, %v; want 32, nil", n, err)
		}
	})
}
