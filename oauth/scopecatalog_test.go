package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
	"github.com/google/go-cmp/cmp"
)

// legacyScopes are a client row's scopes from before the catalog: "read"
// is in testCatalog, "legacy" is not, and "Read" is a case variant of a
// scope that is.
var legacyScopes = auth.MustScopes("read", "legacy", "Read")

// storeLegacyClient stores, through the store and not the registry, a copy
// of the fixture client from with legacyScopes (and no default scopes),
// as a row written before the catalog existed would be. It keeps from's
// secret.
func storeLegacyClient(t *testing.T, f *fixture, from, id string) {
	t.Helper()
	c, err := f.clients.Client(context.Background(), from)
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	c.ID, c.Scopes, c.DefaultScopes = id, legacyScopes, auth.Scopes{}
	if err := f.clients.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
}

// TestAuthorizeScopeCatalog: the authorization endpoint answers
// invalid_scope to a request for a scope outside the catalog even when
// the client's row has it, as it does for a scope outside the client's.
func TestAuthorizeScopeCatalog(t *testing.T) {
	const legacyWeb = "adxc_legacyweb"
	tests := []struct {
		name  string
		scope string // "" to send none
		// want is "code" for success, else the error code.
		want string
		// unknownScope: the hook's error wraps auth.ErrUnknownScope.
		unknownScope bool
	}{
		{name: "scope the row has, outside the catalog", scope: "legacy", want: "invalid_scope", unknownScope: true},
		{name: "with a catalog scope", scope: "read legacy", want: "invalid_scope", unknownScope: true},
		// The client's defaults are its scopes, legacy among them: the
		// request fails rather than being narrowed without a word.
		{name: "no scope: the row's defaults", want: "invalid_scope", unknownScope: true},
		// Case-sensitive: the row's "Read" is not the catalog's "read".
		{name: "case variant the row has", scope: "Read", want: "invalid_scope", unknownScope: true},
		{name: "catalog scope the row has", scope: "read", want: "code"},
		// In the catalog but not the client's: refused by the client
		// check, which is not the catalog's refusal.
		{name: "catalog scope the row lacks", scope: "admin", want: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			storeLegacyClient(t, f, f.webID, legacyWeb)
			v := f.authorizeValues()
			v.Set("client_id", legacyWeb)
			v.Del("scope")
			if tt.scope != "" {
				v.Set("scope", tt.scope)
			}
			w := f.serve(authorizeRequest(v))
			if w.Code != http.StatusSeeOther {
				t.Fatalf("got status %d, want 303", w.Code)
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			got := loc.Query().Get("error")
			if got == "" && loc.Query().Get("code") != "" {
				got = "code"
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := slicesContainsErr(f.eventErrs(), auth.ErrUnknownScope); got != tt.unknownScope {
				t.Errorf("hook got auth.ErrUnknownScope: %v, want %v (errors %v)", got, tt.unknownScope, f.eventErrs())
			}
		})
	}
}

// TestTokenScopeCatalog: the token endpoint issues no token with a scope
// outside the catalog to a client whose row has it (client_credentials).
// The body is the constant invalid_scope answer; the hook gets the
// reason. The deprecated Config.Scopes is enforced the same way.
func TestTokenScopeCatalog(t *testing.T) {
	policies := []struct {
		name string
		opt  fixtureOption
	}{
		{"catalog", func(*oauth.Config) {}},
		{"deprecated Config.Scopes", func(c *oauth.Config) {
			c.ScopeCatalog = nil
			c.Scopes = testCatalog.Scopes()
		}},
	}
	const legacySvc = "adxc_legacysvc"
	tests := []struct {
		name         string
		scope        string // "" to send none
		wantErr      string // "" for a token
		unknownScope bool
	}{
		{name: "scope the row has, outside the catalog", scope: "legacy", wantErr: "invalid_scope", unknownScope: true},
		{name: "with a catalog scope", scope: "read legacy", wantErr: "invalid_scope", unknownScope: true},
		{name: "no scope: the row's defaults", wantErr: "invalid_scope", unknownScope: true},
		{name: "case variant the row has", scope: "Read", wantErr: "invalid_scope", unknownScope: true},
		{name: "catalog scope the row has", scope: "read"},
		{name: "catalog scope the row lacks", scope: "admin", wantErr: "invalid_scope"},
	}
	for _, p := range policies {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, p.opt)
				storeLegacyClient(t, f, f.svcID, legacySvc)
				v := url.Values{"grant_type": {"client_credentials"}}
				if tt.scope != "" {
					v.Set("scope", tt.scope)
				}
				w := f.serve(basic(form("/oauth/token", v), legacySvc, f.svcSecret))
				if tt.wantErr == "" {
					if w.Code != http.StatusOK {
						t.Fatalf("got %d %s, want 200", w.Code, w.Body)
					}
					return
				}
				if w.Code != http.StatusBadRequest || w.Body.String() != errorBody(tt.wantErr) {
					t.Errorf("got %d %s, want 400 %s", w.Code, w.Body, errorBody(tt.wantErr))
				}
				if got := slicesContainsErr(f.eventErrs(), auth.ErrUnknownScope); got != tt.unknownScope {
					t.Errorf("hook got auth.ErrUnknownScope: %v, want %v (errors %v)", got, tt.unknownScope, f.eventErrs())
				}
			})
		}
	}
}

