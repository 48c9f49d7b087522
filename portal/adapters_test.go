package portal_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/portal"
)

// TestManagerKeys: on a real apikey.Manager, the key the portal shows
// once authenticates; after a rotation without grace only the new one
// does; after revocation neither, and the revocation's reason says where
// it was made.
func TestManagerKeys(t *testing.T) {
	var mgr *apikey.Manager
	h := newHarness(t, func(c *portal.Config) {
		var err error
		mgr, err = apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore(), ScopeCatalog: c.ScopeCatalog, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Keys = portal.ManagerKeys{Manager: mgr}
	})
	v, err := apikey.NewVerifier(apikey.Config{Manager: mgr})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	works := func(key string) bool { _, err := v.Verify(ctx, key); return err == nil }

	b := h.browser()
	b.signIn("alice", "alice-password")
	pg := b.post("/portal/keys", url.Values{"name": {"exporter"}, "scope": {"data:read"}, "expires": {"30"}})
	wantStatus(t, "generate", pg, http.StatusOK)
	key := secret(pg.body)
	p, err := v.Verify(ctx, key)
	if err != nil || p.Subject != h.alice.ID || !p.Scopes.Has("data:read") {
		t.Fatalf("the key shown: %v, %+v", err, p)
	}
	recs, _ := mgr.List(ctx, apikey.Filter{Owner: h.alice.ID})
	id := recs[0].ID
	wantContains(t, "key list", b.get("/portal/keys"), id, "exporter")
	wantNotContains(t, "key page", b.get("/portal/keys/"+id), key)

	pg = b.post("/portal/keys/"+id+"/rotate", url.Values{"grace": {"0s"}})
	wantStatus(t, "rotate", pg, http.StatusOK)
	next := secret(pg.body)
	if works(key) || !works(next) {
		t.Errorf("after rotation without grace: old works %v, new works %v", works(key), works(next))
	}
	// The old key: rotated and expired, it cannot be rotated again.
	wantStatus(t, "rotate again", b.post("/portal/keys/"+id+"/rotate", url.Values{"grace": {"0s"}}), http.StatusConflict)
	old, _ := mgr.Get(ctx, id)
	nextID := old.ReplacedBy
	wantStatus(t, "revoke", b.post("/portal/keys/"+nextID+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusOK)
	if works(next) {
		t.Error("a revoked key works")
	}
	if r, _ := mgr.Get(ctx, nextID); r.RevokeReason != portal.RevokeReason {
		t.Errorf("revoke reason: got %q, want %q", r.RevokeReason, portal.RevokeReason)
	}
	wantStatus(t, "revoke again", b.post("/portal/keys/"+nextID+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusConflict)
	wantStatus(t, "unknown key", b.get("/portal/keys/K00000000000"), http.StatusNotFound)
	// bob: the Manager lists by owner, and alice's key is not his.
	bob := h.browser()
	bob.signIn("bob", "bob-password")
	wantNotContains(t, "bob's key list", bob.get("/portal/keys"), id, nextID)
	wantStatus(t, "bob on alice's key", bob.get("/portal/keys/"+nextID), http.StatusNotFound)
}

// TestRegistryApps: on a real oauth.ClientManager, the portal registers
// applications of each type with the owner, the secret it shows once is
// the client's, a new secret replaces it, and a deleted application is
// gone; lists are the owner's.
func TestRegistryApps(t *testing.T) {
	clients := oauth.NewMemoryClientStore()
	h := newHarness(t, func(c *portal.Config) {
		reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: clients, ScopeCatalog: c.ScopeCatalog, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Applications = portal.ClientManagerApps{Manager: reg, Clients: clients}
	})
	ctx := context.Background()
	hasSecret := func(id, secret string) bool {
		c, err := clients.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Secrets {
			if s.Hash == oauth.HashSecret(secret) {
				return true
			}
		}
		return false
	}
	b := h.browser()
	b.signIn("alice", "alice-password")
	pg := b.post("/portal/apps", url.Values{"name": {"Photo Printer"}, "type": {"web"}, "action": {"register"},
		"redirect_uri": {"https://printer.example/cb", "http://127.0.0.1:8080/cb"}, "scope": {"profile:read"}})
	wantStatus(t, "register web", pg, http.StatusOK)
	webSecret := secret(pg.body)
	list, err := clients.ListClientsByOwner(ctx, h.alice.ID)
	web := only(t, list, err)
	want := &oauth.Client{ID: web.ID, Name: "Photo Printer", Type: oauth.ClientWeb, Owner: h.alice.ID,
		RedirectURIs: []string{"https://printer.example/cb", "http://127.0.0.1:8080/cb"},
		GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}}
	if web.Name != want.Name || web.Type != want.Type || web.Owner != want.Owner || !slices.Equal(web.RedirectURIs, want.RedirectURIs) ||
		!slices.Equal(web.GrantTypes, want.GrantTypes) || web.Scopes.String() != "profile:read" {
		t.Errorf("registered client: got %+v, want %+v with scope profile:read", web, want)
	}
	if !hasSecret(web.ID, webSecret) {
		t.Errorf("the secret shown (%q) is not the client's", webSecret)
	}

	pg = b.post("/portal/apps", url.Values{"name": {"backend"}, "type": {"server"}, "action": {"register"}, "scope": {"data:read"}})
	wantStatus(t, "register server", pg, http.StatusOK)
	pg = b.post("/portal/apps", url.Values{"name": {"phone"}, "type": {"mobile"}, "action": {"register"},
		"redirect_uri": {"http://127.0.0.1/cb"}, "scope": {"profile:read"}})
	wantStatus(t, "register mobile", pg, http.StatusOK)
	if secret(pg.body) != "" {
		t.Error("a mobile application was shown a secret")
	}
	list, err = clients.ListClientsByOwner(ctx, h.alice.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("alice's clients: %d (%v), want 3", len(list), err)
	}
	var mobileID string
	for _, c := range list {
		switch c.Type {
		case oauth.ClientServer:
			if len(c.RedirectURIs) != 0 || !slices.Equal(c.GrantTypes, []string{oauth.GrantClientCredentials}) {
				t.Errorf("server client: %+v", c)
			}
		case oauth.ClientMobile:
			mobileID = c.ID
			if len(c.Secrets) != 0 {
				t.Errorf("mobile client with secrets: %+v", c)
			}
		}
	}
	wantContains(t, "app list", b.get("/portal/apps"), web.ID, "Photo Printer", "backend", "phone")

	// A new secret: shown once, the client's; the old one keeps working
	// for the ClientManager's grace period.
	pg = b.post("/portal/apps/"+web.ID+"/rotate", url.Values{"confirm": {"yes"}})
	wantStatus(t, "rotate secret", pg, http.StatusOK)
	if s := secret(pg.body); s == "" || s == webSecret || !hasSecret(web.ID, s) || !hasSecret(web.ID, webSecret) {
		t.Errorf("rotate: new secret %q is not the client's, or the old one is gone", s)
	}
	wantStatus(t, "rotate a mobile app's secret", b.post("/portal/apps/"+mobileID+"/rotate", url.Values{"confirm": {"yes"}}), http.StatusNotFound)

	bob := h.browser()
	bob.signIn("bob", "bob-password")
	wantNotContains(t, "bob's app list", bob.get("/portal/apps"), web.ID)
	wantStatus(t, "bob deletes alice's app", bob.post("/portal/apps/"+web.ID+"/delete", url.Values{"confirm": {"yes"}}), http.StatusNotFound)

	wantStatus(t, "delete", b.post("/portal/apps/"+web.ID+"/delete", url.Values{"confirm": {"yes"}}), http.StatusOK)
	if _, err := clients.Client(ctx, web.ID); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("deleted client: %v, want oauth.ErrNotFound", err)
	}
	wantStatus(t, "deleted app", b.get("/portal/apps/"+web.ID), http.StatusNotFound)
}

