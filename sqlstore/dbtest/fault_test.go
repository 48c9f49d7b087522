package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// proxy forwards TCP connections on loopback to the database and can cut
// them all, as a crashed server or a broken network would.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]bool)}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			// Like a server that is not there: the client's connect
			// fails at once.
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// cut closes every open connection and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestPostgresFault: with the connection to PostgreSQL severed, API key
// verification answers 503 (never 401, never allow), for a real key and an
// unknown one alike; once the database is reachable again, the same
// process, Store and verifier recover on their own.
func TestPostgresFault(t *testing.T) {
	db := postgresDB(t)
	target := net.JoinHostPort(db.pgConfig.Host, strconv.Itoa(int(db.pgConfig.Port)))
	if db.pgConfig.Host == "" || db.pgConfig.Host[0] == '/' {
		t.Skip("the fault test needs a TCP DSN, not a Unix socket")
	}
	px := newProxy(t, target)
	cfg := db.pgConfig.Copy()
	cfg.Host, cfg.Port = "127.0.0.1", uint16(px.ln.Addr().(*net.TCPAddr).Port)
	cfg.ConnectTimeout = 2 * time.Second
	cfg.Fallbacks = nil
	h := stdlib.OpenDB(*cfg)
	defer h.Close()
	s := openStoreOn(t, h, sqlstore.Postgres)

	m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	// Every request reads the store: the cache-miss path.
	v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), CacheTTL: -1, NegativeCacheTTL: -1, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var mu sync.Mutex
	var failures []error
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}, OnFailure: func(ev auth.Event) {
		mu.Lock()
		failures = append(failures, ev.Err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	h2 := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	// A well-formed key nobody created.
	m2, _ := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	unknown, _, _ := m2.Create(t.Context(), apikey.CreateParams{Name: "x", Owner: "o"})

	status := func(key string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, "GET", "https://api.example/", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h2.ServeHTTP(w, r)
		return w.Code
	}

	if got := status(key); got != http.StatusOK {
		t.Fatalf("before the fault: got %d, want 200", got)
	}
	if got := status(unknown); got != http.StatusUnauthorized {
		t.Fatalf("unknown key before the fault: got %d, want 401", got)
	}

	// A second instance in this process, watching the change log through
	// the proxy with LISTEN only (its poll is an hour away).
	watcher := newWatchedVerifier(t, h)

	px.cut()
	for _, k := range []string{key, unknown, key} {
		if got := status(k); got != http.StatusServiceUnavailable {
			t.Errorf("database unreachable: got %d, want 503", got)
		}
	}
	mu.Lock()
	last := failures[len(failures)-1]
	mu.Unlock()
	if !errors.Is(last, auth.ErrUnavailable) {
		t.Errorf("hook error while unreachable: got %v, want auth.ErrUnavailable", last)
	}

	px.restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := status(key)
		if got == http.StatusOK {
			break
		}
		if got != http.StatusServiceUnavailable {
			t.Fatalf("recovering: got %d, want 503 then 200", got)
		}
		if time.Now().After(deadline) {
			t.Fatal("no recovery 10 s after the database came back")
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	if got := status(unknown); got != http.StatusUnauthorized {
		t.Errorf("unknown key after recovery: got %d, want 401", got)
	}

	// The watcher's LISTEN connection died with the cut; it reconnects
	// by itself, so a revocation made elsewhere after the recovery still
	// reaches it in time.
	direct := openStore(t, db)
	md, err := apikey.NewManager(apikey.ManagerConfig{Store: direct.APIKeys()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.v.Verify(t.Context(), key); err != nil {
		t.Fatalf("watched verifier before revocation: %v", err)
	}
	rec, _ := apikey.Parse(key)
	if err := md.Revoke(t.Context(), rec.ID, "after the fault"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, err := watcher.v.Verify(t.Context(), key)
		if errors.Is(err, auth.ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revocation after the fault did not reach the watcher: Verify got %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

type watchedVerifier struct {
	v *apikey.Verifier
}

// newWatchedVerifier opens a Store on h that follows the change log with
// LISTEN/NOTIFY only, and a verifier caching keys for an hour that the
// watcher invalidates.
func newWatchedVerifier(t *testing.T, h *sql.DB) *watchedVerifier {
	s := openStoreCfg(t, h, sqlstore.Config{Dialect: sqlstore.Postgres, InsecurePlaintextSigningKeys: true, PollInterval: time.Hour})
	v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), CacheTTL: time.Hour, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	watch(t, s, invalidateAPIKeys(v))
	return &watchedVerifier{v: v}
}
