package dpop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
)

// TestTransport runs a client with a Transport against a real TLS server
// that requires nonces: the first call is answered use_dpop_nonce and
// retried once with the nonce, later calls carry it from the start, and a
// body is sent again on the retry.
func TestTransport(t *testing.T) {
	k := newClientKey(t, dpop.ES256)
	is := newIssuer(t)
	tok := is.token(t, k.jkt)
	checker := newChecker(t, dpop.Config{RequireNonce: true})
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{is.verifier}, DPoP: checker})
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewTLSServer(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte("ok "), b...))
	})))
	defer srv.Close()
	// The proofs name the server's own URL, and the clock is the tests'.
	client := &http.Client{Transport: &dpop.Transport{Signer: k.signer, Base: srv.Client().Transport}}
	do := func(method, body string) (int, string) {
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+"/v1/data?x=1", rb)
		req.Header.Set("Authorization", "DPoP "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if req.Header.Get("DPoP") != "" {
			t.Error("the Transport modified the caller's request")
		}
		return resp.StatusCode, string(b)
	}
	if code, body := do("POST", "payload"); code != 200 || body != "ok payload" {
		t.Fatalf("first call: %d %q, want 200 after one retry", code, body)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	if code, _ := do("GET", ""); code != 200 {
		t.Fatalf("second call: %d", code)
	}
}

// TestTransportTokenRequest: without a DPoP Authorization header the
// proof has no ath, and other Authorization schemes are left alone.
func TestTransportTokenRequest(t *testing.T) {
	k := newClientKey(t, dpop.EdDSA)
	checker := newChecker(t, dpop.Config{})
	got := make(chan error, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := checker.CheckTokenRequest(r, "https://"+r.Host+"/oauth/token")
		got <- err
	}))
	defer srv.Close()
	client := &http.Client{Transport: &dpop.Transport{Signer: k.signer, Base: srv.Client().Transport}}
	req, _ := http.NewRequest("POST", srv.URL+"/oauth/token", strings.NewReader("grant_type=refresh_token"))
	req.SetBasicAuth("client", "secret")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-got; err != nil {
		t.Errorf("token request proof: %v", err)
	}
	if _, err := (&dpop.Transport{}).RoundTrip(req); err == nil {
		t.Error("Transport without a Signer: no error")
	}
}

func TestNewSigner(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, cfg := range map[string]dpop.SignerConfig{
		"no key":               {},
		"P-224":                {Key: p224},
		"ES384 with P-256":     {Key: p256, Algorithm: dpop.ES384},
		"RS256 with an EC key": {Key: p256, Algorithm: dpop.RS256},
		"HS256":                {Key: p256, Algorithm: "HS256"},
	} {
		if _, err := dpop.NewSigner(cfg); !errors.Is(err, dpop.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
	s, err := dpop.NewSigner(dpop.SignerConfig{Key: p256})
	if err != nil || s.Algorithm() != dpop.ES256 {
		t.Fatalf("P-256: %v, %v", s, err)
	}
	if _, err := s.Proof("GET", "/relative", "", ""); err == nil {
		t.Error("proof for a relative URI: no error")
	}
	// htu leaves out the query and fragment (RFC 9449 §4.2).
	p, err := s.Proof("GET", "https://api.example/x?q=1#f", "", "")
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := b64.DecodeString(strings.Split(p, ".")[1])
	if !strings.Contains(string(pb), `"htu":"https://api.example/x"`) {
		t.Errorf("claims %s", pb)
	}
}
