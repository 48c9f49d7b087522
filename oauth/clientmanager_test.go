package oauth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
	"github.com/google/go-cmp/cmp"
)

func TestRegister(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		reg     oauth.Registration
		wantErr error
		// unknownScope: the refusal is the scope catalog's, so it also
		// wraps auth.ErrUnknownScope.
		unknownScope bool
		grants       []string
		secret       bool
	}{
		{name: "server client defaults to client_credentials", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("read")}, grants: []string{"client_credentials"}, secret: true},
		{name: "web client defaults to code and refresh", reg: oauth.Registration{Name: "web", Type: oauth.ClientWeb, RedirectURIs: []string{"https://a.example/cb"}}, grants: []string{"authorization_code", "refresh_token"}, secret: true},
		{name: "mobile client has no secret", reg: oauth.Registration{Name: "app", Type: oauth.ClientMobile, RedirectURIs: []string{"http://127.0.0.1/cb"}}, grants: []string{"authorization_code", "refresh_token"}},
		{name: "several redirect URIs", reg: oauth.Registration{Name: "web", Type: oauth.ClientWeb, RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"}}, grants: []string{"authorization_code", "refresh_token"}, secret: true},
		{name: "unknown type", reg: oauth.Registration{Name: "x", Type: "spa"}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "no name", reg: oauth.Registration{Type: oauth.ClientServer}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "name with a control character", reg: oauth.Registration{Name: "a\nb", Type: oauth.ClientServer}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "white-space name", reg: oauth.Registration{Name: "  ", Type: oauth.ClientServer}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "name with a right-to-left override", reg: oauth.Registration{Name: "Photo\u202eretnirP", Type: oauth.ClientServer}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "public client with client_credentials", reg: oauth.Registration{Name: "app", Type: oauth.ClientMobile, GrantTypes: []string{"client_credentials"}}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "password grant", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, GrantTypes: []string{"password"}}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "implicit grant", reg: oauth.Registration{Name: "svc", Type: oauth.ClientWeb, GrantTypes: []string{"implicit"}, RedirectURIs: []string{"https://a.example/cb"}}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "refresh without code", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, GrantTypes: []string{"client_credentials", "refresh_token"}}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "code without redirect URI", reg: oauth.Registration{Name: "web", Type: oauth.ClientWeb}, wantErr: oauth.ErrInvalidRedirectURI},
		{name: "http redirect URI", reg: oauth.Registration{Name: "web", Type: oauth.ClientWeb, RedirectURIs: []string{"http://a.example/cb"}}, wantErr: oauth.ErrInvalidRedirectURI},
		{name: "redirect URI with fragment", reg: oauth.Registration{Name: "web", Type: oauth.ClientWeb, RedirectURIs: []string{"https://a.example/cb#x"}}, wantErr: oauth.ErrInvalidRedirectURI},
		// Nothing is ever redirected to a server client: a URI would only be a target.
		{name: "server client with a redirect URI", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, RedirectURIs: []string{"https://a.example/cb"}}, wantErr: oauth.ErrInvalidRedirectURI},
		{name: "scope the server does not offer", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("root")}, wantErr: oauth.ErrInvalidClientConfig, unknownScope: true},
		{name: "known and unknown scopes", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("read", "root")}, wantErr: oauth.ErrInvalidClientConfig, unknownScope: true},
		// Case-sensitive: "Read" is not "read".
		{name: "case variant of a catalog scope", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("Read")}, wantErr: oauth.ErrInvalidClientConfig, unknownScope: true},
		{name: "catalog scopes", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("read", "write")}, grants: []string{"client_credentials"}, secret: true},
		{name: "default scopes beyond the client's", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes("read"), DefaultScopes: auth.MustScopes("write")}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "owned by an account", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: "usr_ann"}, grants: []string{"client_credentials"}, secret: true},
		// An owner is an ID compared byte for byte: a space or a control
		// character would make another account that looks the same.
		{name: "owner with a space", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: "usr_ann "}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "owner with a newline", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: "usr\nann"}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "owner with a zero-width space", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: "usr_\u200bann"}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "owner not UTF-8", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: "usr_\xff"}, wantErr: oauth.ErrInvalidClientConfig},
		{name: "owner too long", reg: oauth.Registration{Name: "svc", Type: oauth.ClientServer, Owner: strings.Repeat("u", oauth.MaxOwnerLength+1)}, wantErr: oauth.ErrInvalidClientConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := oauth.NewMemoryClientStore()
			reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: store, ScopeCatalog: readWriteCatalog})
			if err != nil {
				t.Fatal(err)
			}
			c, secret, err := reg.Register(ctx, tt.reg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
				if got := errors.Is(err, auth.ErrUnknownScope); got != tt.unknownScope {
					t.Errorf("got %v: wraps auth.ErrUnknownScope %v, want %v", err, got, tt.unknownScope)
				}
				if list, _ := store.ListClients(ctx); len(list) != 0 {
					t.Errorf("got %d stored clients after a refusal, want 0", len(list))
				}
				return
			}
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if diff := cmp.Diff(tt.grants, c.GrantTypes); diff != "" {
				t.Errorf("grant types (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(c.ID, oauth.ClientIDPrefix+"_") {
				t.Errorf("client ID %q lacks the prefix", c.ID)
			}
			if got := secret != ""; got != tt.secret {
				t.Errorf("secret issued: got %v, want %v", got, tt.secret)
			}
			stored, err := store.Client(ctx, c.ID)
			if err != nil {
				t.Fatalf("Client: %v", err)
			}
			if c.Owner != tt.reg.Owner || stored.Owner != tt.reg.Owner {
				t.Errorf("owner: returned %q, stored %q, want %q", c.Owner, stored.Owner, tt.reg.Owner)
			}
			if tt.secret {
				if len(stored.Secrets) != 1 || stored.Secrets[0].Hash != oauth.HashSecret(secret) {
					t.Errorf("stored secrets: got %+v, want the hash of the secret only", stored.Secrets)
				}
				if !strings.HasPrefix(secret, oauth.SecretPrefix+"_") || len(secret) != 55 {
					t.Errorf("secret %q: want %s_ and 55 characters", secret, oauth.SecretPrefix)
				}
			} else if len(stored.Secrets) != 0 {
				t.Errorf("public client has stored secrets")
			}
		})
	}
}

var readWriteCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "read", Description: "read your data"},
	{Name: "write", Description: "change your data"},
})

// TestRegisterScopeMessage: the refusal names the unknown scope and the
// known ones, or the known one a case variant misses, for whoever
// registers the client to correct.
func TestRegisterScopeMessage(t *testing.T) {
	reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: oauth.NewMemoryClientStore(), ScopeCatalog: readWriteCatalog})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ scope, want string }{
		{"raed", `oauth: invalid client registration: auth: unknown scope "raed"; known scopes: read, write`},
		{"WRITE", `oauth: invalid client registration: auth: unknown scope "WRITE"; scopes are case-sensitive; did you mean write?`},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			_, _, err := reg.Register(context.Background(), oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes(tt.scope)})
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRegistryScopePolicy: the deprecated AllowedScopes still restricts
// registrations, as a catalog without descriptions; no restriction at
// all needs neither; setting both is a configuration error.
func TestRegistryScopePolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		cfg       oauth.ClientManagerConfig
		scopes    []string
		wantErr   error // from Register
		configErr bool  // NewClientManager fails
	}{
		{name: "no catalog: any scope", scopes: []string{"anything", "Read"}},
		{name: "deprecated AllowedScopes refuses", cfg: oauth.ClientManagerConfig{AllowedScopes: auth.MustScopes("read")}, scopes: []string{"write"}, wantErr: auth.ErrUnknownScope},
		{name: "deprecated AllowedScopes accepts", cfg: oauth.ClientManagerConfig{AllowedScopes: auth.MustScopes("read")}, scopes: []string{"read"}},
		{name: "both", cfg: oauth.ClientManagerConfig{ScopeCatalog: readWriteCatalog, AllowedScopes: auth.MustScopes("read")}, configErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Clients = oauth.NewMemoryClientStore()
			reg, err := oauth.NewClientManager(cfg)
			if tt.configErr {
				if !errors.Is(err, oauth.ErrInvalidConfig) {
					t.Errorf("NewClientManager: got %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClientManager: %v", err)
			}
			_, _, err = reg.Register(ctx, oauth.Registration{Name: "svc", Type: oauth.ClientServer, Scopes: auth.MustScopes(tt.scopes...)})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Register: got %v, want no error", err)
			case tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || !errors.Is(err, oauth.ErrInvalidClientConfig)):
				t.Errorf("Register: got %v, want %v and ErrInvalidClientConfig", err, tt.wantErr)
			}
		})
	}
}

