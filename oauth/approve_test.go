package oauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// TestApproveMisuse: Approve always answers, and an application mistake
// becomes server_error at the client, never a code.
func TestApproveMisuse(t *testing.T) {
	tests := []struct {
		name    string
		subject func(req *oauth.AuthorizeRequest) string
		granted func(req *oauth.AuthorizeRequest) auth.Scopes
		wantErr error
	}{
		{"empty subject", func(*oauth.AuthorizeRequest) string { return "" }, func(req *oauth.AuthorizeRequest) auth.Scopes { return req.Scopes }, nil},
		{"subject equal to the client ID", func(req *oauth.AuthorizeRequest) string { return req.Client.ID }, func(req *oauth.AuthorizeRequest) auth.Scopes { return req.Scopes }, nil},
		{"subject in the client ID namespace", func(*oauth.AuthorizeRequest) string { return oauth.ClientIDPrefix + "_other" }, func(req *oauth.AuthorizeRequest) auth.Scopes { return req.Scopes }, nil},
		{"scopes beyond the request", func(*oauth.AuthorizeRequest) string { return "alice" }, func(*oauth.AuthorizeRequest) auth.Scopes { return auth.MustScopes("read", "admin") }, oauth.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := authorizeRequest(f.authorizeValues())
			req, err := f.srv.ParseAuthorizeRequest(r)
			if err != nil {
				t.Fatalf("ParseAuthorizeRequest: %v", err)
			}
			w := httptest.NewRecorder()
			err = f.srv.Approve(w, r, req, tt.subject(req), tt.granted(req))
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("Approve: got %v, want an error wrapping %v", err, tt.wantErr)
			}
			loc, _ := url.Parse(w.Header().Get("Location"))
			if w.Code != http.StatusSeeOther || loc.Query().Get("error") != "server_error" || loc.Query().Get("code") != "" {
				t.Errorf("got %d %q, want 303 with error=server_error and no code", w.Code, w.Header().Get("Location"))
			}
		})
	}

	t.Run("nil request", func(t *testing.T) {
		f := newFixture(t)
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "https://as.example/oauth/authorize", nil)
		if err := f.srv.Approve(w, r, nil, "alice", auth.Scopes{}); err == nil {
			t.Errorf("Approve(nil): got nil error")
		}
		if w.Code != http.StatusInternalServerError || w.Header().Get("Location") != "" {
			t.Errorf("got %d %q, want a 500 page", w.Code, w.Header().Get("Location"))
		}
		w = httptest.NewRecorder()
		f.srv.WriteAuthorizeError(w, r, errors.New("not an AuthorizeError"))
		if w.Code != http.StatusInternalServerError || w.Header().Get("Location") != "" {
			t.Errorf("WriteAuthorizeError(other error): got %d %q, want a 500 page", w.Code, w.Header().Get("Location"))
		}
	})

	t.Run("fewer scopes than requested", func(t *testing.T) {
		f := newFixture(t)
		r := authorizeRequest(f.authorizeValues())
		req, err := f.srv.ParseAuthorizeRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := f.srv.Approve(w, r, req, "alice", auth.MustScopes("read")); err != nil {
			t.Fatalf("Approve: %v", err)
		}
		loc, _ := url.Parse(w.Header().Get("Location"))
		tw := f.serve(basic(form("/oauth/token", f.exchangeValues(loc.Query().Get("code"))), f.webID, f.webSecret))
		if got := decodeToken(t, tw).Scope; got != "read" {
			t.Errorf("token scope: got %q, want read", got)
		}
	})
}

// TestEventsHoldNoSecrets runs every flow and checks that no event field
// holds a secret, code or token: hooks feed logs.
func TestEventsHoldNoSecrets(t *testing.T) {
	f := newFixture(t)
	var secrets []string
	secrets = append(secrets, f.svcSecret, f.webSecret)
	code := f.webCode(t)
	secrets = append(secrets, code)
	w := f.serve(basic(form("/oauth/token", f.exchangeValues(code)), f.webID, f.webSecret))
	tb := decodeToken(t, w)
	secrets = append(secrets, tb.AccessToken, tb.RefreshToken)
	f.serve(basic(form("/oauth/token", f.exchangeValues(code)), f.webID, f.webSecret)) // replay
	f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), f.svcID, f.svcSecret))
	f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), f.svcID, f.webSecret))
	f.serve(basic(form("/oauth/introspect", url.Values{"token": {tb.AccessToken}}), f.svcID, f.svcSecret))
	f.serve(basic(form("/oauth/revoke", url.Values{"token": {tb.RefreshToken}}), f.webID, f.webSecret))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) < 7 {
		t.Fatalf("got %d events, want at least 7", len(f.events))
	}
	for _, e := range f.events {
		e.Request = nil
		s := fmt.Sprintf("%+v", e)
		for _, secret := range secrets {
			if secret != "" && strings.Contains(s, secret) {
				t.Errorf("event %s holds a secret value", e.Kind)
			}
		}
	}
}
