package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
)

// bound returns a key set's verifier and an access token bound to the
// key whose thumbprint is jkt, as an authorization server would issue.
func bound(jkt string) (*jwt.Verifier, string) {
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: ks})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := signer.Sign(context.Background(), jwt.Claims{
		Subject: "user-1", ClientID: "app", Audience: []string{"https://api.example.com"},
		KeyThumbprint: jkt,
	})
	if err != nil {
		log.Fatal(err)
	}
	v, err := jwt.NewVerifier(jwt.Config{
		Issuer: "https://auth.example.com", Audiences: []string{"https://api.example.com"},
		Algorithms: []string{jwt.ES256}, KeyManager: ks, CacheSize: 1000,
	})
	if err != nil {
		log.Fatal(err)
	}
	return v, tok.Value
}

// A resource server that accepts DPoP-bound tokens: the Checker goes in
// auth.Config.DPoP, and RequireDPoP keeps a route for them alone. A
// captured request, replayed with its proof, is refused; so is the token
// without a proof.
func ExampleChecker() {
	checker, err := dpop.NewChecker(dpop.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// The client's key pair, and a token bound to it.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	client, err := dpop.NewSigner(dpop.SignerConfig{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	verifier, token := bound(client.Thumbprint())
	defer verifier.Close()

	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{verifier}, DPoP: checker})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/payments", auth.RequireDPoP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "paid for %s", p.Subject)
	})))
	h := authn.Handler(mux)

	const uri = "https://api.example.com/v1/payments"
	proof, err := client.Proof("POST", uri, token, "")
	if err != nil {
		log.Fatal(err)
	}
	send := func(scheme, proof string) {
		r := httptest.NewRequest("POST", uri, nil)
		r.Header.Set("Authorization", scheme+" "+token)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
		for _, c := range w.Header().Values("WWW-Authenticate") {
			fmt.Println("  WWW-Authenticate:", c)
		}
	}
	send("DPoP", proof)
	send("DPoP", proof) // the same request again
	send("Bearer", "")  // the token alone, as a thief would use it
	// Output:
	// 200 paid for user-1
	// 401 {"error":"invalid_dpop_proof","message":"Authentication failed"}
	//   WWW-Authenticate: Bearer realm="api"
	//   WWW-Authenticate: DPoP realm="api", error="invalid_dpop_proof", algs="ES256 EdDSA RS256 PS256"
	// 401 {"error":"invalid_token","message":"Authentication failed"}
	//   WWW-Authenticate: Bearer realm="api", error="invalid_token"
	//   WWW-Authenticate: DPoP realm="api", error="invalid_token", algs="ES256 EdDSA RS256 PS256"
}

// handlerTransport sends requests to a handler in this process, as an
// HTTPS server would receive them.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := httptest.NewRequest(r.Method, r.URL.String(), r.Body)
	in.Header = r.Header.Clone()
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, in)
	return w.Result(), nil
}

// A Go client of an API that takes DPoP-bound tokens: the Transport signs
// a new proof for every request, bound to the token in the request's
// "Authorization: DPoP" header, and when the server requires nonces it
// retries once with the server's nonce. Keep the key for as long as the
// tokens bound to it are used (on a phone, in the platform's key store).
func ExampleTransport() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := dpop.NewSigner(dpop.SignerConfig{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	verifier, token := bound(signer.Thumbprint())
	defer verifier.Close()

	// The server: nonces required.
	checker, err := dpop.NewChecker(dpop.Config{RequireNonce: true})
	if err != nil {
		log.Fatal(err)
	}
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{verifier}, DPoP: checker})
	if err != nil {
		log.Fatal(err)
	}
	var calls int
	api := authn.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		io.WriteString(w, "data")
	}))

	// The client.
	client := &http.Client{Transport: &dpop.Transport{Signer: signer, Base: handlerTransport{api}}}
	req, _ := http.NewRequest("GET", "https://api.example.com/v1/data", nil)
	req.Header.Set("Authorization", "DPoP "+token)
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", calls, "call to the handler")
	// Output:
	// 200 data after 1 call to the handler
}
