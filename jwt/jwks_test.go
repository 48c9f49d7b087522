package jwt_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// jwksServer is a JWKS endpoint whose behaviour tests change, counting
// requests.
type jwksServer struct {
	*httptest.Server
	hits    atomic.Int32
	mu      sync.Mutex
	handler http.HandlerFunc
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(body)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(body []byte) {
	s.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

func (s *jwksServer) set(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// remoteVerifier returns a verifier of the server's keys, ready.
func remoteVerifier(t *testing.T, s *jwksServer, cfg jwt.Config) *jwt.Verifier {
	t.Helper()
	if cfg.Algorithms == nil {
		cfg.Algorithms = []string{jwt.ES256, jwt.RS256}
	}
	cfg.JWKSURLs = []string{s.URL}
	v := newVerifier(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return v
}

func expectVerify(t *testing.T, v *jwt.Verifier, tok string, want error) {
	t.Helper()
	_, err := v.Verify(t.Context(), tok)
	if want == nil && err != nil || !errors.Is(err, want) {
		t.Errorf("got %v, want %v", err, want)
	}
}

// TestJWKSRotation: a token signed with a key published after the last
// fetch is accepted after one more fetch.
func TestJWKSRotation(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k1}))
	v := remoteVerifier(t, s, jwt.Config{})
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
	s.serve(jwks(t, []*testKey{k1, k2}))
	expectVerify(t, v, k2.token(t, claims(nil)), nil)
	if got := s.hits.Load(); got != 2 {
		t.Errorf("got %d fetches, want 2 (initial and one for the new kid)", got)
	}
}

// TestJWKSUnknownKidFlood: a thousand tokens with random kids, from many
// goroutines, cause at most one fetch.
func TestJWKSUnknownKidFlood(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	v := remoteVerifier(t, s, jwt.Config{})
	toks := make([]string, 1000)
	for i := range toks {
		var id [8]byte
		rand.Read(id[:])
		toks[i] = k.sign(t, jwt.ES256, `{"alg":"ES256","typ":"at+jwt","kid":"`+hex.EncodeToString(id[:])+`"}`, claims(nil))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(toks))
	for g := range 20 {
		wg.Go(func() {
			for _, tok := range toks[g*50 : (g+1)*50] {
				if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwt.ErrUnknownKey) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got %v, want ErrUnknownKey", err)
	}
	if got := s.hits.Load(); got > 2 {
		t.Errorf("got %d fetches, want at most 2 (initial and one for unknown kids)", got)
	}
}

// TestJWKSOtherIssuerNoFetch: the issuer is checked before the key, so a
// token of another issuer never causes a fetch.
func TestJWKSOtherIssuerNoFetch(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "unknown", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{newTestKey(t, jwt.ES256, "k1", 0)}))
	v := remoteVerifier(t, s, jwt.Config{})
	expectVerify(t, v, k.token(t, claims(map[string]any{"iss": "https://evil.example"})), jwt.ErrIssuer)
	if got := s.hits.Load(); got != 1 {
		t.Errorf("got %d fetches, want 1", got)
	}
}

// TestJWKSBadResponses: a refresh that fails keeps the previous keys; a
// source that never loaded makes tokens unavailable (503), not invalid.
func TestJWKSBadResponses(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	good := jwks(t, []*testKey{k})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"10 MB body", func(w http.ResponseWriter, r *http.Request) {
			w.Write(good[:len(good)-2])
			w.Write([]byte(strings.Repeat(" ", 10<<20)))
			w.Write(good[len(good)-2:])
		}},
		{"HTML body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body>Sign in</body></html>"))
		}},
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}},
		{"empty set", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }},
		{"slow server", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" after a good fetch", func(t *testing.T) {
			s := newJWKSServer(t, good)
			var reported atomic.Int32
			v := remoteVerifier(t, s, jwt.Config{
				FetchTimeout:   100 * time.Millisecond,
				OnRefreshError: func(string, error) { reported.Add(1) },
			})
			s.set(tc.handler)
			if err := v.Refresh(t.Context()); !errors.Is(err, jwt.ErrFetch) {
				t.Errorf("Refresh: got %v, want ErrFetch", err)
			}
			if reported.Load() != 1 {
				t.Errorf("got %d OnRefreshError calls, want 1", reported.Load())
			}
			expectVerify(t, v, k.token(t, claims(nil)), nil)
			if !v.Ready() {
				t.Error("got not ready, want ready: keys were loaded once")
			}
		})
		t.Run(tc.name+" first", func(t *testing.T) {
			s := newJWKSServer(t, good)
			s.set(tc.handler)
			v := newVerifier(t, jwt.Config{
				Algorithms:   []string{jwt.ES256},
				JWKSURLs:     []string{s.URL},
				FetchTimeout: 100 * time.Millisecond,
				RefreshWait:  50 * time.Millisecond,
			})
			if err := v.Refresh(t.Context()); !errors.Is(err, jwt.ErrFetch) {
				t.Errorf("Refresh: got %v, want ErrFetch", err)
			}
			_, err := v.Verify(t.Context(), k.token(t, claims(nil)))
			if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, jwt.ErrNoKeys) {
				t.Errorf("got %v, want ErrUnavailable and ErrNoKeys", err)
			}
			if v.Ready() {
				t.Error("got ready, want not ready")
			}
		})
	}
}

