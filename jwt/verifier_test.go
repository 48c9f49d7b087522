package jwt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// TestRoundTrip: every token the signer mints verifies with a verifier
// pointed at the key set's JWKS handler, for each generated algorithm.
func TestRoundTrip(t *testing.T) {
	for _, alg := range []string{jwt.ES256, jwt.RS256, jwt.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: alg, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(ks.JWKSHandler())
			defer srv.Close()
			signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			v := newVerifier(t, jwt.Config{Algorithms: []string{alg}, JWKSURLs: []string{srv.URL}})
			if err := v.WaitReady(t.Context()); err != nil {
				t.Fatal(err)
			}

			for _, tc := range []struct {
				name   string
				claims jwt.Claims
				method auth.Method
			}{
				{"user", jwt.Claims{Subject: "user-7", ClientID: "app-1", Audience: []string{testAudience}, Scopes: auth.MustScopes("read", "write")}, auth.MethodAuthorizationCode},
				{"client", jwt.Claims{Subject: "app-1", ClientID: "app-1", Audience: []string{"other", testAudience}}, auth.MethodClientCredentials},
			} {
				tok, err := signer.Sign(t.Context(), tc.claims)
				if err != nil {
					t.Fatal(err)
				}
				p, err := v.Verify(t.Context(), tok.Value)
				if err != nil {
					t.Fatalf("%s: Verify: %v", tc.name, err)
				}
				want := &auth.Principal{
					Subject:      tc.claims.Subject,
					ClientID:     tc.claims.ClientID,
					Scopes:       tc.claims.Scopes,
					Method:       tc.method,
					CredentialID: tok.ID,
					ExpiresAt:    t0.Add(time.Hour),
					Issuer:       testIssuer,
				}
				if diff := cmp.Diff(want, p, cmp.Comparer(auth.Scopes.Equal), cmpopts.IgnoreFields(auth.Principal{}, "Claims")); diff != "" {
					t.Errorf("%s: principal (-want +got):\n%s", tc.name, diff)
				}
				var got struct {
					Issuer string `json:"iss"`
					JTI    string `json:"jti"`
				}
				if err := p.DecodeClaims(&got); err != nil || got.Issuer != testIssuer || got.JTI != tok.ID {
					t.Errorf("%s: claims: got %+v (%v), want iss %q jti %q", tc.name, got, err, testIssuer, tok.ID)
				}
			}
		})
	}
}

// TestLocalKeySet: a verifier can use a key set of its own process,
// rotations included, without HTTP.
func TestLocalKeySet(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: testIssuer, Keys: ks, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, KeyManager: ks, Now: clock})
	if !v.Ready() {
		t.Fatal("got not ready, want ready: a key set is loaded at once")
	}
	c := jwt.Claims{Subject: "u", ClientID: "c", Audience: []string{testAudience}}
	before, err := signer.Sign(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	after, err := signer.Sign(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]jwt.Token{"before rotation": before, "after rotation": after} {
		if _, err := v.Verify(t.Context(), tok.Value); err != nil {
			t.Errorf("%s: got %v, want success", name, err)
		}
	}
}

