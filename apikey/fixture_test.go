package apikey_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// clock is an injectable clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingStore wraps a Store, counts the verifier-path lookups, and can be
// made to fail them as an unreachable database would.
type countingStore struct {
	apikey.Store
	gets    atomic.Int64
	touches atomic.Int64
	fail    atomic.Bool // fail every call
	// failTouch fails TouchLastUsed only.
	failTouch atomic.Bool
}

var errDatabaseDown = errors.New("test: database down")

func (s *countingStore) Key(ctx context.Context, id string) (apikey.Record, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return apikey.Record{}, errDatabaseDown
	}
	return s.Store.Key(ctx, id)
}

func (s *countingStore) TouchLastUsed(ctx context.Context, b map[string]time.Time) error {
	s.touches.Add(1)
	if s.fail.Load() || s.failTouch.Load() {
		return errDatabaseDown
	}
	return s.Store.TouchLastUsed(ctx, b)
}

// fixture is a store, a manager and a clock; the verifier and the
// authenticator are built on first use, after the test has set them up.
type fixture struct {
	t     *testing.T
	clock *clock
	store *countingStore
	mgr   *apikey.Manager
	// vcfg is used by verifier(); a test may change it before.
	vcfg apikey.Config

	v         *apikey.Verifier
	handler   http.Handler
	plainHTTP bool // send requests without TLS

	mu       sync.Mutex
	failures []error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{t: t, clock: newClock()}
	fx.store = &countingStore{Store: apikey.NewMemoryStore()}
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: fx.store, Now: fx.clock.Now})
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	fx.mgr = mgr
	fx.vcfg = apikey.Config{Manager: mgr, LastUsedInterval: -1}
	return fx
}

func (fx *fixture) verifier() *apikey.Verifier {
	fx.t.Helper()
	if fx.v == nil {
		v, err := apikey.NewVerifier(fx.vcfg)
		if err != nil {
			fx.t.Fatalf("NewVerifier: %v", err)
		}
		fx.t.Cleanup(func() { v.Close() })
		fx.v = v
	}
	return fx.v
}

// serve sends credential through the whole chain: RequireHTTPS → Authenticator →
// RequireScopes("data:read") → a handler answering 200.
func (fx *fixture) serve(credential string) *httptest.ResponseRecorder {
	fx.t.Helper()
	if fx.handler == nil {
		record := func(e auth.Event) {
			fx.mu.Lock()
			fx.failures = append(fx.failures, e.Err)
			fx.mu.Unlock()
		}
		authn, err := auth.New(auth.Config{
			Verifiers: []auth.Verifier{fx.verifier()},
			OnFailure: record,
		})
		if err != nil {
			fx.t.Fatalf("auth.New: %v", err)
		}
		fx.handler = auth.RequireHTTPS(auth.HTTPSConfig{OnFailure: record})(
			authn.Handler(auth.RequireScopes("data:read")(okHandler())))
	}
	// NewRequest sets r.TLS for an https URL; set it explicitly anyway,
	// as a TLS server would.
	r := httptest.NewRequest("GET", "http://api.example/v1/data", nil)
	if !fx.plainHTTP {
		r.TLS = &tls.ConnectionState{}
	}
	r.Header.Set("Authorization", "Bearer "+credential)
	w := httptest.NewRecorder()
	fx.handler.ServeHTTP(w, r)
	return w
}

// lastFailure returns the reason of the last refused request, or nil.
func (fx *fixture) lastFailure() error {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	if len(fx.failures) == 0 {
		return nil
	}
	return fx.failures[len(fx.failures)-1]
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.FromContext(r.Context()); !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// create makes a key with scope data:read unless params say otherwise.
func (fx *fixture) create(p apikey.CreateParams) (string, apikey.Record) {
	fx.t.Helper()
	if p.Name == "" {
		p.Name = "test key"
	}
	if p.Owner == "" {
		p.Owner = "app-1"
	}
	if p.Scopes.Len() == 0 {
		p.Scopes = auth.MustScopes("data:read")
	}
	key, rec, err := fx.mgr.Create(fx.t.Context(), p)
	if err != nil {
		fx.t.Fatalf("Create: %v", err)
	}
	return key, rec
}
