package dpop_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
)

const apiURL = "https://api.example.com/v1/data"

// TestCheckerAlgorithms: a proof of every allowed algorithm, made by the
// Signer, passes; its thumbprint is the Signer's.
func TestCheckerAlgorithms(t *testing.T) {
	c := newChecker(t, dpop.Config{Algorithms: []string{dpop.ES256, dpop.ES384, dpop.EdDSA, dpop.RS256, dpop.PS256}})
	for _, alg := range []string{dpop.ES256, dpop.ES384, dpop.EdDSA, dpop.RS256, dpop.PS256} {
		t.Run(alg, func(t *testing.T) {
			k := newClientKey(t, alg)
			r := httptest.NewRequest("GET", apiURL, nil)
			if err := c.CheckProof(r, k.proof(t, "GET", apiURL, "tok"), "tok", k.jkt); err != nil {
				t.Fatalf("CheckProof: %v", err)
			}
			tr := httptest.NewRequest("POST", "https://auth.example.com/oauth/token", nil)
			tr.Header.Set("DPoP", k.proof(t, "POST", "https://auth.example.com/oauth/token", ""))
			jkt, err := c.CheckTokenRequest(tr, "https://auth.example.com/oauth/token")
			if err != nil || jkt != k.jkt {
				t.Fatalf("CheckTokenRequest: %q, %v; want %q", jkt, err, k.jkt)
			}
			thumb, err := dpop.Thumbprint(k.priv.Public())
			if err != nil || thumb != k.jkt {
				t.Errorf("Thumbprint: %q, %v; want %q", thumb, err, k.jkt)
			}
		})
	}
}

// TestThumbprintRFC7638 holds the thumbprint to RFC 7638 §3.1's example.
func TestThumbprintRFC7638(t *testing.T) {
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	const want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	nb, err := b64.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dpop.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537})
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

// TestCheckerNonce: with RequireNonce, a proof without the nonce gets
// ErrNonce (use_dpop_nonce); with the current or previous one it passes;
// an older one, or one from another key, fails.
func TestCheckerNonce(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	key := make([]byte, dpop.NonceKeySize)
	rand.Read(key)
	c := newChecker(t, dpop.Config{RequireNonce: true, NonceKey: key, NonceLifetime: time.Minute, Now: clock, Window: 5 * time.Minute})
	other := newChecker(t, dpop.Config{RequireNonce: true, Now: clock})
	k := newClientKey(t, dpop.ES256)
	var err error
	if k.signer, err = dpop.NewSigner(dpop.SignerConfig{Key: k.priv, Now: clock}); err != nil {
		t.Fatal(err)
	}
	check := func(nonce string) error {
		p, err := k.signer.Proof("GET", apiURL, "tok", nonce)
		if err != nil {
			t.Fatal(err)
		}
		return c.CheckProof(httptest.NewRequest("GET", apiURL, nil), p, "tok", k.jkt)
	}
	if err := check(""); !errors.Is(err, dpop.ErrNonce) || !errors.Is(err, auth.ErrUseNonce) {
		t.Fatalf("no nonce: got %v, want ErrNonce", err)
	}
	n1 := c.Nonce()
	if n1 == "" || n1 == other.Nonce() {
		t.Fatalf("nonces %q and %q: want distinct, non-empty", n1, other.Nonce())
	}
	if err := check(n1); err != nil {
		t.Fatalf("current nonce: %v", err)
	}
	if err := check(other.Nonce()); !errors.Is(err, dpop.ErrNonce) {
		t.Errorf("another server's nonce: got %v, want ErrNonce", err)
	}
	now = now.Add(time.Minute)
	if c.Nonce() == n1 {
		t.Fatal("nonce did not change after its lifetime")
	}
	if err := check(n1); err != nil {
		t.Errorf("previous nonce: %v", err)
	}
	now = now.Add(time.Minute)
	if err := check(n1); !errors.Is(err, dpop.ErrNonce) {
		t.Errorf("nonce two lifetimes old: got %v, want ErrNonce", err)
	}
	// Same key, same nonces: a fleet agrees.
	twin := newChecker(t, dpop.Config{RequireNonce: true, NonceKey: key, NonceLifetime: time.Minute, Now: clock})
	if twin.Nonce() != c.Nonce() {
		t.Error("two checkers with one key issue different nonces")
	}
	if newChecker(t, dpop.Config{}).Nonce() != "" {
		t.Error("nonce without RequireNonce")
	}
}