// TestRetiredKey: a verifier with a local key set refuses tokens issued
// after their key was retired (plus leeway), by someone who kept the
// retired key's private material. Tokens issued before keep verifying
// until they expire. The rows run in order against one clock; each token
// is verified twice, the second time from the cache when accepted.
func TestRetiredKey(t *testing.T) {
	retiredAt := t0.Add(10 * time.Minute)
	setNow := t0
	store := jwt.NewMemoryKeyStore()
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: store, Now: func() time.Time { return setNow }})
	if err != nil {
		t.Fatal(err)
	}
	old := keyOf(t, store, ks.ActiveKeyID())
	now := t0
	verifier := func(cfg jwt.Config) *jwt.Verifier {
		cfg.Algorithms, cfg.CacheSize, cfg.Now = []string{jwt.EdDSA}, 100, func() time.Time { return now }
		if cfg.JWKSURLs == nil {
			cfg.KeyManager = ks
		}
		return newVerifier(t, cfg)
	}
	v := verifier(jwt.Config{})
	wide := verifier(jwt.Config{Leeway: 2 * time.Minute})
	lax := verifier(jwt.Config{InsecureOptionalClaims: []string{jwt.ClaimIssuedAt}})

	// Verified, and cached, while the key signs.
	early := old.token(t, claims(map[string]any{"jti": "early"}))
	expectVerify(t, v, early, nil)
	setNow = retiredAt
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	current := keyOf(t, store, ks.ActiveKeyID())
	jwksServer := httptest.NewServer(ks.JWKSHandler())
	defer jwksServer.Close()
	remote := verifier(jwt.Config{JWKSURLs: []string{jwksServer.URL}})
	if err := remote.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}

	n := 0
	// issued returns a token of k issued at iat, valid for an hour.
	issued := func(k *testKey, iat time.Time, drop ...string) string {
		n++
		return k.token(t, claims(map[string]any{"iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(), "jti": fmt.Sprint("t", n)}, drop...))
	}
	kidless := func(k *testKey, iat time.Time) string {
		n++
		return k.sign(t, k.alg, `{"alg":"EdDSA","typ":"at+jwt"}`, claims(map[string]any{"iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix(), "jti": fmt.Sprint("t", n)}))
	}
	beforeRetirement := issued(old, retiredAt.Add(-time.Minute))
	tests := []struct {
		name string
		v    *jwt.Verifier
		tok  string
		at   time.Time // the verifier's clock
		want error
	}{
		// Retiring the key changes nothing for a token issued before,
		// cached or not.
		{"cached before the retirement", v, early, retiredAt.Add(time.Minute), nil},
		{"issued before the retirement", v, beforeRetirement, retiredAt, nil},
		{"issued before, at its exp plus leeway minus 1 s", v, beforeRetirement, retiredAt.Add(59*time.Minute + jwt.DefaultLeeway - time.Second), nil},
		{"issued before, at its exp plus leeway", v, beforeRetirement, retiredAt.Add(59*time.Minute + jwt.DefaultLeeway), jwt.ErrExpired},
		{"issued at the retirement", v, issued(old, retiredAt), retiredAt, nil},
		// The leeway (30 s) allows for the signer's clock, and a Sign
		// racing the rotation.
		{"issued at the retirement plus leeway", v, issued(old, retiredAt.Add(jwt.DefaultLeeway)), retiredAt.Add(jwt.DefaultLeeway), nil},
		{"issued 1 s after the retirement plus leeway", v, issued(old, retiredAt.Add(jwt.DefaultLeeway+time.Second)), retiredAt.Add(jwt.DefaultLeeway + time.Second), jwt.ErrRetiredKey},
		// Another token of the same key was verified and cached before
		// the retirement ("early"): that trusts no later token of it.
		{"issued an hour after the retirement", v, issued(old, retiredAt.Add(time.Hour)), retiredAt.Add(time.Hour), jwt.ErrRetiredKey},
		// The verifier's own leeway is the one that counts.
		{"leeway 2 min, issued at the retirement plus 2 min", wide, issued(old, retiredAt.Add(2*time.Minute)), retiredAt.Add(2 * time.Minute), nil},
		{"leeway 2 min, issued at the retirement plus 2 min 1 s", wide, issued(old, retiredAt.Add(2*time.Minute+time.Second)), retiredAt.Add(2*time.Minute + time.Second), jwt.ErrRetiredKey},
		// Leaving out "kid" makes the verifier try its keys: the one
		// that verifies is held to its retirement all the same.
		{"no kid, issued before the retirement", v, kidless(old, retiredAt.Add(-time.Minute)), retiredAt, nil},
		{"no kid, issued after the retirement", v, kidless(old, retiredAt.Add(time.Hour)), retiredAt.Add(time.Hour), jwt.ErrRetiredKey},
		{"active key, issued after the rotation", v, issued(current, retiredAt.Add(time.Hour)), retiredAt.Add(time.Hour), nil},
		// Without "iat" nothing shows the token predates the retirement.
		{"optional iat missing, retired key", lax, issued(old, retiredAt.Add(-time.Minute), "iat"), retiredAt, jwt.ErrRetiredKey},
		{"optional iat missing, active key", lax, issued(current, retiredAt, "iat"), retiredAt, nil},
		// A JWKS carries no retirement time: a verifier that fetches the
		// set cannot apply the rule (Config.KeyManager says so).
		{"remote verifier, issued after the retirement", remote, issued(old, retiredAt.Add(time.Hour)), retiredAt.Add(time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = tc.at
			for range 2 {
				_, err := tc.v.Verify(t.Context(), tc.tok)
				if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if tc.want == jwt.ErrRetiredKey && !errors.Is(err, auth.ErrInvalidCredential) {
					t.Errorf("got %v, want it to wrap auth.ErrInvalidCredential", err)
				}
			}
		})
	}
}

// TestRetiredKeySharedStore: another instance sharing the store retires
// the key. Until this one reloads it takes the key for active, and
// accepts and caches a token issued after the retirement; once it
// reloads, the cached token is refused like any other.
func TestRetiredKeySharedStore(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	store := jwt.NewMemoryKeyStore()
	ours, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	k := keyOf(t, store, ours.ActiveKeyID())
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, KeyManager: ours, CacheSize: 10, Now: clock})
	before := k.token(t, claims(map[string]any{"jti": "before"}))
	now = t0.Add(time.Minute)
	if err := theirs.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(10 * time.Minute)
	after := k.token(t, claims(map[string]any{"jti": "after", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}))
	expectVerify(t, v, after, nil) // the stale view: the key signs
	expectVerify(t, v, before, nil)
	if err := ours.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectVerify(t, v, after, jwt.ErrRetiredKey)
	expectVerify(t, v, before, nil)
}

// TestDroppedKeyCached: a key the set no longer publishes (removed from
// the store, say after a compromise) stops verifying its tokens at the
// next Reload, cached ones included.
func TestDroppedKeyCached(t *testing.T) {
	store := jwt.NewMemoryKeyStore()
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Algorithm: jwt.EdDSA, Store: store, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	k := keyOf(t, store, ks.ActiveKeyID())
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, KeyManager: ks, CacheSize: 10})
	tok := k.token(t, claims(nil))
	expectVerify(t, v, tok, nil)
	stored, err := store.LoadKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored = slices.DeleteFunc(stored, func(s jwt.StoredKey) bool { return s.ID == k.kid })
	if err := store.SaveKeys(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	if err := ks.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectVerify(t, v, tok, jwt.ErrUnknownKey)
}

// TestLeakedKeyThroughServer: through a real server and the Authenticator,
// a token with too long a lifetime and one signed with a retired key get
// the generic invalid_token answer, and the reason reaches only the hook.
func TestLeakedKeyThroughServer(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	store := jwt.NewMemoryKeyStore()
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	old := keyOf(t, store, ks.ActiveKeyID())
	if err := ks.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	current := keyOf(t, store, ks.ActiveKeyID())
	now = t0.Add(time.Hour)
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, KeyManager: ks, CacheSize: 10, Now: clock})
	var mu sync.Mutex // the hook runs on the server's goroutine
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
		Status int
		WWW    string
		Body   string
	}
	invalid := answer{401, `Bearer realm="api", error="invalid_token"`, `{"error":"invalid_token","message":"Authentication failed"}`}
	lived := func(k *testKey, iat time.Time, d time.Duration) string {
		return k.token(t, claims(map[string]any{"iat": iat.Unix(), "exp": iat.Add(d).Unix()}))
	}
	tests := []struct {
		name   string
		tok    string
		want   answer
		reason error
	}{
		{"active key, 1 h", lived(current, now, time.Hour), answer{200, "", "user-1"}, nil},
		{"active key, 25 h", lived(current, now, 25*time.Hour), invalid, jwt.ErrLifetimeTooLong},
		{"retired key, issued before the retirement", lived(old, t0, 2*time.Hour), answer{200, "", "user-1"}, nil},
		{"retired key, issued after the retirement", lived(old, now, time.Hour), invalid, jwt.ErrRetiredKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			reasons = nil
			mu.Unlock()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+tc.tok)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := readAll(resp)
			got := answer{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.reason == nil && len(reasons) != 0 || tc.reason != nil && (len(reasons) != 1 || !errors.Is(reasons[0], tc.reason)) {
				t.Errorf("hook: got %v, want %v", reasons, tc.reason)
			}
		})
	}
}

