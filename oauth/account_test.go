package oauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// failingClients is a ClientStore whose reads fail.
type failingClients struct{ oauth.ClientStore }

func (failingClients) Client(context.Context, string) (*oauth.Client, error) {
	return nil, errors.New("connection refused")
}

func TestAccountResolver(t *testing.T) {
	ctx := context.Background()
	clients := oauth.NewMemoryClientStore()
	for _, c := range []*oauth.Client{
		{ID: "owned", Name: "Backend", Type: oauth.ClientServer, Owner: "usr_ann", CreatedAt: time.Now()},
		{ID: "operator", Name: "Ops", Type: oauth.ClientServer, CreatedAt: time.Now()},
		{ID: "orphan", Name: "Old", Type: oauth.ClientServer, Owner: "usr_gone", CreatedAt: time.Now()},
	} {
		if err := clients.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	accounts := map[string]bool{"usr_ann": true, "usr_bob": true}
	isAccount := func(_ context.Context, id string) (bool, error) {
		if id == "usr_down" {
			return false, errors.New("database is down")
		}
		return accounts[id], nil
	}
	r, err := oauth.NewAccountResolver(oauth.AccountResolverConfig{Clients: clients, IsAccount: isAccount})
	if err != nil {
		t.Fatal(err)
	}
	down, err := oauth.NewAccountResolver(oauth.AccountResolverConfig{Clients: failingClients{clients}, IsAccount: isAccount})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		r       *oauth.AccountResolver
		p       *auth.Principal
		want    string
		wantErr error
	}{
		{name: "user who consented", p: &auth.Principal{Method: auth.MethodAuthorizationCode, Subject: "usr_bob", ClientID: "owned"}, want: "usr_bob"},
		// The token's client belongs to ann, but bob consented: the
		// token acts for bob, never for the client's owner.
		{name: "consent beats the client's owner", p: &auth.Principal{Method: auth.MethodAuthorizationCode, Subject: "usr_bob", ClientID: "operator"}, want: "usr_bob"},
		{name: "owned API key", p: &auth.Principal{Method: auth.MethodAPIKey, Subject: "usr_ann"}, want: "usr_ann"},
		// Keys made before accounts have their name as owner.
		{name: "API key with a label as owner", p: &auth.Principal{Method: auth.MethodAPIKey, Subject: "reporting"}, wantErr: auth.ErrNoAccount},
		{name: "owned client", p: &auth.Principal{Method: auth.MethodClientCredentials, Subject: "owned", ClientID: "owned"}, want: "usr_ann"},
		// The subject of a client-credentials token is the client: even
		// if it looked like an account ID, only the owner counts.
		{name: "client whose ID looks like an account", p: &auth.Principal{Method: auth.MethodClientCredentials, Subject: "usr_ann", ClientID: "operator"}, wantErr: auth.ErrNoAccount},
		{name: "operator-managed client", p: &auth.Principal{Method: auth.MethodClientCredentials, Subject: "operator", ClientID: "operator"}, wantErr: auth.ErrNoAccount},
		{name: "client of a deleted account", p: &auth.Principal{Method: auth.MethodClientCredentials, Subject: "orphan", ClientID: "orphan"}, wantErr: auth.ErrNoAccount},
		{name: "deleted client", p: &auth.Principal{Method: auth.MethodClientCredentials, Subject: "gone", ClientID: "gone"}, wantErr: auth.ErrNoAccount},
		{name: "no method", p: &auth.Principal{Subject: "usr_ann"}, wantErr: auth.ErrNoAccount},
		{name: "no subject", p: &auth.Principal{Method: auth.MethodAPIKey}, wantErr: auth.ErrNoAccount},
		{name: "no principal", wantErr: auth.ErrNoAccount},
		// Stores that cannot answer: no verdict either way.
		{name: "client store down", r: down, p: &auth.Principal{Method: auth.MethodClientCredentials, ClientID: "owned"}, wantErr: auth.ErrUnavailable},
		{name: "account store down", p: &auth.Principal{Method: auth.MethodAPIKey, Subject: "usr_down"}, wantErr: auth.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r
			if tt.r != nil {
				res = tt.r
			}
			got, err := res.Account(ctx, tt.p)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("got %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if errors.Is(err, auth.ErrNoAccount) && errors.Is(err, auth.ErrUnavailable) {
				t.Errorf("error %v is both a refusal and an outage", err)
			}
		})
	}
}

func TestNewAccountResolverConfig(t *testing.T) {
	isAccount := func(context.Context, string) (bool, error) { return true, nil }
	for name, cfg := range map[string]oauth.AccountResolverConfig{
		"no clients":    {IsAccount: isAccount},
		"no IsAccount":  {Clients: oauth.NewMemoryClientStore()},
		"nothing given": {},
	} {
		if _, err := oauth.NewAccountResolver(cfg); !errors.Is(err, oauth.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
}
