package dpop

import (
	"fmt"
	"testing"
)

// TestTransportNoncesBounded: a server redirecting the client through
// many origins, each with a nonce, grows the Transport's table to at most
// maxOrigins, and does not push out the nonce of an origin the client
// keeps calling.
func TestTransportNoncesBounded(t *testing.T) {
	var tr Transport
	if n := tr.nonce("https://api.example"); n != "" {
		t.Fatalf("nonce before any response = %q, want none", n)
	}
	tr.setNonce("https://api.example", "n-api")
	for range 3 {
		tr.nonce("https://api.example")
	}
	for i := range 100 * maxOrigins {
		tr.setNonce(fmt.Sprintf("https://r%d.example", i), "n")
	}
	if n := tr.nonces.Load().Len(); n > maxOrigins {
		t.Errorf("Transport holds %d nonces, want at most %d", n, maxOrigins)
	}
	if n := tr.nonce("https://api.example"); n != "n-api" {
		t.Errorf("nonce of the origin in use = %q, want n-api", n)
	}
}
