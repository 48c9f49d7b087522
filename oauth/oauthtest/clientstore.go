package oauthtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// RunClientStore runs the contract tests of oauth.ClientStore against the
// stores newStore returns. newStore is called once per subtest and must
// return an empty store.
func RunClientStore(t *testing.T, newStore func(t *testing.T) oauth.ClientStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, oauth.ClientStore)
	}{
		{"CreateAndGet", testClientCreateAndGet},
		{"PublicClientWithoutSecrets", testClientPublicWithoutSecrets},
		{"Duplicate", testClientDuplicate},
		{"NotFound", testClientNotFound},
		{"RecordsAreCopies", testClientRecordsAreCopies},
		{"List", testClientList},
		{"ListByOwner", testClientListByOwner},
		{"RequireDPoP", testClientRequireDPoP},
		{"Delete", testClientDelete},
		{"RotateSecret", testClientRotateSecret},
		{"ConcurrentCreate", testClientConcurrentCreate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// sample returns a web client with ID id and every field set that
// CreateClient stores.
func sample(id string) *oauth.Client {
	return &oauth.Client{
		ID:            id,
		Name:          "Sample app",
		Type:          oauth.ClientWeb,
		RedirectURIs:  []string{"https://app.example/cb", "https://app.example/cb2?x=1"},
		GrantTypes:    []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken},
		Scopes:        auth.MustScopes("read", "write"),
		DefaultScopes: auth.MustScopes("read"),
		Secrets:       []oauth.ClientSecret{{Hash: randomHash(), CreatedAt: base}},
		CreatedAt:     base,
		Owner:         "usr_owner",
	}
}

func testClientCreateAndGet(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	want := sample("c1")
	if err := s.CreateClient(ctx, want.Clone()); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	got, err := s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("Client: %s", d)
	}
}

func testClientPublicWithoutSecrets(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	want := sample("pub")
	want.Type, want.Secrets = oauth.ClientMobile, nil
	if err := s.CreateClient(ctx, want.Clone()); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	got, err := s.Client(ctx, "pub")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	if len(got.Secrets) != 0 {
		t.Errorf("got %d secrets, want 0", len(got.Secrets))
	}
}

func testClientDuplicate(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	if err := s.CreateClient(ctx, sample("c1")); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	if err := s.CreateClient(ctx, sample("c1")); !errors.Is(err, oauth.ErrAlreadyExists) {
		t.Errorf("second CreateClient: got %v, want ErrAlreadyExists", err)
	}
}

func testClientNotFound(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	if _, err := s.Client(ctx, "nope"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Client: got %v, want ErrNotFound", err)
	}
	if err := s.DeleteClient(ctx, "nope"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("DeleteClient: got %v, want ErrNotFound", err)
	}
	err := s.RotateClientSecret(ctx, "nope", oauth.ClientSecret{Hash: randomHash(), CreatedAt: base}, base)
	if !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("RotateClientSecret: got %v, want ErrNotFound", err)
	}
}

func testClientRecordsAreCopies(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	in := sample("c1")
	if err := s.CreateClient(ctx, in); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	in.RedirectURIs[0] = "https://evil.example/"
	got, err := s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	got.RedirectURIs[0] = "https://evil.example/"
	got.Secrets[0].Hash = oauth.Hash{}
	again, err := s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	if d := diff(sample("c1").RedirectURIs, again.RedirectURIs); d != "" {
		t.Errorf("stored redirect URIs changed through a returned record: %s", d)
	}
	if again.Secrets[0].Hash == (oauth.Hash{}) {
		t.Errorf("stored secret changed through a returned record")
	}
}

func testClientList(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	for _, id := range []string{"b", "c", "a"} {
		if err := s.CreateClient(ctx, sample(id)); err != nil {
			t.Fatalf("CreateClient(%s): %v", id, err)
		}
	}
	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if d := diff([]string{"a", "b", "c"}, ids); d != "" {
		t.Errorf("ListClients IDs: %s", d)
	}
}

