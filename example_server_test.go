package auth_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
)

// A whole server: API keys and access tokens on the same routes, each
// credential checked by the verifier that claims its shape. This is the
// README's snippet with in-process keys instead of a remote JWKS URL.
func Example_server() {
	ctx := context.Background()

	manager, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	keys, err := apikey.NewVerifier(apikey.Config{Manager: manager})
	if err != nil {
		panic(err)
	}
	defer keys.Close()

	keySet, err := jwt.NewKeyManager(jwt.KeyManagerConfig{})
	if err != nil {
		panic(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: "https://auth.example.com", Keys: keySet})
	if err != nil {
		panic(err)
	}
	tokens, err := jwt.NewVerifier(jwt.Config{
		Issuer:     "https://auth.example.com",
		Audiences:  []string{"https://api.example.com"},
		Algorithms: []string{jwt.ES256},
		KeyManager: keySet, // or JWKSURLs: []string{"https://auth.example.com/.well-known/jwks.json"}
	})
	if err != nil {
		panic(err)
	}
	defer tokens.Close()

	authn, err := auth.New(auth.Config{
		Verifiers: []auth.Verifier{keys, tokens},
		OnFailure: auth.LogFailures(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/data", auth.RequireScopes("data:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "%s via %s", p.Subject, p.Method)
	})))
	handler := auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(mux))

	key, _, err := manager.Create(ctx, apikey.CreateParams{Name: "reporting", Owner: "reporting-app", Scopes: auth.MustScopes("data:read")})
	if err != nil {
		panic(err)
	}
	tok, err := signer.Sign(ctx, jwt.Claims{Subject: "backend", ClientID: "backend",
		Audience: []string{"https://api.example.com"}, Scopes: auth.MustScopes("data:read")})
	if err != nil {
		panic(err)
	}
	for _, cred := range []string{key, tok.Value} {
		r := httptest.NewRequest("GET", "https://api.example.com/v1/data", nil)
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Authorization", "Bearer "+cred)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 reporting-app via api_key
	// 200 backend via client_credentials
}
