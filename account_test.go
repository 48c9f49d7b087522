package auth

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

	"github.com/google/go-cmp/cmp"
)

// stubAccounts acts for the owners the subjects name: "usr_*" subjects
// are accounts, "store-down" cannot be looked up, anything else is owned
// by nobody.
func stubAccounts(_ context.Context, p *Principal) (string, error) {
	switch {
	case p.Subject == "store-down":
		return "", errors.New("database is down, with detail")
	case p.Subject == "contract-breaker":
		return "", nil
	case len(p.Subject) > 4 && p.Subject[:4] == "usr_":
		return p.Subject, nil
	}
	return "", fmt.Errorf("%w: %s is not an account", ErrNoAccount, p.Subject)
}

// accountHandler writes the account RequireAccount put in the context.
func accountHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := AccountFromContext(r.Context())
		if !ok {
			http.Error(w, "no account in context", 500)
			return
		}
		io.WriteString(w, "account "+id)
	})
}

func TestRequireAccount(t *testing.T) {
	h := RequireAccount(stubAccounts)(accountHandler())
	noAccount := result{Status: 403, WWWAuth: `Bearer realm="api", error="insufficient_scope"`, Body: wantScope}
	tests := []struct {
		name    string
		p       *Principal
		want    result
		wantErr error // what the hook must get
	}{
		{name: "no principal", want: noCred401, wantErr: ErrNoPrincipal},
		{name: "user", p: &Principal{Subject: "usr_ann", Method: MethodAuthorizationCode},
			want: result{Status: 200, Body: "account usr_ann"}},
		{name: "owned key", p: &Principal{Subject: "usr_ann", Method: MethodAPIKey},
			want: result{Status: 200, Body: "account usr_ann"}},
		// The same constant answer as RequireUser's, whatever the reason:
		// the caller learns its credential may not do this, never why.
		{name: "unowned key", p: &Principal{Subject: "reporting", Method: MethodAPIKey}, want: noAccount, wantErr: ErrNoAccount},
		{name: "resolver breaks its contract", p: &Principal{Subject: "contract-breaker"}, want: noAccount, wantErr: ErrNoAccount},
		// A store that cannot answer is no verdict on the credential.
		{name: "store down", p: &Principal{Subject: "store-down"}, want: unavail503, wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Event
			a, _ := newTestAuthenticator(t, Config{OnFailure: func(e Event) { got = append(got, e) }})
			r := httptest.NewRequest("GET", "/", nil)
			ctx := r.Context()
			if tt.p != nil {
				// As the Authenticator leaves it: principal and the
				// failure writer with the hook.
				ctx = &authContext{Context: ctx, p: tt.p, resp: a.resp}
			} else {
				ctx = &authContext{Context: ctx, resp: a.resp}
			}
			if diff := cmp.Diff(tt.want, serve(h, r.WithContext(ctx))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.wantErr == nil {
				if len(got) != 0 {
					t.Errorf("hook got %d events, want none", len(got))
				}
				return
			}
			if len(got) != 1 || !errors.Is(got[0].Err, tt.wantErr) {
				t.Fatalf("hook got %+v, want one event with %v", got, tt.wantErr)
			}
			if tt.p != nil && got[0].Principal != tt.p {
				t.Errorf("hook event's principal = %v, want the request's", got[0].Principal)
			}
		})
	}
}

// TestRequireAccountServer: through a real server and client, behind the
// Authenticator and a scope check, with the constant answers only.
func TestRequireAccountServer(t *testing.T) {
	// The hook runs in the server's goroutine, possibly after the client
	// has read the response.
	reasons := make(chan error, 10)
	a, _ := newTestAuthenticator(t, Config{OnFailure: func(e Event) { reasons <- e.Err }})
	reason := func() error {
		select {
		case err := <-reasons:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("no failure reported")
		}
	}
	// Whether k_good's application is owned; the test changes it
	// between requests.
	var isOwned atomic.Bool
	isOwned.Store(true)
	owned := func(_ context.Context, p *Principal) (string, error) {
		if p.Subject == "app-1" && isOwned.Load() {
			return "usr_ann", nil
		}
		return "", fmt.Errorf("%w: %s", ErrNoAccount, p.Subject)
	}
	srv := httptest.NewTLSServer(a.Handler(RequireScopes("read")(RequireAccount(owned)(accountHandler()))))
	defer srv.Close()
	get := func(cred string) (int, string, string) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+cred)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}
	if code, _, body := get("k_good"); code != 200 || body != "account usr_ann" {
		t.Errorf("owned credential: %d %q", code, body)
	}
	isOwned.Store(false)
	if code, hdr, body := get("k_good"); code != 403 || body != wantScope || hdr != `Bearer realm="api", error="insufficient_scope"` {
		t.Errorf("unowned credential: %d %q %q", code, hdr, body)
	}
	if err := reason(); !errors.Is(err, ErrNoAccount) {
		t.Errorf("reason of the account refusal: %v", err)
	}
	// k_readall holds read:all, not read: refused by the scope check
	// first, which names the scope; no account is looked up.
	if code, hdr, body := get("k_readall"); code != 403 || body != wantScope || hdr != `Bearer realm="api", error="insufficient_scope", scope="read"` {
		t.Errorf("credential without the scope: %d %q %q", code, hdr, body)
	}
	if err := reason(); !errors.Is(err, ErrInsufficientScope) {
		t.Errorf("reason of the scope refusal: %v", err)
	}
	if len(reasons) != 0 {
		t.Errorf("%d more failures reported", len(reasons))
	}
}

func TestRequireAccountPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil resolver": func() { RequireAccount(nil) },
		"nil handler":  func() { RequireAccount(stubAccounts)(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestAccountFromContextEmpty(t *testing.T) {
	if id, ok := AccountFromContext(context.Background()); ok || id != "" {
		t.Errorf("got %q, %v; want none", id, ok)
	}
}