func testClientListByOwner(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	lister, ok := s.(interface {
		ListClientsByOwner(ctx context.Context, owner string) ([]*oauth.Client, error)
	})
	if !ok {
		t.Skip("the store has no ListClientsByOwner")
	}
	for _, c := range []struct{ id, owner string }{
		{"b", "usr_ann"}, {"a", "usr_ann"}, {"c", "usr_bob"}, {"op", ""},
		// Owners compare byte-wise: these are other accounts.
		{"d", "USR_ANN"}, {"e", "usr_ann "},
	} {
		cl := sample(c.id)
		cl.Owner = c.owner
		if err := s.CreateClient(ctx, cl); err != nil {
			t.Fatalf("CreateClient(%s): %v", c.id, err)
		}
	}
	for owner, want := range map[string][]string{
		"usr_ann": {"a", "b"},
		"usr_bob": {"c"},
		"usr_eve": nil,
		// Operator-managed clients belong to no account, so the
		// empty owner lists none of them.
		"": nil,
	} {
		list, err := lister.ListClientsByOwner(ctx, owner)
		if err != nil {
			t.Fatalf("ListClientsByOwner(%q): %v", owner, err)
		}
		var ids []string
		for _, c := range list {
			if c.Owner != owner {
				t.Errorf("ListClientsByOwner(%q) returned client %s of %q", owner, c.ID, c.Owner)
			}
			ids = append(ids, c.ID)
		}
		if d := diff(want, ids); d != "" {
			t.Errorf("ListClientsByOwner(%q) IDs: %s", owner, d)
		}
	}
	// The listed records are whole, as Client returns them.
	list, err := lister.ListClientsByOwner(ctx, "usr_bob")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListClientsByOwner: %v, %d clients", err, len(list))
	}
	want := sample("c")
	want.Owner = "usr_bob"
	want.Secrets = list[0].Secrets // random hashes, checked by CreateAndGet
	if d := diff(want, list[0]); d != "" {
		t.Errorf("listed client: %s", d)
	}
}

// testClientRequireDPoP: RequireDPoP is kept per client, both ways, by
// Client and ListClients.
func testClientRequireDPoP(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	on, off := sample("dpop"), sample("plain")
	on.Type, on.Secrets, on.RequireDPoP = oauth.ClientMobile, nil, true
	for _, c := range []*oauth.Client{on, off} {
		if err := s.CreateClient(ctx, c.Clone()); err != nil {
			t.Fatalf("CreateClient: %v", err)
		}
		got, err := s.Client(ctx, c.ID)
		if err != nil {
			t.Fatalf("Client: %v", err)
		}
		if d := diff(c, got); d != "" {
			t.Errorf("Client(%s): %s", c.ID, d)
		}
	}
	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	if len(list) != 2 || !list[0].RequireDPoP || list[1].RequireDPoP {
		t.Errorf("ListClients: got %+v, want dpop (RequireDPoP) then plain", list)
	}
}

func testClientDelete(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	if err := s.CreateClient(ctx, sample("c1")); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	if err := s.DeleteClient(ctx, "c1"); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	if _, err := s.Client(ctx, "c1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Client after delete: got %v, want ErrNotFound", err)
	}
}

func testClientRotateSecret(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	c := sample("c1")
	first := c.Secrets[0]
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	t1 := base.Add(time.Hour)
	second := oauth.ClientSecret{Hash: randomHash(), CreatedAt: t1}
	if err := s.RotateClientSecret(ctx, "c1", second, t1.Add(24*time.Hour)); err != nil {
		t.Fatalf("RotateClientSecret: %v", err)
	}
	got, err := s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	first.ExpiresAt = t1.Add(24 * time.Hour)
	want := []oauth.ClientSecret{first, second}
	if d := diff(want, got.Secrets); d != "" {
		t.Errorf("secrets after rotation: %s", d)
	}

	// A second rotation within the grace period shortens the
	// first secret's grace to the new limit, never extends it.
	t2 := t1.Add(time.Hour)
	third := oauth.ClientSecret{Hash: randomHash(), CreatedAt: t2}
	if err := s.RotateClientSecret(ctx, "c1", third, t2.Add(48*time.Hour)); err != nil {
		t.Fatalf("RotateClientSecret: %v", err)
	}
	got, err = s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	second.ExpiresAt = t2.Add(48 * time.Hour)
	want = []oauth.ClientSecret{first, second, third}
	if d := diff(want, got.Secrets); d != "" {
		t.Errorf("secrets after second rotation: %s", d)
	}

	// Once the older secrets have expired, a rotation may drop them;
	// it must keep the ones still valid and add the new one.
	t3 := t2.Add(72 * time.Hour)
	fourth := oauth.ClientSecret{Hash: randomHash(), CreatedAt: t3}
	if err := s.RotateClientSecret(ctx, "c1", fourth, t3); err != nil {
		t.Fatalf("RotateClientSecret: %v", err)
	}
	got, err = s.Client(ctx, "c1")
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	var active []oauth.Hash
	for _, sec := range got.Secrets {
		if sec.Active(t3) {
			active = append(active, sec.Hash)
		}
	}
	if d := diff([]oauth.Hash{fourth.Hash}, active); d != "" {
		t.Errorf("active secrets after expiry: %s", d)
	}
}

func testClientConcurrentCreate(t *testing.T, s oauth.ClientStore) {
	ctx := t.Context()
	errs := race(concurrency, func(int) error { return s.CreateClient(ctx, sample("same")) })
	if n := wins(t, "CreateClient", errs, oauth.ErrAlreadyExists); n != 1 {
		t.Errorf("got %d successful creations, want 1", n)
	}
}
