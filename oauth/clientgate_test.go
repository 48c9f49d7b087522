package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// tokenVerifier is a stand-in access-token verifier: "tok.CLIENT" is a
// valid token of client CLIENT, "tok." one without a client ID, anything
// else is invalid. It claims credentials that start with "tok.".
type tokenVerifier struct{ ready bool }

func (tokenVerifier) Verify(_ context.Context, cred string) (*auth.Principal, error) {
	id, ok := strings.CutPrefix(cred, "tok.")
	if !ok {
		return nil, auth.ErrInvalidCredential
	}
	return &auth.Principal{Subject: id, ClientID: id, Method: auth.MethodClientCredentials, CredentialID: "jti-" + id}, nil
}

func (tokenVerifier) MatchShape(cred string) bool { return strings.HasPrefix(cred, "tok.") }

func (v tokenVerifier) Ready() bool { return v.ready }

// countingClients counts the lookups that reach the client store, can
// fail them, and can run a hook inside a lookup after the store answered.
type countingClients struct {
	oauth.ClientStore
	lookups atomic.Int64
	fail    atomic.Bool
	during  func(id string)
}

func (c *countingClients) Client(ctx context.Context, id string) (*oauth.Client, error) {
	c.lookups.Add(1)
	if c.fail.Load() {
		return nil, errors.New("database is down")
	}
	cl, err := c.ClientStore.Client(ctx, id)
	if c.during != nil {
		c.during(id)
	}
	return cl, err
}

func addClient(t testing.TB, s oauth.ClientStore, id string) {
	t.Helper()
	if err := s.CreateClient(context.Background(), &oauth.Client{ID: id, Name: id, Type: oauth.ClientServer}); err != nil {
		t.Fatal(err)
	}
}