// TestJWKSWaitBound: a request whose kid is unknown waits for the fetch
// it caused at most RefreshWait, however slow the server.
func TestJWKSWaitBound(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	v := remoteVerifier(t, s, jwt.Config{RefreshWait: 50 * time.Millisecond, FetchTimeout: 10 * time.Second})
	release := make(chan struct{})
	defer close(release)
	s.set(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	expectVerify(t, v, newTestKey(t, jwt.ES256, "new", 0).token(t, claims(nil)), jwt.ErrUnknownKey)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("got a wait of %v, want about RefreshWait", d)
	}
	expectVerify(t, v, k.token(t, claims(nil)), nil)
}

// TestJWKSUnsupportedKeys: unsupported, weak and encryption keys in a set
// are skipped; the good key still verifies.
func TestJWKSUnsupportedKeys(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "good", 0)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakKey := &testKey{alg: jwt.RS256, kid: "weak", priv: weak}
	weakJWK, _ := jose.JSONWebKey{Key: weak.Public(), KeyID: "weak", Algorithm: "RS256", Use: "sig"}.MarshalJSON()
	enc := newTestKey(t, jwt.ES256, "enc", 0)
	encJWK, _ := jose.JSONWebKey{Key: enc.priv.Public(), KeyID: "enc", Use: "enc"}.MarshalJSON()
	opsEncrypt := newTestKey(t, jwt.ES256, "ops", 0)
	opsJWK := strings.Replace(string(opsEncrypt.jwk(t, false)), `"use":"sig"`, `"key_ops":["encrypt"]`, 1)
	dup := newTestKey(t, jwt.ES256, "good", 0) // same kid as k, listed after it: ignored
	s := newJWKSServer(t, jwks(t, []*testKey{k, dup},
		opsJWK,
		`{"kty":"oct","kid":"hmac","alg":"HS256","k":"c2VjcmV0"}`,
		`{"kty":"OKP","crv":"Ed448","kid":"ed448","x":"`+strings.Repeat("A", 76)+`"}`,
		`{"kty":"EC","crv":"P-256","kid":"broken","x":"AA","y":"AA"}`,
		`{"kty":"XYZ","kid":"alien"}`,
		string(weakJWK), string(encJWK)))
	v := remoteVerifier(t, s, jwt.Config{})
	expectVerify(t, v, k.token(t, claims(nil)), nil)
	expectVerify(t, v, weakKey.token(t, claims(nil)), jwt.ErrUnknownKey)
	expectVerify(t, v, enc.token(t, claims(nil)), jwt.ErrUnknownKey)
	expectVerify(t, v, opsEncrypt.token(t, claims(nil)), jwt.ErrUnknownKey)
	expectVerify(t, v, dup.token(t, claims(nil)), jwt.ErrBadSignature)
	// Ignored means not in the set at all: a token without "kid", which
	// is tried against every key, does not find dup either.
	expectVerify(t, v, dup.sign(t, jwt.ES256, `{"alg":"ES256","typ":"at+jwt"}`, claims(nil)), jwt.ErrBadSignature)
}