// failingLister is a client store down.
type failingLister struct{}

func (failingLister) ListClientsByOwner(context.Context, string) ([]*oauth.Client, error) {
	return nil, errors.New("database down")
}

// TestAdapterErrors: the adapters map the library's "not found" and
// "changed meanwhile" to the portal's sentinels, keeping the cause, and
// pass any other error on as it is (an outage, 503).
func TestAdapterErrors(t *testing.T) {
	ctx := context.Background()
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore(), ScopeCatalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	keys := portal.ManagerKeys{Manager: mgr}
	_, rec, err := keys.CreateKey(ctx, portal.KeyParams{Owner: "usr_a", Name: "k", Scopes: catalog.Scopes(), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: oauth.NewMemoryClientStore(), ScopeCatalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	apps := portal.ClientManagerApps{Manager: reg, Clients: failingLister{}}
	tests := []struct {
		name       string
		err        error
		want, also error
	}{
		{"unknown key", second(keys.Key(ctx, "K00000000000")), portal.ErrNotFound, apikey.ErrNotFound},
		{"revoke unknown key", keys.RevokeKey(ctx, "K00000000000"), portal.ErrNotFound, apikey.ErrNotFound},
		{"revoke", keys.RevokeKey(ctx, rec.ID), nil, nil},
		{"revoke again", keys.RevokeKey(ctx, rec.ID), portal.ErrConflict, apikey.ErrAlreadyRevoked},
		{"rotate revoked", third(keys.RotateKey(ctx, rec.ID, 0)), portal.ErrConflict, apikey.ErrNotActive},
		{"unknown app", second(apps.App(ctx, "adxc_nope")), portal.ErrNotFound, oauth.ErrNotFound},
		{"rotate unknown app", second(apps.RotateAppSecret(ctx, "adxc_nope")), portal.ErrNotFound, oauth.ErrNotFound},
		{"delete unknown app", apps.DeleteApp(ctx, "adxc_nope"), portal.ErrNotFound, oauth.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				if tt.err != nil {
					t.Fatalf("got %v, want no error", tt.err)
				}
				return
			}
			if !errors.Is(tt.err, tt.want) || !errors.Is(tt.err, tt.also) {
				t.Errorf("got %v, want an error matching %v and %v", tt.err, tt.want, tt.also)
			}
		})
	}
	// An outage is no sentinel: the portal answers 503, never 404.
	_, err = apps.ListApps(ctx, "usr_a")
	if err == nil || errors.Is(err, portal.ErrNotFound) {
		t.Errorf("ListApps with the store down: %v, want the store's error", err)
	}
}

func second[A any](_ A, err error) error { return err }

func third[A, B any](_ A, _ B, err error) error { return err }
