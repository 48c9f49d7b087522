package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
	"github.com/google/go-cmp/cmp"
)

// FuzzTokenRequest fuzzes the token endpoint's request parsing: the form
// body, the grant parameters and the client credentials from a Basic
// header. Invariants: no panic; every error is one of ours; a parsed form
// survives re-encoding; parsed Basic credentials survive re-encoding.
func FuzzTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials&scope=read", "Basic YTpi")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa%2Fcb&code_verifier=v", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=adxrt_x&grant_type=x", "Basic Og==")
	f.Add("application/json", `{"grant_type":"client_credentials"}`, "Bearer x")
	f.Add("application/x-www-form-urlencoded", "client_id=a%2Bb&client_secret=c+d&grant_type=password;x=y", "basic   YSUyQjpi")
	f.Add("application/x-www-form-urlencoded", "%zz=1&a=%", "Basic !!!")
	f.Fuzz(func(t *testing.T, contentType, body, authz string) {
		p, err := parseFormRequest(contentType, "", []byte(body))
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("parseFormRequest error %v does not wrap ErrMalformedRequest", err)
			}
			return
		}
		// Round trip: the parameters re-encode to a form that parses to
		// the same parameters.
		v := url.Values{}
		for k, val := range p {
			v.Set(k, val)
		}
		again, err := parseParams(v.Encode())
		if err != nil {
			t.Fatalf("re-encoded form refused: %v", err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		tr, err := parseTokenRequest(p)
		switch {
		case err == nil:
			if tr.grantType != GrantClientCredentials && tr.grantType != GrantAuthorizationCode && tr.grantType != GrantRefreshToken {
				t.Fatalf("accepted grant type %q", tr.grantType)
			}
		case !errors.Is(err, ErrMalformedRequest) && !errors.Is(err, ErrUnsupportedGrantType):
			t.Fatalf("parseTokenRequest error %v is not ours", err)
		}
		h := http.Header{}
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		cc, err := readClientCredentials(h, p)
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) && !errors.Is(err, ErrClientAuth) {
				t.Fatalf("readClientCredentials error %v is not ours", err)
			}
			return
		}
		if cc.id == "" {
			t.Fatalf("credentials without a client ID accepted")
		}
		if cc.basic {
			enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cc.id) + ":" + url.QueryEscape(cc.secret)))
			id, secret, ok := parseBasic("Basic " + enc)
			if !ok || id != cc.id || secret != cc.secret {
				t.Fatalf("Basic round trip: got %q %q %v, want %q %q", id, secret, ok, cc.id, cc.secret)
			}
		}
	})
}

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
				if _, ok := matchRedirectURI(registered, ae.redirectURI); !ok {
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
		if _, ok := matchRedirectURI(registered, req.RedirectURI); !ok {
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