// TestJWKSRemovedKey: after a refresh that drops a key, its tokens stop
// verifying, cached or not.
func TestJWKSRemovedKey(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k1, k2}))
	v := remoteVerifier(t, s, jwt.Config{CacheSize: 100})
	tok2 := k2.token(t, claims(nil))
	expectVerify(t, v, tok2, nil)
	expectVerify(t, v, tok2, nil) // now cached
	s.serve(jwks(t, []*testKey{k1}))
	if err := v.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectVerify(t, v, tok2, jwt.ErrUnknownKey)
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
}

// TestJWKSKeyWithoutAlg: a JWK without "alg" is bound by its type and
// curve; without "kid" it verifies tokens without "kid".
func TestJWKSKeyWithoutAlg(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "", 0)
	s := newJWKSServer(t, []byte(`{"keys":[`+string(k.jwk(t, true))+`]}`))
	v := remoteVerifier(t, s, jwt.Config{})
	expectVerify(t, v, k.sign(t, jwt.ES256, `{"alg":"ES256","typ":"at+jwt"}`, claims(nil)), nil)
	other := newTestKey(t, jwt.ES256, "", 0)
	expectVerify(t, v, other.sign(t, jwt.ES256, `{"alg":"ES256","typ":"at+jwt"}`, claims(nil)), jwt.ErrBadSignature)
}

// TestJWKSUnreachable: a source that cannot be reached at all is
// unavailable, not invalid.
func TestJWKSUnreachable(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, JWKSURLs: []string{url}, RefreshWait: 50 * time.Millisecond})
	k := newTestKey(t, jwt.ES256, "k1", 0)
	_, err := v.Verify(t.Context(), k.token(t, claims(nil)))
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

// TestJWKSCancelledRequest: a request that gives up does not cancel the
// fetch it started; the next request finds the new key.
func TestJWKSCancelledRequest(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k1}))
	v := remoteVerifier(t, s, jwt.Config{})
	gate := make(chan struct{})
	both := jwks(t, []*testKey{k1, k2})
	s.set(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		w.Write(both)
	})
	tok2 := k2.token(t, claims(nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := v.Verify(ctx, tok2); !errors.Is(err, jwt.ErrUnknownKey) {
		t.Errorf("cancelled request: got %v, want ErrUnknownKey", err)
	}
	close(gate)
	expectVerify(t, v, tok2, nil)
	if got := s.hits.Load(); got != 2 {
		t.Errorf("got %d fetches, want 2", got)
	}
}

// TestJWKSRecovers: a source that fails at first is retried in the
// background, and the verifier becomes ready when it answers.
func TestJWKSRecovers(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, nil)
	s.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "starting", http.StatusServiceUnavailable) })
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, JWKSURLs: []string{s.URL}, RefreshWait: 10 * time.Millisecond})
	if err := v.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh: got nil, want an error")
	}
	expectVerify(t, v, k.token(t, claims(nil)), jwt.ErrNoKeys)
	s.serve(jwks(t, []*testKey{k}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	expectVerify(t, v, k.token(t, claims(nil)), nil)
}

// TestJWKSClose: after Close the verifier keeps its keys and fetches no
// more.
func TestJWKSClose(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	v := remoteVerifier(t, s, jwt.Config{})
	v.Close()
	v.Close()
	expectVerify(t, v, k.token(t, claims(nil)), nil)
	expectVerify(t, v, newTestKey(t, jwt.ES256, "k2", 0).token(t, claims(nil)), jwt.ErrUnknownKey)
	if err := v.Refresh(t.Context()); !errors.Is(err, jwt.ErrFetch) {
		t.Errorf("Refresh after Close: got %v, want ErrFetch", err)
	}
	if got := s.hits.Load(); got != 1 {
		t.Errorf("got %d fetches, want 1", got)
	}
}
