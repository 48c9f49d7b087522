package portal_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/portal"
)

// managerKeys adapts an apikey.Manager to portal.Keys: the adapter a
// server gives the portal (docs/portal.md has it). The test below runs
// the portal's key pages on it, so the interface is known to fit.
type managerKeys struct{ m *apikey.Manager }

func fromRecord(r apikey.Record) portal.Key {
	return portal.Key{
		ID: r.ID, Owner: r.Owner, Name: r.Name, Description: r.Description, Scopes: r.Scopes,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, ReplacedBy: r.ReplacedBy,
	}
}

// keyErr maps the apikey package's errors to the portal's.
func keyErr(err error) error {
	switch {
	case errors.Is(err, apikey.ErrNotFound):
		return fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	case errors.Is(err, apikey.ErrNotActive), errors.Is(err, apikey.ErrAlreadyRevoked):
		return fmt.Errorf("%w: %w", portal.ErrConflict, err)
	}
	return err
}

func (k managerKeys) ListKeys(ctx context.Context, owner string) ([]portal.Key, error) {
	recs, err := k.m.List(ctx, apikey.Filter{Owner: owner})
	if err != nil {
		return nil, err
	}
	out := make([]portal.Key, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	return out, nil
}

func (k managerKeys) Key(ctx context.Context, id string) (portal.Key, error) {
	r, err := k.m.Get(ctx, id)
	return fromRecord(r), keyErr(err)
}

func (k managerKeys) CreateKey(ctx context.Context, p portal.KeyParams) (string, portal.Key, error) {
	key, r, err := k.m.Create(ctx, apikey.CreateParams{Name: p.Name, Description: p.Description, Owner: p.Owner, Scopes: p.Scopes, TTL: p.TTL})
	return key, fromRecord(r), keyErr(err)
}

func (k managerKeys) RotateKey(ctx context.Context, id string, grace time.Duration) (string, portal.Key, error) {
	key, r, err := k.m.RotateWithGrace(ctx, id, grace)
	return key, fromRecord(r), keyErr(err)
}

func (k managerKeys) RevokeKey(ctx context.Context, id string) error {
	return keyErr(k.m.Revoke(ctx, id, "revoked in the developer portal"))
}

// TestManagerAdapter: on a real apikey.Manager, the key the portal shows
// once authenticates; after a rotation without grace only the new one
// does; after revocation neither.
func TestManagerAdapter(t *testing.T) {
	var mgr *apikey.Manager
	h := newHarness(t, func(c *portal.Config) {
		var err error
		mgr, err = apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore(), ScopeCatalog: c.ScopeCatalog, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Keys = managerKeys{mgr}
	})
	v, err := apikey.NewVerifier(apikey.VerifierConfig{Manager: mgr})
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
	wantStatus(t, "unknown key", b.get("/portal/keys/K00000000000"), http.StatusNotFound)
}