// TestScopeLeavesCatalog: a code or a grant approved while a scope was in
// the catalog gets no token with it from a server whose catalog no longer
// has it (another instance, or the next deployment): invalid_scope. The
// refusal does not spend the refresh token, and a narrower request still
// works.
func TestScopeLeavesCatalog(t *testing.T) {
	wide := auth.MustScopeCatalog(append(slices.Collect(testCatalog.All()), auth.ScopeInfo{Name: "legacy", Description: "the old API"}))
	f := newFixture(t, func(c *oauth.Config) { c.ScopeCatalog = wide })
	c, secret, err := f.srv.ClientManager().Register(context.Background(), oauth.Registration{
		Name: "Old app", Type: oauth.ClientWeb, RedirectURIs: []string{webRedirect}, Scopes: auth.MustScopes("read", "legacy"),
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	// The same stores and keys, the catalog without "legacy".
	cfg := f.cfg
	cfg.ScopeCatalog = testCatalog
	narrow, err := oauth.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := func(srv *oauth.Server, v url.Values) (int, tokenBody) {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, basic(form("/oauth/token", v), c.ID, secret))
		return w.Code, decodeToken(t, w)
	}
	authorize := f.authorizeValues()
	authorize.Set("client_id", c.ID)
	authorize.Set("scope", "read legacy")

	t.Run("authorization code", func(t *testing.T) {
		status, b := at(narrow, f.exchangeValues(f.code(t, authorize)))
		if diff := cmp.Diff([]any{400, "invalid_scope"}, []any{status, b.Error}); diff != "" {
			t.Errorf("exchange (-want +got):\n%s", diff)
		}
	})
	t.Run("refresh token", func(t *testing.T) {
		status, issued := at(f.srv, f.exchangeValues(f.code(t, authorize)))
		if status != 200 || issued.Scope != "legacy read" {
			t.Fatalf("exchange at the wide server: got %d, scope %q; want 200, %q", status, issued.Scope, "legacy read")
		}
		refresh := func(scope string) (int, tokenBody) {
			v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {issued.RefreshToken}}
			if scope != "" {
				v.Set("scope", scope)
			}
			return at(narrow, v)
		}
		status, b := refresh("")
		if diff := cmp.Diff([]any{400, "invalid_scope"}, []any{status, b.Error}); diff != "" {
			t.Errorf("refresh with the grant's scopes (-want +got):\n%s", diff)
		}
		if !slicesContainsErr(f.eventErrs(), auth.ErrUnknownScope) {
			t.Errorf("hook errors %v, want one wrapping auth.ErrUnknownScope", f.eventErrs())
		}
		// Not spent: the same refresh token, asking for what the catalog
		// still has, is exchanged.
		status, b = refresh("read")
		if status != 200 || b.Scope != "" || b.RefreshToken == "" {
			t.Errorf("refresh with scope=read: got %d %+v, want 200 with a new refresh token", status, b)
		}
	})
}