// TestCheckerWindow: iat within Window of now passes, outside fails, in
// both directions.
func TestCheckerWindow(t *testing.T) {
	c := newChecker(t, dpop.Config{Window: 30 * time.Second})
	k := newClientKey(t, dpop.EdDSA)
	for _, tc := range []struct {
		iat  time.Time
		want error
	}{
		{t0.Add(-30 * time.Second), nil},
		{t0.Add(30 * time.Second), nil},
		{t0.Add(-31 * time.Second), dpop.ErrIssuedAt},
		{t0.Add(31 * time.Second), dpop.ErrIssuedAt},
	} {
		p := k.raw(t, dpop.EdDSA, k.header(t, dpop.EdDSA, nil), claims("GET", apiURL, "tok", map[string]any{"iat": tc.iat.Unix()}))
		if err := c.CheckProof(httptest.NewRequest("GET", apiURL, nil), p, "tok", k.jkt); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("iat %v: got %v, want %v", tc.iat.Sub(t0), err, tc.want)
		}
	}
}

// TestCheckerTrustedProxy: behind a trusted proxy, htu names the
// client's scheme and host; the same headers from anyone else change
// nothing.
func TestCheckerTrustedProxy(t *testing.T) {
	c := newChecker(t, dpop.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	k := newClientKey(t, dpop.ES256)
	do := func(remote string) error {
		r := httptest.NewRequest("GET", "http://backend:8080/v1/data", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "api.example.com")
		return c.CheckProof(r, k.proof(t, "GET", apiURL, "tok"), "tok", k.jkt)
	}
	if err := do("10.1.2.3:4000"); err != nil {
		t.Errorf("from the proxy: %v", err)
	}
	if err := do("192.0.2.7:4000"); !errors.Is(err, dpop.ErrURI) {
		t.Errorf("from another peer: got %v, want ErrURI", err)
	}
}

// TestCheckTokenRequest: the token endpoint's checks, with htu compared
// to the published endpoint.
func TestCheckTokenRequest(t *testing.T) {
	const endpoint = "https://auth.example.com/oauth/token"
	c := newChecker(t, dpop.Config{})
	k := newClientKey(t, dpop.ES256)
	do := func(proofs ...string) error {
		r := httptest.NewRequest("POST", "http://internal/oauth/token", nil)
		if proofs != nil {
			r.Header["Dpop"] = proofs
		}
		_, err := c.CheckTokenRequest(r, endpoint)
		return err
	}
	if err := do(k.proof(t, "POST", endpoint, "")); err != nil {
		t.Errorf("valid: %v", err)
	}
	for _, tc := range []struct {
		name   string
		proofs []string
		want   error
	}{
		{"none", nil, dpop.ErrNoProof},
		{"two", []string{k.proof(t, "POST", endpoint, ""), k.proof(t, "POST", endpoint, "")}, dpop.ErrMalformed},
		{"the request's own URL", []string{k.proof(t, "POST", "http://internal/oauth/token", "")}, dpop.ErrURI},
		{"GET", []string{k.proof(t, "GET", endpoint, "")}, dpop.ErrMethod},
	} {
		if err := do(tc.proofs...); !errors.Is(err, tc.want) || !errors.Is(err, auth.ErrInvalidProof) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestCheckProofNeedsABinding: called without the token's thumbprint or
// without the token, CheckProof refuses rather than accept any key.
func TestCheckProofNeedsABinding(t *testing.T) {
	c := newChecker(t, dpop.Config{})
	k := newClientKey(t, dpop.ES256)
	for _, tc := range []struct{ token, jkt string }{{"tok", ""}, {"", k.jkt}} {
		err := c.CheckProof(httptest.NewRequest("GET", apiURL, nil), k.proof(t, "GET", apiURL, tc.token), tc.token, tc.jkt)
		if !errors.Is(err, dpop.ErrKeyMismatch) {
			t.Errorf("token %q, jkt %q: got %v, want ErrKeyMismatch", tc.token, tc.jkt, err)
		}
	}
}

// failingStore is a ReplayStore that cannot answer.
type failingStore struct{}

func (failingStore) ClaimProof(context.Context, dpop.ReplayKey, time.Time, time.Time) (bool, error) {
	return false, errors.New("database down")
}

func TestCheckerReplayStoreDown(t *testing.T) {
	c := newChecker(t, dpop.Config{Replay: failingStore{}})
	k := newClientKey(t, dpop.ES256)
	err := c.CheckProof(httptest.NewRequest("GET", apiURL, nil), k.proof(t, "GET", apiURL, "tok"), "tok", k.jkt)
	if !errors.Is(err, dpop.ErrReplayCheck) || !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("got %v, want ErrReplayCheck wrapping auth.ErrUnavailable", err)
	}
}

func TestNewCheckerErrors(t *testing.T) {
	for name, cfg := range map[string]dpop.Config{
		"alg none":           {Algorithms: []string{"none"}},
		"HS256":              {Algorithms: []string{"HS256"}},
		"unknown alg":        {Algorithms: []string{"ES257"}},
		"negative window":    {Window: -time.Second},
		"window too long":    {Window: dpop.MaxWindow + time.Second},
		"short nonce key":    {RequireNonce: true, NonceKey: []byte("short")},
		"negative lifetime":  {NonceLifetime: -time.Second},
		"proof size too big": {MaxProofSize: auth.MaxProofLength + 1},
		"invalid proxy":      {TrustedProxies: []netip.Prefix{{}}},
	} {
		if _, err := dpop.NewChecker(cfg); !errors.Is(err, dpop.ErrInvalidConfig) || !errors.Is(err, auth.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
	c := newChecker(t, dpop.Config{})
	if got := strings.Join(c.Algorithms(), " "); got != "ES256 EdDSA RS256 PS256" {
		t.Errorf("default algorithms: %q", got)
	}
}

// TestCheckerReplayKey: a proof is remembered for as long as its iat
// could pass the window, not just a moment; and by its key and jti
// together, so one client's jti does not burn another's.
func TestCheckerReplayKey(t *testing.T) {
	var now atomic.Int64
	now.Store(t0.UnixNano())
	c := newChecker(t, dpop.Config{Window: 30 * time.Second, Now: func() time.Time { return time.Unix(0, now.Load()) }})
	a, b := newClientKey(t, dpop.EdDSA), newClientKey(t, dpop.EdDSA)
	check := func(k *clientKey, p string) error {
		return c.CheckProof(httptest.NewRequest("GET", apiURL, nil), p, "tok", k.jkt)
	}
	pa := a.raw(t, dpop.EdDSA, a.header(t, dpop.EdDSA, nil), claims("GET", apiURL, "tok", map[string]any{"jti": "same"}))
	pb := b.raw(t, dpop.EdDSA, b.header(t, dpop.EdDSA, nil), claims("GET", apiURL, "tok", map[string]any{"jti": "same"}))
	if err := check(a, pa); err != nil {
		t.Fatalf("first proof: %v", err)
	}
	if err := check(b, pb); err != nil {
		t.Errorf("another key's proof with the same jti: %v, want it accepted", err)
	}
	for _, d := range []time.Duration{2 * time.Second, 29 * time.Second} {
		now.Store(t0.Add(d).UnixNano())
		if err := check(a, pa); !errors.Is(err, dpop.ErrReplay) {
			t.Errorf("replayed %v later, within the window: got %v, want ErrReplay", d, err)
		}
	}
}