func TestMatchShape(t *testing.T) {
	k := newTestKey(t, jwt.EdDSA, "k1", 0)
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, Keys: []jwt.PublicKey{k.public()}})
	tests := []struct {
		cred string
		want bool
	}{
		{k.token(t, claims(nil)), true},
		{"eyJhbGciOi.eyJzdWIiOi.c2ln", true},
		{"adx_live_abc_def", false},        // an API key
		{"eyJhbGciOi.eyJzdWIiOi", false},   // one dot
		{"eyJ.a.b.c.d", false},             // JWE: four dots
		{"abc.def.ghi", false},             // not a JSON header
		{strings.Repeat("eyJ.", 3), false}, // three dots
		{"", false},
	}
	for _, tc := range tests {
		if got := v.MatchShape(tc.cred); got != tc.want {
			t.Errorf("MatchShape(%.20q): got %v, want %v", tc.cred, got, tc.want)
		}
	}
}

func TestNewVerifierConfig(t *testing.T) {
	k := newTestKey(t, jwt.ES256, "k1", 0)
	keys := []jwt.PublicKey{k.public()}
	longKeySet, err := jwt.NewKeyManager(jwt.KeyManagerConfig{MaxTokenLifetime: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	good := func() jwt.Config {
		return jwt.Config{Issuer: testIssuer, Audiences: []string{testAudience}, Algorithms: []string{jwt.ES256}, Keys: keys}
	}
	tests := []struct {
		name   string
		modify func(*jwt.Config)
	}{
		{"no issuer", func(c *jwt.Config) { c.Issuer = "" }},
		{"no audience", func(c *jwt.Config) { c.Audiences = nil }},
		{"empty audience", func(c *jwt.Config) { c.Audiences = []string{""} }},
		{"no algorithms", func(c *jwt.Config) { c.Algorithms = nil }},
		{"alg none", func(c *jwt.Config) { c.Algorithms = []string{"none"} }},
		{"HS256", func(c *jwt.Config) { c.Algorithms = []string{"HS256"} }},
		{"no key source", func(c *jwt.Config) { c.Keys = nil }},
		{"leeway over cap", func(c *jwt.Config) { c.Leeway = 6 * time.Minute }},
		{"negative leeway", func(c *jwt.Config) { c.Leeway = -time.Second }},
		{"negative cache", func(c *jwt.Config) { c.CacheSize = -1 }},
		{"negative MaxTokenLifetime", func(c *jwt.Config) { c.MaxTokenLifetime = -time.Second }},
		// Its Signer could mint 48 h tokens that this verifier refuses.
		{"key set signs longer than MaxTokenLifetime", func(c *jwt.Config) { c.KeyManager = longKeySet }},
		{"key set signs longer than the default", func(c *jwt.Config) { c.KeyManager = longKeySet; c.MaxTokenLifetime = 47 * time.Hour }},
		{"unknown optional claim", func(c *jwt.Config) { c.InsecureOptionalClaims = []string{"exp"} }},
		{"key not in allow-list", func(c *jwt.Config) { c.Algorithms = []string{jwt.EdDSA} }},
		{"key of wrong curve", func(c *jwt.Config) { c.Algorithms = []string{jwt.ES384}; c.Keys[0].Algorithm = jwt.ES384 }},
		{"relative JWKS URL", func(c *jwt.Config) { c.JWKSURLs = []string{"/jwks.json"} }},
		// Whoever can alter a plain-HTTP response can mint tokens.
		{"plain http JWKS URL", func(c *jwt.Config) { c.JWKSURLs = []string{"http://auth.example.com/jwks.json"} }},
		{"JWKS with no usable key", func(c *jwt.Config) { c.Keys = nil; c.JWKS = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys = []jwt.PublicKey{k.public()}
			cfg := good()
			tc.modify(&cfg)
			v, err := jwt.NewVerifier(cfg)
			if err == nil {
				v.Close()
				t.Fatal("got nil error, want one")
			}
			if !errors.Is(err, jwt.ErrInvalidConfig) || !errors.Is(err, auth.ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
	v, err := jwt.NewVerifier(good())
	if err != nil {
		t.Fatalf("good config: got %v, want success", err)
	}
	v.Close()
	long := good()
	long.KeyManager, long.MaxTokenLifetime = longKeySet, 48*time.Hour
	if v, err = jwt.NewVerifier(long); err != nil {
		t.Fatalf("key set and verifier both at 48 h: got %v, want success", err)
	}
	v.Close()
}

// TestMaxTokenLifetime: "exp" minus "iat" is at most MaxTokenLifetime,
// exactly the limit included, with no leeway. Each token is verified
// twice, the second time from the cache when it was accepted.
func TestMaxTokenLifetime(t *testing.T) {
	k := newTestKey(t, jwt.EdDSA, "k1", 0)
	verifier := func(cfg jwt.Config) *jwt.Verifier {
		cfg.Algorithms, cfg.Keys, cfg.CacheSize = []string{jwt.EdDSA}, []jwt.PublicKey{k.public()}, 100
		return newVerifier(t, cfg)
	}
	def := verifier(jwt.Config{})
	week := verifier(jwt.Config{MaxTokenLifetime: 7 * 24 * time.Hour})
	noIat := verifier(jwt.Config{InsecureOptionalClaims: []string{jwt.ClaimIssuedAt}})
	// lived returns claims issued at iat and expiring d later.
	lived := func(iat time.Time, d time.Duration) string {
		return claims(map[string]any{"iat": iat.Unix(), "exp": iat.Add(d).Unix()})
	}
	tests := []struct {
		name   string
		v      *jwt.Verifier
		claims string
		want   error
	}{
		{"1 h", def, lived(t0, time.Hour), nil},
		{"exactly 24 h", def, lived(t0, 24*time.Hour), nil},
		// No leeway: both times come from the issuer's clock, so over
		// is over, by a second or by half of one.
		{"24 h and 1 s", def, lived(t0, 24*time.Hour+time.Second), jwt.ErrLifetimeTooLong},
		{"24 h and 0.5 s", def, claims(map[string]any{"exp": float64(t0.Add(24*time.Hour).Unix()) + 0.5}), jwt.ErrLifetimeTooLong},
		{"25 h", def, lived(t0, 25*time.Hour), jwt.ErrLifetimeTooLong},
		// Backdating "iat" does not help: the token claims 31 h even
		// though only one is left.
		{"25 h, 1 h left", def, lived(t0.Add(-24*time.Hour), 25*time.Hour), jwt.ErrLifetimeTooLong},
		{"exp in year 9999", def, claims(map[string]any{"exp": 253402300799}), jwt.ErrLifetimeTooLong},
		{"25 h, limit a week", week, lived(t0, 25*time.Hour), nil},
		{"exactly a week, limit a week", week, lived(t0, 7*24*time.Hour), nil},
		{"8 days, limit a week", week, lived(t0, 8*24*time.Hour), jwt.ErrLifetimeTooLong},
		// RFC 9068 §2.2 requires "iat", and so did the verifier before
		// the limit: leaving it out does not dodge the limit.
		{"iat missing", def, claims(nil, "iat"), jwt.ErrMissingClaim},
		// Where "iat" is made optional only the time left is measurable:
		// "exp" at most 24 h and the leeway (30 s) from now.
		{"optional iat missing, 1 h left", noIat, claims(nil, "iat"), nil},
		{"optional iat missing, 24 h 30 s left", noIat, claims(map[string]any{"exp": t0.Add(24*time.Hour + jwt.DefaultLeeway).Unix()}, "iat"), nil},
		{"optional iat missing, 24 h 31 s left", noIat, claims(map[string]any{"exp": t0.Add(24*time.Hour + jwt.DefaultLeeway + time.Second).Unix()}, "iat"), jwt.ErrLifetimeTooLong},
		{"optional iat present, 25 h", noIat, lived(t0, 25*time.Hour), jwt.ErrLifetimeTooLong},
		// "iat" later than now beyond the leeway was refused already;
		// the limit relies on it, since a token issued in the future
		// would last longer than it claims.
		{"iat 30 s ahead", def, lived(t0.Add(jwt.DefaultLeeway), time.Hour), nil},
		{"iat 31 s ahead", def, lived(t0.Add(jwt.DefaultLeeway+time.Second), time.Hour), jwt.ErrNotYetValid},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := k.token(t, strings.Replace(tc.claims, `"token-1"`, fmt.Sprintf(`"token-%d"`, i), 1))
			for range 2 {
				_, err := tc.v.Verify(t.Context(), tok)
				if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if tc.want != nil && !errors.Is(err, auth.ErrInvalidCredential) {
					t.Errorf("got %v, want it to wrap auth.ErrInvalidCredential", err)
				}
			}
		})
	}
}

// TestRevoked: the hook is consulted on every request, cached or not; an
// error from it is "unavailable", never a pass.
func TestRevoked(t *testing.T) {
	k := newTestKey(t, jwt.EdDSA, "k1", 0)
	var revoked bool
	var hookErr error
	calls := 0
	v := newVerifier(t, jwt.Config{
		Algorithms: []string{jwt.EdDSA},
		Keys:       []jwt.PublicKey{k.public()},
		CacheSize:  10,
		Revoked: func(_ context.Context, jti string) (bool, error) {
			calls++
			if jti != "token-1" {
				t.Errorf("got jti %q, want token-1", jti)
			}
			return revoked, hookErr
		},
	})
	tok := k.token(t, claims(nil))
	steps := []struct {
		revoked bool
		hookErr error
		want    error
	}{
		{false, nil, nil},
		{false, nil, nil}, // cached: still consulted
		{true, nil, auth.ErrRevoked},
		{false, errors.New("db down"), auth.ErrUnavailable},
		{false, nil, nil},
	}
	for i, s := range steps {
		revoked, hookErr = s.revoked, s.hookErr
		_, err := v.Verify(t.Context(), tok)
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Errorf("step %d: got %v, want %v", i, err, s.want)
		}
	}
	if calls != len(steps) {
		t.Errorf("got %d hook calls, want %d", calls, len(steps))
	}
	// A token revoked before it is first seen is refused at first sight,
	// not only once cached.
	revoked, hookErr = true, nil
	first := k.token(t, claims(map[string]any{"jti": "token-1", "sub": "someone-else"}))
	if _, err := v.Verify(t.Context(), first); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("revoked at first sight: got %v, want ErrRevoked", err)
	}
}

// TestCache: the cache serves the same principal, stays correct when
// full, and a cached token is still refused once expired: the last call
// is a cache hit (the token is verified, and found cached, right before
// the clock moves), so it is the hit that must check "exp" again.
func TestCache(t *testing.T) {
	k := newTestKey(t, jwt.EdDSA, "k1", 0)
	now := t0
	v := newVerifier(t, jwt.Config{
		Algorithms: []string{jwt.EdDSA},
		Keys:       []jwt.PublicKey{k.public()},
		CacheSize:  2,
		Now:        func() time.Time { return now },
	})
	tok := k.token(t, claims(nil))
	p1, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := v.Verify(t.Context(), tok)
	if err != nil || p1 != p2 {
		t.Fatalf("got %p, %v, want the cached principal %p", p2, err, p1)
	}
	// Fill the cache past its size: still correct.
	for i := range 5 {
		other := k.token(t, claims(map[string]any{"jti": i}))
		if _, err := v.Verify(t.Context(), other); !errors.Is(err, jwt.ErrInvalidClaim) {
			t.Errorf("numeric jti: got %v, want ErrInvalidClaim", err)
		}
		other = k.token(t, claims(map[string]any{"jti": strings.Repeat("x", i+1)}))
		if _, err := v.Verify(t.Context(), other); err != nil {
			t.Errorf("token %d: got %v, want success", i, err)
		}
	}
	// The loop evicted tok: put it back, and check it is a hit.
	p3, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p4, err := v.Verify(t.Context(), tok); err != nil || p4 != p3 {
		t.Fatalf("got %p, %v, want the cached principal %p", p4, err, p3)
	}
	now = t0.Add(time.Hour + jwt.DefaultLeeway)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("expired: got %v, want ErrExpired", err)
	}
}

// TestOptionalClaims: the per-claim opt-out for identity providers.
func TestOptionalClaims(t *testing.T) {
	k := newTestKey(t, jwt.EdDSA, "k1", 0)
	strict := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, Keys: []jwt.PublicKey{k.public()}})
	lax := newVerifier(t, jwt.Config{
		Algorithms:             []string{jwt.EdDSA},
		Keys:                   []jwt.PublicKey{k.public()},
		InsecureOptionalClaims: []string{jwt.ClaimClientID, jwt.ClaimID, jwt.ClaimIssuedAt, jwt.ClaimSubject},
	})
	tok := k.token(t, claims(nil, "client_id", "jti", "iat"))
	if _, err := strict.Verify(t.Context(), tok); !errors.Is(err, jwt.ErrMissingClaim) {
		t.Errorf("strict: got %v, want ErrMissingClaim", err)
	}
	p, err := lax.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("lax: got %v, want success", err)
	}
	if p.Method != auth.MethodAuthorizationCode || p.Subject != "user-1" {
		t.Errorf("lax: got %v for %q, want authorization_code for user-1", p.Method, p.Subject)
	}
	var c map[string]any
	if err := json.Unmarshal(p.Claims, &c); err != nil || c["client_id"] != nil {
		t.Errorf("claims: got %v (%v), want no client_id", c, err)
	}
}

