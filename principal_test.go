package auth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth"
)

// TestRequireBehindNewContextServer: the route checks behind a principal
// that a user's own middleware put in the context with NewContext (a
// session, a test) answer with the realm of the Authenticator in front
// and report to its OnFailure, with that principal. Through a real server
// and client.
func TestRequireBehindNewContextServer(t *testing.T) {
	const (
		bodyScope  = `{"error":"insufficient_scope","message":"Insufficient scope"}`
		bodyInvTok = `{"error":"invalid_token","message":"Authentication failed"}`
		bodyNoCred = `{"error":"unauthorized","message":"Authentication failed"}`
		bodyDown   = `{"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}`
	)
	// What the Authenticator verifies: a principal every check below
	// would let through.
	verified := &auth.Principal{
		Subject: "usr_ann", ClientID: "app", Method: auth.MethodAuthorizationCode,
		Scopes: auth.MustScopes("read", "write", "admin"),
	}
	// What the user's middleware puts in its place: an application's API
	// key with "read" only.
	session := &auth.Principal{Subject: "app-2", Method: auth.MethodAPIKey, Scopes: auth.MustScopes("read")}
	noAccount := func(context.Context, *auth.Principal) (string, error) {
		return "", fmt.Errorf("%w: app-2 belongs to nobody", auth.ErrNoAccount)
	}
	storeDown := func(context.Context, *auth.Principal) (string, error) {
		return "", errors.New("account store: connection refused")
	}
	tests := []struct {
		name    string
		p       *auth.Principal // what NewContext puts in, and the hook must get
		check   func(http.Handler) http.Handler
		status  int
		wwwAuth string
		body    string
		reason  error
	}{
		{"RequireScopes", session, auth.RequireScopes("write"),
			403, `Bearer realm="shop", error="insufficient_scope", scope="write"`, bodyScope, auth.ErrInsufficientScope},
		{"RequireAnyScope", session, auth.RequireAnyScope("write", "admin"),
			403, `Bearer realm="shop", error="insufficient_scope", scope="admin write"`, bodyScope, auth.ErrInsufficientScope},
		{"RequireUser", session, auth.RequireUser,
			403, `Bearer realm="shop", error="insufficient_scope"`, bodyScope, auth.ErrInsufficientScope},
		{"RequireAccount, no account", session, auth.RequireAccount(noAccount),
			403, `Bearer realm="shop", error="insufficient_scope"`, bodyScope, auth.ErrNoAccount},
		{"RequireAccount, store down", session, auth.RequireAccount(storeDown),
			503, "", bodyDown, auth.ErrUnavailable},
		{"RequireDPoP", session, auth.RequireDPoP,
			401, `DPoP realm="shop", error="invalid_token"`, bodyInvTok, auth.ErrNotSenderConstrained},
		// NewContext with no principal takes the Authenticator's away:
		// the check fails closed, and says so to the same hook.
		{"RequireScopes, principal removed", nil, auth.RequireScopes("read"),
			401, `Bearer realm="shop"`, bodyNoCred, auth.ErrNoPrincipal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := make(chan auth.Event, 10)
			v := auth.VerifierFunc(func(context.Context, string) (*auth.Principal, error) { return verified, nil })
			a, err := auth.New(auth.Config{
				Verifiers: []auth.Verifier{v},
				Realm:     "shop",
				OnFailure: func(e auth.Event) { events <- e },
			})
			if err != nil {
				t.Fatal(err)
			}
			sessionMiddleware := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), tt.p)))
				})
			}
			var served atomic.Bool
			h := a.Handler(sessionMiddleware(tt.check(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Store(true)
			}))))
			// The hook runs in the server's goroutine, possibly after the
			// client has read the response: wait for the handler to
			// return, then look.
			returned := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				returned <- struct{}{}
			}))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/v1/orders", nil)
			req.Header.Set("Authorization", "Bearer any")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if served.Load() {
				t.Fatal("the route was served")
			}
			if resp.StatusCode != tt.status || string(b) != tt.body {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, b, tt.status, tt.body)
			}
			if got := resp.Header.Values("WWW-Authenticate"); tt.wwwAuth == "" && len(got) != 0 || tt.wwwAuth != "" && (len(got) != 1 || got[0] != tt.wwwAuth) {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wwwAuth)
			}
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatal("the handler did not return")
			}
			select {
			case e := <-events:
				if !errors.Is(e.Err, tt.reason) {
					t.Errorf("OnFailure got %v, want %v", e.Err, tt.reason)
				}
				if e.Principal != tt.p {
					t.Errorf("OnFailure's principal = %+v, want %+v (the one NewContext put in)", e.Principal, tt.p)
				}
			default:
				t.Fatal("OnFailure was not called: the refusal is invisible to the Authenticator's hooks")
			}
			if len(events) != 0 {
				t.Errorf("%d more failures reported", len(events))
			}
		})
	}
}

// TestRequireWithoutAuthenticatorServer: with no Authenticator in front
// there are no hooks to report to; the checks still fail closed, with
// the standard answers and the default realm.
func TestRequireWithoutAuthenticatorServer(t *testing.T) {
	session := &auth.Principal{Subject: "app-2", Method: auth.MethodAPIKey, Scopes: auth.MustScopes("read")}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.RequireScopes("write")(http.NotFoundHandler()).ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), session)))
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer realm="api", error="insufficient_scope", scope="write"`; resp.StatusCode != 403 || got != want {
		t.Errorf("got %d %q, want 403 %q", resp.StatusCode, got, want)
	}
	if want := `{"error":"insufficient_scope","message":"Insufficient scope"}`; string(b) != want {
		t.Errorf("body %s, want %s", b, want)
	}
}
