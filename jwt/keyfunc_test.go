package jwt_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// newKeyfunc returns the keyfunc a service would run on the server's URL:
// keyfunc.NewDefaultCtx, whose storage fetches once before it returns,
// then hourly and on an unknown kid (rate limited by keyfunc).
func newKeyfunc(t *testing.T, s *jwksServer) keyfunc.Keyfunc {
	t.Helper()
	k, err := keyfunc.NewDefaultCtx(t.Context(), []string{s.URL})
	if err != nil {
		t.Fatalf("keyfunc.NewDefaultCtx: %v", err)
	}
	return k
}

// keyfuncVerifier returns a verifier of the keyfunc's keys, ready.
func keyfuncVerifier(t *testing.T, k keyfunc.Keyfunc, cfg jwt.Config) *jwt.Verifier {
	t.Helper()
	if cfg.Algorithms == nil {
		cfg.Algorithms = []string{jwt.ES256, jwt.RS256}
	}
	cfg.Keyfunc = k
	v := newVerifier(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return v
}

// memoryKeyfunc returns a keyfunc over a storage the test changes.
func memoryKeyfunc(t *testing.T, keys ...*testKey) (keyfunc.Keyfunc, jwkset.Storage) {
	t.Helper()
	st := jwkset.NewMemoryStorage()
	for _, k := range keys {
		st.KeyWrite(t.Context(), storageJWK(t, k))
	}
	kf, err := keyfunc.New(keyfunc.Options{Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	return kf, st
}

// storageJWK returns k's public key as a jwkset JWK with its kid and alg.
func storageJWK(t *testing.T, k *testKey) jwkset.JWK {
	t.Helper()
	j, err := jwkset.NewJWKFromRawJSON(k.jwk(t, false), jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestKeyfuncKeys runs tokens against a verifier whose only key source is
// a keyfunc on a JWKS endpoint holding keys good, bad and hostile. It
// allows ES256, RS256, PS256 and EdDSA; each row says why its answer is
// right. The rows mirror TestJWKSUnsupportedKeys and TestHostile where the
// key source matters.
func TestKeyfuncKeys(t *testing.T) {
	es := newTestKey(t, jwt.ES256, "es", 0)
	rs := newTestKey(t, jwt.RS256, "rs", 0)
	ps := newTestKey(t, jwt.PS256, "ps", 2)
	ed := newTestKey(t, jwt.EdDSA, "ed", 0)
	bare := newTestKey(t, jwt.RS256, "rs-bare", 1)  // published without "alg"
	p384 := newTestKey(t, jwt.ES384, "p384", 0)     // fits no allowed algorithm
	dup := newTestKey(t, jwt.ES256, "es", 0)        // same kid as es, listed after it
	enc := newTestKey(t, jwt.ES256, "enc", 0)       // "use": "enc"
	ops := newTestKey(t, jwt.ES256, "ops", 0)       // "key_ops": ["encrypt"]
	attacker := newTestKey(t, jwt.ES256, "evil", 0) // in no set
	leaked := newTestKey(t, jwt.ES256, "leaked", 0) // published with its private part
	leakedJWK, _ := jose.JSONWebKey{Key: leaked.priv, KeyID: "leaked", Algorithm: "ES256", Use: "sig"}.MarshalJSON()
	weakPriv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := &testKey{alg: jwt.RS256, kid: "weak", priv: weakPriv}
	encJWK, _ := jose.JSONWebKey{Key: enc.priv.Public(), KeyID: "enc", Use: "enc"}.MarshalJSON()
	opsJWK := strings.Replace(string(ops.jwk(t, false)), `"use":"sig"`, `"key_ops":["encrypt"]`, 1)
	set := jwks(t, []*testKey{es, rs, ps, ed, p384, weak, dup},
		string(bare.jwk(t, true)),
		string(encJWK), opsJWK, string(leakedJWK),
		// An HMAC secret: keyfunc's storage keeps it (as bytes); no
		// allowed algorithm can use it.
		`{"kty":"oct","kid":"hmac","alg":"HS256","k":"c2VjcmV0"}`,
		`{"kty":"OKP","crv":"Ed448","kid":"ed448","x":"`+strings.Repeat("A", 76)+`"}`,
		`{"kty":"XYZ","kid":"alien"}`)
	s := newJWKSServer(t, set)

	// A server that counts requests: jku and x5u must never be followed.
	var trapHits atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapHits.Add(1)
		w.Write(jwks(t, []*testKey{attacker}))
	}))
	defer trap.Close()

	v := keyfuncVerifier(t, newKeyfunc(t, s), jwt.Config{Algorithms: []string{jwt.ES256, jwt.RS256, jwt.PS256, jwt.EdDSA}})

	rsaPub, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(alg, extra string) string { return `{"alg":"` + alg + `","typ":"at+jwt"` + extra + `}` }
	valid := es.token(t, claims(nil))
	parts := strings.Split(valid, ".")
	tests := []struct {
		name  string
		token string
		want  error // a jwt sentinel; nil for success
	}{
		{"ES256", valid, nil},
		{"RS256", rs.token(t, claims(nil)), nil},
		{"EdDSA", ed.token(t, claims(nil)), nil},
		// RFC 7515 §4.1.4: without kid, a key bound to the token's
		// algorithm is tried.
		{"no kid", es.sign(t, jwt.ES256, hdr("ES256", ""), claims(nil)), nil},

		// RFC 8725 §3.1: each key verifies the one algorithm it is bound
		// to, whatever the token says. keyfunc's own Keyfunc checks a
		// JWK's "alg" only when the JWK has one.
		{"PS256 with an RS256 key", rs.sign(t, jwt.PS256, hdr("PS256", `,"kid":"rs"`), claims(nil)), jwt.ErrAlgorithm},
		{"ES256 header naming the RSA key", es.sign(t, jwt.ES256, hdr("ES256", `,"kid":"rs"`), claims(nil)), jwt.ErrAlgorithm},
		// A JWK's "alg" binds it, though RS256 comes first in the list.
		{"PS256 key", ps.token(t, claims(nil)), nil},
		{"RS256 with a PS256 key", ps.sign(t, jwt.RS256, hdr("RS256", `,"kid":"ps"`), claims(nil)), jwt.ErrAlgorithm},
		// Without "alg" the key is bound by type, to the first allowed
		// algorithm it fits: RS256 comes before PS256 in the list.
		{"key without alg, RS256", bare.token(t, claims(nil)), nil},
		{"key without alg, PS256", bare.sign(t, jwt.PS256, hdr("PS256", `,"kid":"rs-bare"`), claims(nil)), jwt.ErrAlgorithm},
		// The P-384 key fits no allowed algorithm, so the token is refused
		// by the allow-list before any key is looked up.
		{"ES384 not allowed", p384.token(t, claims(nil)), jwt.ErrAlgorithm},
		// RFC 7518 §3.3: RSA keys of fewer than 2048 bits are skipped.
		{"RSA-1024 key", weak.token(t, claims(nil)), jwt.ErrUnknownKey},
		// RFC 7517 §4.2, §4.3: a key not for verifying signatures never
		// verifies one.
		{"encryption key", enc.token(t, claims(nil)), jwt.ErrUnknownKey},
		{"key_ops encrypt", ops.token(t, claims(nil)), jwt.ErrUnknownKey},
		// keyfunc's storage keeps the private key of a JWK with "d"; it
		// verifies as its public half, as in a JWKS fetched by URL.
		{"key published with its private part", leaked.token(t, claims(nil)), nil},
		// One key per kid, the first: the duplicate's signature is bad.
		{"duplicate kid", dup.token(t, claims(nil)), jwt.ErrBadSignature},

		// RFC 8725 §2.1, §3.2: "none" and HMAC are never allowed; the
		// RSA public key is no HMAC secret, nor is the oct key in the set.
		{"alg none", b64.EncodeToString([]byte(hdr("none", `,"kid":"es"`))) + "." + parts[1] + "." + parts[2], jwt.ErrAlgorithm},
		{"HS256 with the RSA public key as secret", hs256(hdr("HS256", `,"kid":"rs"`), claims(nil), rsaPub), jwt.ErrAlgorithm},
		{"HS256 with the set's oct key", hs256(hdr("HS256", `,"kid":"hmac"`), claims(nil), []byte("secret")), jwt.ErrAlgorithm},

		// RFC 8725 §3.10: keys come only from the configured source. The
		// embedded key, jku and x5u are ignored, never fetched.
		{"embedded jwk with the attacker's key", attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"es","jwk":`+string(attacker.jwk(t, false))), claims(nil)), jwt.ErrBadSignature},
		{"jku header", attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"evil","jku":"`+trap.URL+`"`), claims(nil)), jwt.ErrUnknownKey},
		{"x5u header", attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"evil","x5u":"`+trap.URL+`"`), claims(nil)), jwt.ErrUnknownKey},
		// kid is only compared, never used as a path.
		{"kid with ../", es.sign(t, jwt.ES256, hdr("ES256", `,"kid":"../../../etc/passwd"`), claims(nil)), jwt.ErrUnknownKey},
		// Unsupported keys are skipped, not fatal.
		{"Ed448 key", ed.sign(t, jwt.EdDSA, hdr("EdDSA", `,"kid":"ed448"`), claims(nil)), jwt.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), tc.token)
			if tc.want == nil {
				if err != nil || p == nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if p != nil || !errors.Is(err, tc.want) || !errors.Is(err, auth.ErrInvalidCredential) {
				t.Fatalf("got %v, %v, want %v and auth.ErrInvalidCredential", p, err, tc.want)
			}
		})
	}
	if n := trapHits.Load(); n != 0 {
		t.Errorf("got %d requests to the jku/x5u server, want 0", n)
	}
	// The unknown kids above caused at most one fetch between them: the
	// first asked keyfunc's storage (which fetches if it lacks the kid
	// too), the others were within RefreshRateLimit.
	if got := s.hits.Load(); got > 2 {
		t.Errorf("got %d fetches of the JWKS, want at most 2 (keyfunc's first, one for unknown kids)", got)
	}
}

// TestKeyfuncRotation: a token signed with a key published after keyfunc's
// last fetch makes keyfunc fetch again, and verifies.
func TestKeyfuncRotation(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k1}))
	v := keyfuncVerifier(t, newKeyfunc(t, s), jwt.Config{})
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
	s.serve(jwks(t, []*testKey{k1, k2}))
	expectVerify(t, v, k2.token(t, claims(nil)), nil)
	if got := s.hits.Load(); got != 2 {
		t.Errorf("got %d fetches, want 2 (keyfunc's first and one for the new kid)", got)
	}
}

// TestKeyfuncUnknownKidFlood: a thousand tokens with random kids, from
// many goroutines, are refused as invalid (401, not 503) and cause at most
// one fetch, even with a keyfunc told to fetch on every unknown kid: the
// Verifier's RefreshRateLimit holds the flood back.
func TestKeyfuncUnknownKidFlood(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	kf, err := keyfunc.NewDefaultOverrideCtx(t.Context(), []string{s.URL}, keyfunc.Override{
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	v := keyfuncVerifier(t, kf, jwt.Config{})
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
				_, err := v.Verify(context.Background(), tok)
				if !errors.Is(err, jwt.ErrUnknownKey) || !errors.Is(err, auth.ErrInvalidCredential) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got %v, want ErrUnknownKey and auth.ErrInvalidCredential", err)
	}
	if got := s.hits.Load(); got > 2 {
		t.Errorf("got %d fetches, want at most 2 (keyfunc's first and one for unknown kids)", got)
	}
	expectVerify(t, v, k.token(t, claims(nil)), nil)
}

// TestKeyfuncWaitBound: a request whose kid is unknown waits for the
// keyfunc fetch it caused at most RefreshWait, however slow the server;
// keyfunc's own limit (a minute by default) never applies to a request.
func TestKeyfuncWaitBound(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	v := keyfuncVerifier(t, newKeyfunc(t, s), jwt.Config{RefreshWait: 50 * time.Millisecond, FetchTimeout: 10 * time.Second})
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
	// The fetch still hangs: known keys verify meanwhile.
	expectVerify(t, v, k.token(t, claims(nil)), nil)
}

// TestKeyfuncUnavailable: a keyfunc whose storage never held a usable key
// makes tokens unavailable (503), neither accepted nor called invalid, as
// a JWKS URL that never loaded does; and the verifier is not ready.
func TestKeyfuncUnavailable(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	weakPriv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := &testKey{alg: jwt.RS256, kid: "weak", priv: weakPriv}
	fromServer := func(h http.HandlerFunc) func(t *testing.T) keyfunc.Keyfunc {
		return func(t *testing.T) keyfunc.Keyfunc {
			s := newJWKSServer(t, nil)
			s.set(h)
			return newKeyfunc(t, s)
		}
	}
	serve := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
	}
	tests := []struct {
		name string
		kf   func(t *testing.T) keyfunc.Keyfunc
	}{
		// keyfunc.NewDefaultCtx returns without error when its first
		// fetch fails, with an empty storage.
		{"first fetch failed", fromServer(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "starting", http.StatusServiceUnavailable)
		})},
		{"empty set", fromServer(serve(`{"keys":[]}`))},
		// keyfunc keeps these keys; none is usable here.
		{"only an RSA-1024 key", fromServer(serve(string(jwks(t, []*testKey{weak}))))},
		{"only an HMAC secret", fromServer(serve(`{"keys":[{"kty":"oct","kid":"k1","alg":"HS256","k":"c2VjcmV0"}]}`))},
		// keyfunc refuses a whole set for one malformed key (where a
		// JWKS URL would skip the key), so nothing is loaded.
		{"a malformed key beside a good one", fromServer(serve(string(jwks(t, []*testKey{k}, `{"kty":"EC","crv":"P-256","kid":"broken","x":"AA","y":"AA"}`))))},
		{"empty storage", func(t *testing.T) keyfunc.Keyfunc {
			kf, _ := memoryKeyfunc(t)
			return kf
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var reported []string
			v := newVerifier(t, jwt.Config{
				Algorithms:  []string{jwt.ES256},
				Keyfunc:     tc.kf(t),
				RefreshWait: 50 * time.Millisecond,
				OnRefreshError: func(url string, err error) {
					mu.Lock()
					reported = append(reported, url)
					mu.Unlock()
				},
			})
			if err := v.Refresh(t.Context()); !errors.Is(err, jwt.ErrFetch) {
				t.Errorf("Refresh: got %v, want ErrFetch", err)
			}
			for _, tok := range []string{k.token(t, claims(nil)), k.sign(t, jwt.ES256, `{"alg":"ES256","typ":"at+jwt"}`, claims(nil))} {
				_, err := v.Verify(t.Context(), tok)
				if !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, jwt.ErrNoKeys) {
					t.Errorf("got %v, want ErrUnavailable and ErrNoKeys", err)
				}
			}
			if v.Ready() {
				t.Error("got ready, want not ready")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
			defer cancel()
			if err := v.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitReady: got %v, want DeadlineExceeded", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reported) == 0 || reported[0] != "keyfunc" {
				t.Errorf("OnRefreshError: got %q, want calls with %q", reported, "keyfunc")
			}
		})
	}
}

// TestKeyfuncUnavailableThroughServer: through a real server and the
// Authenticator, a keyfunc that never loaded gives the constant 503 with
// Retry-After, and a loaded one the constant 401 for an unknown key.
func TestKeyfuncUnavailableThroughServer(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	s := newJWKSServer(t, nil)
	s.set(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) })
	kf := newKeyfunc(t, s)
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, Keyfunc: kf, RefreshWait: 50 * time.Millisecond})
	var mu sync.Mutex
	var reasons []error
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}, OnFailure: func(e auth.Event) {
		mu.Lock()
		reasons = append(reasons, e.Err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		io.WriteString(w, p.Subject)
	})))
	defer srv.Close()

	type answer struct {
		Status     int
		RetryAfter bool
		WWW        string
		Body       string
	}
	do := func(tok string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readAll(resp)
		if err != nil {
			t.Fatal(err)
		}
		return answer{resp.StatusCode, resp.Header.Get("Retry-After") != "", resp.Header.Get("WWW-Authenticate"), string(b)}
	}
	want := answer{Status: 503, RetryAfter: true, Body: `{"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}`}
	if diff := cmp.Diff(want, do(k.token(t, claims(nil)))); diff != "" {
		t.Errorf("never loaded (-want +got):\n%s", diff)
	}
	mu.Lock()
	if len(reasons) != 1 || !errors.Is(reasons[0], jwt.ErrNoKeys) {
		t.Errorf("hook: got %v, want ErrNoKeys", reasons)
	}
	mu.Unlock()

	// The issuer comes back. keyfunc's own limit allowed one fetch on an
	// unknown kid, spent above, so the storage is filled as keyfunc's
	// refresh would fill it, and read.
	if err := kf.Storage().KeyWrite(t.Context(), storageJWK(t, k)); err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if got := do(k.token(t, claims(nil))); got.Status != 200 || got.Body != "user-1" {
		t.Errorf("loaded: got %+v, want 200 user-1", got)
	}
	want = answer{Status: 401, WWW: `Bearer realm="api", error="invalid_token"`, Body: `{"error":"invalid_token","message":"Authentication failed"}`}
	if diff := cmp.Diff(want, do(newTestKey(t, jwt.ES256, "k2", 0).token(t, claims(nil)))); diff != "" {
		t.Errorf("unknown kid (-want +got):\n%s", diff)
	}
}

// TestKeyfuncRemovedKey: a key the storage no longer holds stops verifying
// at the next read, cached tokens included.
func TestKeyfuncRemovedKey(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	kf, st := memoryKeyfunc(t, k1, k2)
	v := keyfuncVerifier(t, kf, jwt.Config{CacheSize: 100})
	tok2 := k2.token(t, claims(nil))
	expectVerify(t, v, tok2, nil)
	expectVerify(t, v, tok2, nil) // now cached
	if err := st.KeyReplaceAll(t.Context(), []jwkset.JWK{storageJWK(t, k1)}); err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectVerify(t, v, tok2, jwt.ErrUnknownKey)
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
	// A storage emptied (an issuer publishing no key) is a failed read:
	// the previous keys stay, as for a JWKS URL.
	if err := st.KeyReplaceAll(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if err := v.Refresh(t.Context()); !errors.Is(err, jwt.ErrFetch) {
		t.Errorf("Refresh of an empty storage: got %v, want ErrFetch", err)
	}
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
}

// readSignal is a storage that reports each KeyReadAll call as it
// begins, so a test can wait for the verifier's background reads without
// sleeping. A signal nobody waits for is dropped.
type readSignal struct {
	jwkset.Storage
	reads chan struct{}
}

func (s readSignal) KeyReadAll(ctx context.Context) ([]jwkset.JWK, error) {
	select {
	case s.reads <- struct{}{}:
	default:
	}
	return s.Storage.KeyReadAll(ctx)
}

// readsAfter waits for two reads that begin after now. Reads are
// serialised, so when the second begins the first has been applied.
func (s readSignal) readsAfter(t *testing.T) {
	t.Helper()
	for {
		select {
		case <-s.reads: // began before now
			continue
		default:
		}
		break
	}
	for range 2 {
		select {
		case <-s.reads:
		case <-time.After(10 * time.Second):
			t.Fatal("no background read within 10 s")
		}
	}
}

// TestKeyfuncBackgroundReads: without Refresh, the verifier reads the
// storage on its own: it becomes ready when keyfunc fills the storage late,
// and a key the storage drops stops verifying, cached tokens included.
func TestKeyfuncBackgroundReads(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	st := readSignal{jwkset.NewMemoryStorage(), make(chan struct{}, 1)}
	kf, err := keyfunc.New(keyfunc.Options{Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, Keyfunc: kf, RefreshInterval: 10 * time.Millisecond, CacheSize: 10})
	st.readsAfter(t)
	if v.Ready() {
		t.Fatal("got ready with an empty storage, want not ready")
	}
	for _, k := range []*testKey{k1, k2} {
		st.KeyWrite(t.Context(), storageJWK(t, k))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := v.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	tok2 := k2.token(t, claims(nil))
	expectVerify(t, v, tok2, nil)
	expectVerify(t, v, tok2, nil) // now cached
	if err := st.KeyReplaceAll(t.Context(), []jwkset.JWK{storageJWK(t, k1)}); err != nil {
		t.Fatal(err)
	}
	st.readsAfter(t)
	expectVerify(t, v, tok2, jwt.ErrUnknownKey)
	expectVerify(t, v, k1.token(t, claims(nil)), nil)
}

// TestKeyfuncCombined: a keyfunc combines with the other key sources, and
// a kid found in Keys is decided by Keys.
func TestKeyfuncCombined(t *testing.T) {
	given := newTestKey(t, jwt.ES256, "given", 0)
	fromKF := newTestKey(t, jwt.ES256, "kf", 0)
	shadow := newTestKey(t, jwt.ES256, "given", 0) // the keyfunc's key named like the given one
	kf, _ := memoryKeyfunc(t, fromKF, shadow)
	v := keyfuncVerifier(t, kf, jwt.Config{Keys: []jwt.PublicKey{given.public()}})
	expectVerify(t, v, given.token(t, claims(nil)), nil)
	expectVerify(t, v, fromKF.token(t, claims(nil)), nil)
	expectVerify(t, v, shadow.token(t, claims(nil)), jwt.ErrBadSignature)
}

// noStorage is a Keyfunc without a storage. (Embedded through an alias:
// a field named Keyfunc would hide the method of that name.)
type noStorage struct{ anyKeyfunc }

type anyKeyfunc = keyfunc.Keyfunc

func (noStorage) Storage() jwkset.Storage { return nil }

func TestKeyfuncConfig(t *testing.T) {
	kf, _ := memoryKeyfunc(t, newTestKey(t, jwt.ES256, "k1", 0))
	_, err := jwt.NewVerifier(jwt.Config{Issuer: testIssuer, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256}, Keyfunc: noStorage{kf}})
	if !errors.Is(err, jwt.ErrInvalidConfig) || !errors.Is(err, auth.ErrInvalidConfig) {
		t.Errorf("Keyfunc without storage: got %v, want ErrInvalidConfig", err)
	}
	v, err := jwt.NewVerifier(jwt.Config{Issuer: testIssuer, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256}, Keyfunc: kf})
	if err != nil {
		t.Fatalf("Keyfunc as the only key source: got %v, want success", err)
	}
	v.Close()
}

// TestKeyfuncAllocs: requests read the verifier's copy of the keys, never
// keyfunc's storage, so a token costs with a keyfunc exactly what it costs
// with given keys: at first sight the same allocations, and none when
// cached.
func TestKeyfuncAllocs(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	tok := k.token(t, claims(nil))
	s := newJWKSServer(t, jwks(t, []*testKey{k}))
	kf := newKeyfunc(t, s)
	allocs := func(v *jwt.Verifier) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		})
	}
	given := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, Keys: []jwt.PublicKey{k.public()}})
	viaKeyfunc := keyfuncVerifier(t, kf, jwt.Config{Algorithms: []string{jwt.ES256}})
	if got, want := allocs(viaKeyfunc), allocs(given); got != want {
		t.Errorf("first sight: got %v allocations, want %v (as with given keys)", got, want)
	}
	cached := keyfuncVerifier(t, kf, jwt.Config{Algorithms: []string{jwt.ES256}, CacheSize: 10})
	if got := allocs(cached); got != 0 {
		t.Errorf("cached: got %v allocations, want 0", got)
	}
}
