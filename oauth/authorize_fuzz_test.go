package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// fakeSigner is never called by the authorize parser.
type fakeSigner struct{}

func (fakeSigner) Sign(context.Context, jwt.Claims) (jwt.Token, error) {
	return jwt.Token{}, errors.New("fake signer")
}

// FuzzAuthorizeRequest fuzzes the authorization request parser with a
// query string against one registered client. Invariants: no panic; the
// error is an *AuthorizeError; a redirect (error or success) only ever goes
// to a URI the client registered (or its loopback port variant); a success
// carries a valid S256 challenge and scopes within the client's.
func FuzzAuthorizeRequest(f *testing.F) {
	clients := NewMemoryClientStore()
	registered := []string{"https://app.example/cb", "https://app.example/cb2?x=1", "http://127.0.0.1/cb"}
	client := &Client{ID: "c1", Name: "App", Type: ClientWeb, RedirectURIs: registered,
		GrantTypes: []string{GrantAuthorizationCode}, Scopes: auth.MustScopes("read", "write")}
	if err := clients.CreateClient(context.Background(), client); err != nil {
		f.Fatal(err)
	}
	srv, err := NewServer(Config{Issuer: "https://as.example", Signer: fakeSigner{}, Clients: clients, Grants: NewMemoryGrantStore(), Audience: []string{"api"}})
	if err != nil {
		f.Fatal(err)
	}
	good := "response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=read"
	f.Add(good)
	f.Add(strings.Replace(good, "S256", "plain", 1))
	f.Add(strings.Replace(good, "%2Fcb", "%2Fcb%2F", 1))
	f.Add(strings.Replace(good, "https%3A%2F%2Fapp.example%2Fcb", "http%3A%2F%2F127.0.0.1%3A5000%2Fcb", 1))
	f.Add(good + "&state=again")
	f.Add("client_id=c1&redirect_uri=https://app.example/cb2?x=1&response_type=token")
	f.Add("client_id=c1&redirect_uri=https%3A%2F%2Fgood%40evil&response_type=code")
	f.Add(";&%&==&client_id=%c1")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "https://as.example/oauth/authorize", nil)
		r.URL.RawQuery = query
		req, err := srv.ParseAuthorizeRequest(r)
		if err != nil {
			var ae *AuthorizeError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T is not *AuthorizeError", err)
			}
			if ae.Redirects() {
				if _, ok := matchRedirectURI(registered, ae.redirectURI, false); !ok {
					t.Fatalf("error redirected to unregistered %q", ae.redirectURI)
				}
				if ae.Code == "" {
					t.Fatalf("redirected error without a code")
				}
			}
			w := httptest.NewRecorder()
			srv.WriteAuthorizeError(w, r, err)
			if loc := w.Header().Get("Location"); ae.Redirects() != (loc != "") {
				t.Fatalf("Redirects() %v but Location %q", ae.Redirects(), loc)
			}
			return
		}
		if _, ok := matchRedirectURI(registered, req.RedirectURI, false); !ok {
			t.Fatalf("accepted unregistered redirect URI %q", req.RedirectURI)
		}
		if !validChallenge(req.CodeChallenge) {
			t.Fatalf("accepted challenge %q", req.CodeChallenge)
		}
		if !client.Scopes.Includes(req.Scopes) {
			t.Fatalf("accepted scopes %q beyond the client's", req.Scopes)
		}
	})
}