func TestRotateSecret(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: oauth.NewMemoryClientStore(), SecretGrace: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	client, first, err := reg.Register(ctx, oauth.Registration{Name: "svc", Type: oauth.ClientServer})
	if err != nil {
		t.Fatal(err)
	}
	second, err := reg.RotateSecret(ctx, client.ID)
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	if second == first {
		t.Fatalf("rotation returned the same secret")
	}
	got, err := reg.Get(ctx, client.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []oauth.ClientSecret{
		{Hash: oauth.HashSecret(first), CreatedAt: c.Now(), ExpiresAt: c.Now().Add(time.Hour)},
		{Hash: oauth.HashSecret(second), CreatedAt: c.Now()},
	}
	if diff := cmp.Diff(want, got.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if _, err := reg.RotateSecret(ctx, "adxc_missing"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("RotateSecret of an unknown client: got %v, want ErrNotFound", err)
	}
	mob, _, err := reg.Register(ctx, oauth.Registration{Name: "app", Type: oauth.ClientMobile, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RotateSecret(ctx, mob.ID); !errors.Is(err, oauth.ErrInvalidClientConfig) {
		t.Errorf("RotateSecret of a public client: got %v, want ErrInvalidClientConfig", err)
	}
	if err := reg.Delete(ctx, mob.ID); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

// TestNewServerConfig: missing security inputs and bad values are errors
// at construction, not at the first request.
func TestNewServerConfig(t *testing.T) {
	f := newFixture(t)
	valid := func() oauth.Config {
		return oauth.Config{
			Issuer:   testIssuer,
			Signer:   fakeSigner{},
			Clients:  f.clients,
			Grants:   f.grants,
			Audience: []string{testAudience},
		}
	}
	if _, err := oauth.NewServer(valid()); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*oauth.Config)
	}{
		{"no issuer", func(c *oauth.Config) { c.Issuer = "" }},
		{"http issuer", func(c *oauth.Config) { c.Issuer = "http://as.example" }},
		{"issuer with query", func(c *oauth.Config) { c.Issuer = "https://as.example?x=1" }},
		{"issuer with fragment", func(c *oauth.Config) { c.Issuer = "https://as.example#x" }},
		{"issuer without host", func(c *oauth.Config) { c.Issuer = "https:///x" }},
		{"no signer", func(c *oauth.Config) { c.Signer = nil }},
		{"no client store", func(c *oauth.Config) { c.Clients = nil }},
		{"no grant store", func(c *oauth.Config) { c.Grants = nil }},
		{"no audience", func(c *oauth.Config) { c.Audience = nil }},
		{"empty audience", func(c *oauth.Config) { c.Audience = []string{""} }},
		{"code TTL above 10 minutes", func(c *oauth.Config) { c.CodeTTL = 11 * time.Minute }},
		{"negative TTL", func(c *oauth.Config) { c.AccessTokenTTL = -time.Second }},
		{"negative failures", func(c *oauth.Config) { c.MaxAuthFailures = -1 }},
		{"realm with a quote", func(c *oauth.Config) { c.Realm = `a"b` }},
		{"catalog and deprecated scopes", func(c *oauth.Config) {
			c.ScopeCatalog = testCatalog
			c.Scopes = auth.MustScopes("read")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)
			if _, err := oauth.NewServer(cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
				t.Errorf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}