// TestConcurrentVerify: verifying from many goroutines while the cache
// evicts and the key set is replaced, under -race.
func TestConcurrentVerify(t *testing.T) {
	k1 := newTestKey(t, jwt.ES256, "k1", 0)
	k2 := newTestKey(t, jwt.ES256, "k2", 0)
	sets := [][]byte{jwks(t, []*testKey{k1}), jwks(t, []*testKey{k1, k2})}
	s := newJWKSServer(t, sets[1])
	v := remoteVerifier(t, s, jwt.Config{CacheSize: 2})
	toks := make([]string, 5)
	for i := range toks {
		toks[i] = k1.token(t, claims(map[string]any{"jti": fmt.Sprint("t", i)}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				p, err := v.Verify(context.Background(), toks[(g+i)%len(toks)])
				if err == nil && p.Subject != "user-1" {
					err = fmt.Errorf("got subject %q", p.Subject)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 6 {
		s.serve(sets[i%2])
		if err := v.Refresh(t.Context()); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("got %v, want success", err)
	}
}

// TestAlgorithms: every supported algorithm verifies its own signatures
// and refuses a flipped bit.
func TestAlgorithms(t *testing.T) {
	for i, alg := range []string{jwt.RS256, jwt.RS384, jwt.RS512, jwt.PS256, jwt.PS384, jwt.PS512, jwt.ES256, jwt.ES384, jwt.ES512, jwt.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			k := newTestKey(t, alg, "k", i%3)
			v := newVerifier(t, jwt.Config{Algorithms: []string{alg}, Keys: []jwt.PublicKey{k.public()}})
			for range 5 { // ECDSA signatures vary in length once DER-encoded
				tok := k.token(t, claims(nil))
				expectVerify(t, v, tok, nil)
				sig, _ := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
				sig[len(sig)/2] ^= 1
				expectVerify(t, v, tok[:strings.LastIndexByte(tok, '.')+1]+b64.EncodeToString(sig), jwt.ErrBadSignature)
			}
		})
	}
}

// TestKidlessBound: a token without kid is tried against at most three
// keys of its algorithm, so one token cannot cost a signature check per
// configured key.
func TestKidlessBound(t *testing.T) {
	var keys []*testKey
	var pub []jwt.PublicKey
	for range 4 {
		k := newTestKey(t, jwt.EdDSA, "", 0)
		keys = append(keys, k)
		pub = append(pub, k.public())
	}
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.EdDSA}, Keys: pub})
	noKid := `{"alg":"EdDSA","typ":"at+jwt"}`
	expectVerify(t, v, keys[0].sign(t, jwt.EdDSA, noKid, claims(nil)), nil)
	expectVerify(t, v, keys[2].sign(t, jwt.EdDSA, noKid, claims(nil)), nil)
	expectVerify(t, v, keys[3].sign(t, jwt.EdDSA, noKid, claims(nil)), jwt.ErrBadSignature)
}