func newGate(t testing.TB, clients oauth.ClientStore, cfg oauth.ClientGateConfig) *oauth.ClientGate {
	t.Helper()
	cfg.Clients = clients
	if cfg.Verifier == nil {
		cfg.Verifier = tokenVerifier{ready: true}
	}
	g, err := oauth.NewClientGate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewClientGateConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  oauth.ClientGateConfig
	}{
		{"no verifier", oauth.ClientGateConfig{Clients: oauth.NewMemoryClientStore()}},
		{"no clients", oauth.ClientGateConfig{Verifier: tokenVerifier{}}},
		{"negative size", oauth.ClientGateConfig{Verifier: tokenVerifier{}, Clients: oauth.NewMemoryClientStore(), CacheSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := oauth.NewClientGate(tt.cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestClientGateVerify(t *testing.T) {
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	addClient(t, store, "alive")
	g := newGate(t, store, oauth.ClientGateConfig{})
	tests := []struct {
		name     string
		cred     string
		wantErrs []error // nil: accepted
	}{
		{"existing client", "tok.alive", nil},
		{"unknown client", "tok.gone", []error{auth.ErrRevoked, oauth.ErrClientDeleted}},
		// A token that verified but names no client cannot be checked:
		// refused, as the gate cannot say its client exists.
		{"no client ID", "tok.", []error{auth.ErrRevoked, oauth.ErrClientDeleted}},
		// The verifier's own refusal is returned as it is, and the store
		// is not asked.
		{"invalid token", "garbage", []error{auth.ErrInvalidCredential}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := g.Verify(context.Background(), tt.cred)
			if tt.wantErrs == nil {
				if err != nil || p == nil || p.ClientID != "alive" {
					t.Fatalf("got %v, %v; want the principal of alive", p, err)
				}
				return
			}
			if p != nil {
				t.Errorf("got principal %+v, want nil", p)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("got %v, want it to wrap %v", err, want)
				}
			}
		})
	}
	// A store that cannot answer is not a verdict.
	store.fail.Store(true)
	_, err := g.Verify(context.Background(), "tok.never-seen")
	if !errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrRevoked) {
		t.Errorf("store down: got %v, want ErrUnavailable and not ErrRevoked", err)
	}
}

func TestClientGateCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	addClient(t, store, "a")
	g := newGate(t, store, oauth.ClientGateConfig{CacheTTL: time.Minute, Now: func() time.Time { return now }})
	check := func(cred string, want bool) {
		t.Helper()
		_, err := g.Verify(ctx, cred)
		if got := err == nil; got != want {
			t.Fatalf("Verify(%s): got err %v, want accepted=%v", cred, err, want)
		}
	}

	for range 100 {
		check("tok.a", true)
	}
	if n := store.lookups.Load(); n != 1 {
		t.Errorf("store lookups for 100 verifications: got %d, want 1", n)
	}

	// An unknown client is remembered too: a deleted client's tokens
	// do not reach the store on every request.
	for range 100 {
		check("tok.b", false)
	}
	if n := store.lookups.Load(); n != 2 {
		t.Errorf("store lookups after 100 refusals: got %d, want 2", n)
	}

	// Created elsewhere: the remembered "unknown" stands until the gate
	// is told (this is what the change log is for) ...
	addClient(t, store, "b")
	check("tok.b", false)
	g.Invalidate("b")
	// ... and then the next token reads the store.
	check("tok.b", true)

	// Deleted and told: refused on the next request.
	if err := store.DeleteClient(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	check("tok.a", true) // not told yet
	g.Invalidate("a")
	check("tok.a", false)

	// Deleted and never told: refused once the TTL has passed.
	if err := store.DeleteClient(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second)
	check("tok.b", true)
	now = now.Add(time.Second)
	check("tok.b", false)

	// InvalidateAll forgets everything.
	addClient(t, store, "c")
	check("tok.c", true)
	n := store.lookups.Load()
	g.InvalidateAll()
	check("tok.c", true)
	check("tok.b", false)
	if got := store.lookups.Load() - n; got != 2 {
		t.Errorf("store lookups after InvalidateAll: got %d, want 2", got)
	}
}

func TestClientGateNoCache(t *testing.T) {
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	addClient(t, store, "a")
	g := newGate(t, store, oauth.ClientGateConfig{CacheTTL: -1})
	for range 10 {
		if _, err := g.Verify(context.Background(), "tok.a"); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.lookups.Load(); n != 10 {
		t.Errorf("store lookups with CacheTTL -1: got %d, want 10", n)
	}
	if n := oauth.GateLen(g); n != 0 {
		t.Errorf("gate remembers %d clients with CacheTTL -1, want 0", n)
	}
}

// TestClientGateDeleteDuringLookup: a lookup that read "exists" just
// before the client was deleted and the gate told answers its own request
// with what it read, but its answer is not remembered.
func TestClientGateDeleteDuringLookup(t *testing.T) {
	ctx := context.Background()
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	addClient(t, store, "a")
	g := newGate(t, store, oauth.ClientGateConfig{})
	store.during = func(id string) {
		store.during = nil
		store.ClientStore.DeleteClient(ctx, id)
		g.Invalidate(id)
	}
	if _, err := g.Verify(ctx, "tok.a"); err != nil {
		t.Fatalf("the lookup that raced the deletion: %v", err)
	}
	if _, err := g.Verify(ctx, "tok.a"); !errors.Is(err, oauth.ErrClientDeleted) {
		t.Errorf("after the deletion: got %v, want ErrClientDeleted", err)
	}
}

func TestClientGateBounded(t *testing.T) {
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	const size = 100
	g := newGate(t, store, oauth.ClientGateConfig{CacheSize: size})
	for i := range 1000 {
		id := fmt.Sprintf("c%d", i)
		if i%2 == 0 {
			addClient(t, store, id)
		}
		_, err := g.Verify(context.Background(), "tok."+id)
		if got, want := err == nil, i%2 == 0; got != want {
			t.Fatalf("client %s: accepted=%v, want %v (%v)", id, got, want, err)
		}
		if n := oauth.GateLen(g); n > size {
			t.Fatalf("gate remembers %d clients, want at most %d", n, size)
		}
	}
	// Evicted clients are read again, with the right answer.
	for i := range 1000 {
		_, err := g.Verify(context.Background(), fmt.Sprintf("tok.c%d", i))
		if got, want := err == nil, i%2 == 0; got != want {
			t.Fatalf("client c%d again: accepted=%v, want %v", i, got, want)
		}
	}
}

// TestClientGateRace verifies, deletes, creates and invalidates at once
// (run with -race). Once the churn stops and the gate is told, every
// answer matches the store.
func TestClientGateRace(t *testing.T) {
	ctx := context.Background()
	store := oauth.NewMemoryClientStore()
	const clients = 20
	for i := range clients {
		addClient(t, store, fmt.Sprintf("c%d", i))
	}
	g := newGate(t, store, oauth.ClientGateConfig{CacheSize: clients / 2})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := g.Verify(ctx, fmt.Sprintf("tok.c%d", (i+w)%clients))
				if err != nil && !errors.Is(err, oauth.ErrClientDeleted) {
					t.Errorf("Verify: %v", err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 500 {
			id := fmt.Sprintf("c%d", i%clients)
			if store.DeleteClient(ctx, id) != nil {
				store.CreateClient(ctx, &oauth.Client{ID: id, Name: id, Type: oauth.ClientServer})
			}
			if i%50 == 0 {
				g.InvalidateAll()
			} else {
				g.Invalidate(id)
			}
		}
		close(stop)
	})
	wg.Wait()
	for i := range clients {
		id := fmt.Sprintf("c%d", i)
		_, serr := store.Client(ctx, id)
		_, gerr := g.Verify(ctx, "tok."+id)
		if (serr == nil) != (gerr == nil) {
			t.Errorf("client %s: store says %v, gate says %v", id, serr, gerr)
		}
	}
}

func TestClientGateShapeAndReadiness(t *testing.T) {
	store := oauth.NewMemoryClientStore()
	g := newGate(t, store, oauth.ClientGateConfig{Verifier: tokenVerifier{ready: false}})
	if !g.MatchShape("tok.x") || g.MatchShape("adx_live_x") {
		t.Error("MatchShape does not follow the wrapped verifier")
	}
	if g.Ready() {
		t.Error("Ready: got true, want the wrapped verifier's false")
	}
	// A verifier without ShapeMatcher or Readier claims everything and is
	// ready; so is the gate.
	plain := newGate(t, store, oauth.ClientGateConfig{Verifier: auth.VerifierFunc(tokenVerifier{}.Verify)})
	if !plain.MatchShape("anything") || !plain.Ready() {
		t.Error("a gate on a plain verifier should claim everything and be ready")
	}
}

// TestClientGateServer: through an Authenticator and a real HTTP server,
// a deleted client's token gets the generic invalid_token answer, the
// reason goes to the hook only, and a store outage is a 503.
func TestClientGateServer(t *testing.T) {
	store := &countingClients{ClientStore: oauth.NewMemoryClientStore()}
	addClient(t, store, "alive")
	g := newGate(t, store, oauth.ClientGateConfig{})
	var mu sync.Mutex
	var reasons []error
	authn, err := auth.New(auth.Config{
		Verifiers: []auth.Verifier{g},
		OnFailure: func(e auth.Event) { mu.Lock(); reasons = append(reasons, e.Err); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprint(w, p.ClientID)
	})))
	defer srv.Close()
	get := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get("tok.alive"); code != 200 || body != "alive" {
		t.Errorf("live client: got %d %q, want 200 alive", code, body)
	}
	if err := store.DeleteClient(context.Background(), "alive"); err != nil {
		t.Fatal(err)
	}
	g.Invalidate("alive")
	if code, body := get("tok.alive"); code != 401 || body != `{"error":"invalid_token","message":"Authentication failed"}` {
		t.Errorf("deleted client: got %d %s, want 401 with the generic body", code, body)
	}
	mu.Lock()
	if len(reasons) != 1 || !errors.Is(reasons[0], oauth.ErrClientDeleted) {
		t.Errorf("hook reasons: got %v, want one ErrClientDeleted", reasons)
	}
	mu.Unlock()
	store.fail.Store(true)
	if code, _ := get("tok.other"); code != 503 {
		t.Errorf("store down: got %d, want 503", code)
	}
}
