package apikey_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
)

// Create a key. The key is returned once and never stored: give it to its
// user now. Only its shape is printed here, as a key is random.
func ExampleManager_Create() {
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	key, rec, err := mgr.Create(context.Background(), apikey.CreateParams{
		Name:   "nightly export",
		Owner:  "billing-service",
		Scopes: auth.MustScopes("data:read"),
	})
	if err != nil {
		log.Fatal(err)
	}
	shape := regexp.MustCompile(`[0-9A-Za-z]`).ReplaceAllLiteralString(key[len("adx_live_"):], "x")
	fmt.Println(key[:len("adx_live_")] + shape)
	fmt.Println("length:", len(key))
	fmt.Println("ID is in the key:", rec.ID == key[9:21])
	fmt.Println("expires after:", rec.ExpiresAt.Sub(rec.CreatedAt))
	// Output:
	// adx_live_xxxxxxxxxxxx_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
	// length: 60
	// ID is in the key: true
	// expires after: 2160h0m0s
}

// Protect a handler with an API key: the Verifier goes into the
// Authenticator, and RequireScopes checks the key's scopes. Build the
// Verifier on the Manager so a revocation applies to the next request.
func ExampleVerifier() {
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Manager: mgr})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
	if err != nil {
		log.Fatal(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", p.Subject)
	})
	h := authn.Handler(auth.RequireScopes("data:read")(hello))

	ctx := context.Background()
	key, rec, err := mgr.Create(ctx, apikey.CreateParams{
		Name: "reporting", Owner: "app-42", Scopes: auth.MustScopes("data:read"),
	})
	if err != nil {
		log.Fatal(err)
	}
	get := func(credential string) {
		r := httptest.NewRequest("GET", "https://api.example/v1/data", nil)
		r.TLS = &tls.ConnectionState{} // as served over HTTPS
		if credential != "" {
			r.Header.Set("Authorization", "Bearer "+credential)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	get(key)
	get("")
	if err := mgr.Revoke(ctx, rec.ID, "leaked in a CI log"); err != nil {
		log.Fatal(err)
	}
	get(key)
	// Output:
	// 200  hello app-42
	// 401 Bearer realm="api" {"error":"unauthorized","message":"Authentication failed"}
	// 401 Bearer realm="api", error="invalid_token" {"error":"invalid_token","message":"Authentication failed"}
}

// Parse checks a key's format and checksum without any store, for example
// to confirm a secret scanner's match before raising an alert.
func ExampleParse() {
	for _, s := range []string{
		"adx_live_mHIcBNz8KnC9_RKWjUGsI8QXvnG0oQLbOI1jPuuEWx3wT35D8Cy",
		"adx_live_mHIcBNz8KnC9_RKWjUGsI8QXvnG0oQLbOI1jPuuEWx3wT35D8Cz", // typo
	} {
		p, err := apikey.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(p.Prefix, p.Env, p.ID)
	}
	// Output:
	// adx live mHIcBNz8KnC9
	// apikey: key checksum mismatch
}

// Rotate a key: the new key is shown once, and the old one keeps working
// for the grace period (24 hours by default) while clients switch.
func ExampleManager_Rotate() {
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, old, err := mgr.Create(ctx, apikey.CreateParams{Name: "ci", Owner: "deployer"})
	if err != nil {
		log.Fatal(err)
	}
	_, next, err := mgr.Rotate(ctx, old.ID)
	if err != nil {
		log.Fatal(err)
	}
	old, _ = mgr.Get(ctx, old.ID)
	fmt.Println("new key replaces old:", next.RotatedFrom == old.ID && old.ReplacedBy == next.ID)
	fmt.Println("old key works for:", old.ExpiresAt.Sub(next.CreatedAt))
	_, _, err = mgr.Rotate(ctx, old.ID)
	fmt.Println(err)
	// Output:
	// new key replaces old: true
	// old key works for: 24h0m0s
	// apikey: key is not active: apikey: key already rotated
}
