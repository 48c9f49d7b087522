package apikey_test

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var recordOpts = cmp.Options{cmp.Comparer(auth.Scopes.Equal), cmpopts.EquateEmpty()}

func TestCreate(t *testing.T) {
	fx := newFixture(t)
	now := fx.clock.Now()
	key, rec := fx.create(apikey.CreateParams{
		Name:        "billing",
		Description: "nightly export",
		Owner:       "app-7",
		Scopes:      auth.MustScopes("data:read"),
	})
	p, err := apikey.Parse(key)
	if err != nil {
		t.Fatalf("Parse(created key): %v", err)
	}
	want := apikey.Record{
		ID:          p.ID,
		Hash:        sha256.Sum256([]byte(key)),
		Env:         apikey.EnvLive,
		Name:        "billing",
		Description: "nightly export",
		Owner:       "app-7",
		Scopes:      auth.MustScopes("data:read"),
		CreatedAt:   now,
		ExpiresAt:   now.Add(90 * 24 * time.Hour),
	}
	if diff := cmp.Diff(want, rec, recordOpts); diff != "" {
		t.Errorf("created record mismatch (-want +got):\n%s", diff)
	}
	if p.Prefix != "adx" || p.Env != apikey.EnvLive {
		t.Errorf("key prefix, env = %q, %q; want adx, live", p.Prefix, p.Env)
	}
	got, err := fx.mgr.Get(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got, recordOpts); diff != "" {
		t.Errorf("Get mismatch (-created +got):\n%s", diff)
	}
	// The key is shown once: no stored or listed field holds its secret.
	secret := key[len(key)-apikey.SecretLength-apikey.ChecksumLength : len(key)-apikey.ChecksumLength]
	list, err := fx.mgr.List(t.Context(), apikey.Filter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d records, %v; want 1", len(list), err)
	}
	for _, s := range []string{list[0].ID, list[0].Name, list[0].Description, list[0].Owner, string(list[0].Hash[:])} {
		if strings.Contains(s, secret[:8]) {
			t.Errorf("stored field %q holds part of the secret", s)
		}
	}
}

func TestCreateLifetimes(t *testing.T) {
	tests := []struct {
		name string
		p    apikey.CreateParams
		want time.Duration // 0: never expires
	}{
		{"default 90 days", apikey.CreateParams{}, 90 * 24 * time.Hour},
		{"explicit TTL", apikey.CreateParams{TTL: time.Hour}, time.Hour},
		{"no expiry by explicit choice", apikey.CreateParams{NoExpiry: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			_, rec := fx.create(tt.p)
			want := time.Time{}
			if tt.want != 0 {
				want = fx.clock.Now().Add(tt.want)
			}
			if !rec.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", rec.ExpiresAt, want)
			}
		})
	}
}

func TestCreateInvalidParams(t *testing.T) {
	ok := apikey.CreateParams{Name: "n", Owner: "o"}
	tests := []struct {
		name string
		edit func(*apikey.CreateParams)
	}{
		{"no name", func(p *apikey.CreateParams) { p.Name = "" }},
		{"long name", func(p *apikey.CreateParams) { p.Name = strings.Repeat("n", apikey.MaxNameLength+1) }},
		{"invalid UTF-8 name", func(p *apikey.CreateParams) { p.Name = "\xff" }},
		// Names are shown back in listings: nothing that rewrites a
		// terminal line or disguises one name as another.
		{"white-space name", func(p *apikey.CreateParams) { p.Name = " \t " }},
		{"name with a newline", func(p *apikey.CreateParams) { p.Name = "ok\nrevoked" }},
		{"name with a terminal escape", func(p *apikey.CreateParams) { p.Name = "a\x1b[2K" }},
		{"name with a right-to-left override", func(p *apikey.CreateParams) { p.Name = "report\u202egnp" }},
		{"description with a control character", func(p *apikey.CreateParams) { p.Description = "a\x07" }},
		{"no owner", func(p *apikey.CreateParams) { p.Owner = "" }},
		{"long description", func(p *apikey.CreateParams) { p.Description = strings.Repeat("d", apikey.MaxDescriptionLength+1) }},
		{"unknown env", func(p *apikey.CreateParams) { p.Env = "prod" }},
		{"negative TTL", func(p *apikey.CreateParams) { p.TTL = -time.Hour }},
		{"TTL with NoExpiry", func(p *apikey.CreateParams) { p.TTL, p.NoExpiry = time.Hour, true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			p := ok
			tt.edit(&p)
			if _, _, err := fx.mgr.Create(t.Context(), p); !errors.Is(err, apikey.ErrInvalidParams) {
				t.Errorf("Create error = %v, want ErrInvalidParams", err)
			}
		})
	}
}

var testCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "create and change your data"},
})

// TestCreateScopeCatalog: with a catalog, Create refuses a key with a
// scope outside it and stores nothing; without one, any well-formed scope
// is accepted, as before catalogs existed.
func TestCreateScopeCatalog(t *testing.T) {
	tests := []struct {
		name    string
		catalog *auth.ScopeCatalog
		scopes  []string
		wantMsg string // the refusal's message; "" when Create succeeds
	}{
		{name: "known scope", catalog: testCatalog, scopes: []string{"data:read"}},
		{name: "all known scopes", catalog: testCatalog, scopes: []string{"data:read", "data:write"}},
		// The catalog restricts what a key may have, not that it has
		// something: a scopeless key passes no scope check anyway.
		{name: "no scope", catalog: testCatalog},
		{name: "unknown scope", catalog: testCatalog, scopes: []string{"data:read", "admin"},
			wantMsg: `apikey: invalid key parameters: auth: unknown scope "admin"; known scopes: data:read, data:write`},
		{name: "case variant of a known scope", catalog: testCatalog, scopes: []string{"Data:Read"},
			wantMsg: `apikey: invalid key parameters: auth: unknown scope "Data:Read"; scopes are case-sensitive; did you mean data:read?`},
		{name: "no catalog: any scope", scopes: []string{"admin", "Data:Read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := apikey.NewMemoryStore()
			mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: store, ScopeCatalog: tt.catalog})
			if err != nil {
				t.Fatal(err)
			}
			_, rec, err := mgr.Create(t.Context(), apikey.CreateParams{Name: "n", Owner: "o", Scopes: auth.MustScopes(tt.scopes...)})
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if got, want := rec.Scopes.Slice(), auth.MustScopes(tt.scopes...).Slice(); !cmp.Equal(got, want) {
					t.Errorf("got scopes %q, want %q", got, want)
				}
				return
			}
			if !errors.Is(err, apikey.ErrInvalidParams) || !errors.Is(err, auth.ErrUnknownScope) {
				t.Errorf("got %v, want ErrInvalidParams and auth.ErrUnknownScope", err)
			}
			if err == nil || err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err, tt.wantMsg)
			}
			if recs, _ := store.ListKeys(t.Context(), apikey.Filter{}); len(recs) != 0 {
				t.Errorf("got %d stored keys after a refusal, want 0", len(recs))
			}
		})
	}
}

// TestRotateScopeCatalog: a key whose scope has left the catalog is not
// rotated into a new key with that scope; one whose scopes are all known
// is.
func TestRotateScopeCatalog(t *testing.T) {
	store := apikey.NewMemoryStore()
	// Keys made before the catalog, or before a scope left it.
	before, err := apikey.NewManager(apikey.ManagerConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	_, legacy, err := before.Create(t.Context(), apikey.CreateParams{Name: "legacy", Owner: "o", Scopes: auth.MustScopes("data:read", "data:admin")})
	if err != nil {
		t.Fatal(err)
	}
	_, current, err := before.Create(t.Context(), apikey.CreateParams{Name: "current", Owner: "o", Scopes: auth.MustScopes("data:read")})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: store, ScopeCatalog: testCatalog})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mgr.Rotate(t.Context(), legacy.ID); !errors.Is(err, apikey.ErrInvalidParams) || !errors.Is(err, auth.ErrUnknownScope) {
		t.Errorf("Rotate(key with data:admin): got %v, want ErrInvalidParams and auth.ErrUnknownScope", err)
	}
	if rec, _ := store.Key(t.Context(), legacy.ID); rec.ReplacedBy != "" {
		t.Errorf("refused rotation: got ReplacedBy %q, want the key untouched", rec.ReplacedBy)
	}
	if _, _, err := mgr.Rotate(t.Context(), current.ID); err != nil {
		t.Errorf("Rotate(key with data:read): got %v, want no error", err)
	}
}

func TestNewManagerConfig(t *testing.T) {
	s := apikey.NewMemoryStore()
	tests := []struct {
		name    string
		cfg     apikey.ManagerConfig
		wantErr bool
	}{
		{"store only", apikey.ManagerConfig{Store: s}, false},
		{"no store", apikey.ManagerConfig{}, true},
		{"custom prefix", apikey.ManagerConfig{Store: s, Prefix: "acme1"}, false},
		{"prefix too short", apikey.ManagerConfig{Store: s, Prefix: "a"}, true},
		{"prefix too long", apikey.ManagerConfig{Store: s, Prefix: "abcdefghi"}, true},
		{"upper-case prefix", apikey.ManagerConfig{Store: s, Prefix: "Adx"}, true},
		{"prefix with underscore", apikey.ManagerConfig{Store: s, Prefix: "a_b"}, true},
		{"grace 7 days", apikey.ManagerConfig{Store: s, RotationGrace: 7 * 24 * time.Hour}, false},
		{"grace over 7 days", apikey.ManagerConfig{Store: s, RotationGrace: 7*24*time.Hour + 1}, true},
		{"negative grace", apikey.ManagerConfig{Store: s, RotationGrace: -1}, true},
		{"negative TTL", apikey.ManagerConfig{Store: s, DefaultTTL: -1}, true},
	}
	for _, tt := range tests {
		_, err := apikey.NewManager(tt.cfg)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, apikey.ErrInvalidConfig)) {
			t.Errorf("%s: error = %v, want error: %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestNewVerifierConfig(t *testing.T) {
	s := apikey.NewMemoryStore()
	mgr, _ := apikey.NewManager(apikey.ManagerConfig{Store: s})
	tests := []struct {
		name    string
		cfg     apikey.Config
		wantErr bool
	}{
		{"manager", apikey.Config{Manager: mgr}, false},
		{"store", apikey.Config{Store: s}, false},
		{"neither", apikey.Config{}, true},
		{"manager and store", apikey.Config{Manager: mgr, Store: s}, true},
		{"manager and prefix", apikey.Config{Manager: mgr, Prefix: "xy"}, true},
		{"bad prefix", apikey.Config{Store: s, Prefix: "X"}, true},
		{"unknown environment", apikey.Config{Store: s, Environments: []apikey.Env{"prod"}}, true},
		{"negative cache size", apikey.Config{Store: s, CacheSize: -1}, true},
	}
	for _, tt := range tests {
		tt.cfg.LastUsedInterval = -1
		v, err := apikey.NewVerifier(tt.cfg)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, apikey.ErrInvalidConfig)) {
			t.Errorf("%s: error = %v, want error: %v", tt.name, err, tt.wantErr)
		}
		if v != nil {
			v.Close()
		}
	}
}

func TestRotate(t *testing.T) {
	fx := newFixture(t)
	oldKey, old := fx.create(apikey.CreateParams{Name: "n", Description: "d", Owner: "o", Scopes: auth.MustScopes("x", "y"), Env: apikey.EnvTest})
	fx.clock.Advance(10 * 24 * time.Hour)
	now := fx.clock.Now()
	newKey, rec, err := fx.mgr.Rotate(t.Context(), old.ID)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newKey == oldKey || rec.ID == old.ID {
		t.Fatal("Rotate returned the old key")
	}
	want := apikey.Record{
		ID: rec.ID, Hash: sha256.Sum256([]byte(newKey)),
		Env: apikey.EnvTest, Name: "n", Description: "d", Owner: "o", Scopes: auth.MustScopes("x", "y"),
		CreatedAt: now, ExpiresAt: now.Add(apikey.DefaultTTL), RotatedFrom: old.ID,
	}
	if diff := cmp.Diff(want, rec, recordOpts); diff != "" {
		t.Errorf("new record mismatch (-want +got):\n%s", diff)
	}
	gotOld, _ := fx.mgr.Get(t.Context(), old.ID)
	wantOld := old
	wantOld.ReplacedBy = rec.ID
	wantOld.ExpiresAt = now.Add(apikey.DefaultRotationGrace)
	if diff := cmp.Diff(wantOld, gotOld, recordOpts); diff != "" {
		t.Errorf("old record mismatch (-want +got):\n%s", diff)
	}
}

// TestRotateWithoutGrace: a leaked key is replaced at once: the new key
// works, the old one is refused from the same moment, also by a verifier
// that had it cached.
func TestRotateWithoutGrace(t *testing.T) {
	fx := newFixture(t)
	oldKey, old := fx.create(apikey.CreateParams{Name: "n", Owner: "o", Scopes: auth.MustScopes("x")})
	v := fx.verifier()
	if _, err := v.Verify(t.Context(), oldKey); err != nil {
		t.Fatalf("old key before rotation: %v", err)
	}
	newKey, rec, err := fx.mgr.RotateWithGrace(t.Context(), old.ID, 0)
	if err != nil {
		t.Fatalf("RotateWithGrace: %v", err)
	}
	if rec.Name != "n" || !rec.Scopes.Equal(auth.MustScopes("x")) || rec.RotatedFrom != old.ID {
		t.Errorf("new record = %+v, want the old one's name and scopes", rec)
	}
	if _, err := v.Verify(t.Context(), newKey); err != nil {
		t.Errorf("new key: %v", err)
	}
	if _, err := v.Verify(t.Context(), oldKey); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("old key right after a rotation without grace: err = %v, want auth.ErrExpired", err)
	}
	for _, g := range []time.Duration{-time.Second, apikey.MaxRotationGrace + time.Second} {
		if _, _, err := fx.mgr.RotateWithGrace(t.Context(), rec.ID, g); !errors.Is(err, apikey.ErrInvalidParams) {
			t.Errorf("grace %v: err = %v, want ErrInvalidParams", g, err)
		}
	}
}

func TestRotateRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, fx *fixture) string // returns the ID to rotate
		want  []error
	}{
		{"unknown", func(t *testing.T, fx *fixture) string { return "000000000000" }, []error{apikey.ErrNotFound}},
		{"revoked", func(t *testing.T, fx *fixture) string {
			_, r := fx.create(apikey.CreateParams{})
			fx.mgr.Revoke(t.Context(), r.ID, "")
			return r.ID
		}, []error{apikey.ErrNotActive, auth.ErrRevoked}},
		{"expired", func(t *testing.T, fx *fixture) string {
			_, r := fx.create(apikey.CreateParams{TTL: time.Hour})
			fx.clock.Advance(time.Hour)
			return r.ID
		}, []error{apikey.ErrNotActive, auth.ErrExpired}},
		{"already rotated", func(t *testing.T, fx *fixture) string {
			_, r := fx.create(apikey.CreateParams{})
			if _, _, err := fx.mgr.Rotate(t.Context(), r.ID); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}, []error{apikey.ErrNotActive, apikey.ErrAlreadyRotated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			id := tt.setup(t, fx)
			_, _, err := fx.mgr.Rotate(t.Context(), id)
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("Rotate error = %v, want it to match %v", err, want)
				}
			}
		})
	}
}

// TestRotateConcurrent: concurrent rotations through the Manager give
// exactly one new key.
func TestRotateConcurrent(t *testing.T) {
	fx := newFixture(t)
	_, old := fx.create(apikey.CreateParams{})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = fx.mgr.Rotate(t.Context(), old.ID)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, apikey.ErrAlreadyRotated):
			t.Errorf("losing Rotate error = %v, want ErrAlreadyRotated", err)
		}
	}
	list, _ := fx.mgr.List(t.Context(), apikey.Filter{})
	if wins != 1 || len(list) != 2 {
		t.Errorf("got %d successful rotations and %d keys, want 1 and 2", wins, len(list))
	}
}

func TestRevoke(t *testing.T) {
	fx := newFixture(t)
	_, rec := fx.create(apikey.CreateParams{})
	fx.clock.Advance(time.Hour)
	if err := fx.mgr.Revoke(t.Context(), rec.ID, "leaked in CI log"); err != nil {
		t.Fatal(err)
	}
	got, _ := fx.mgr.Get(t.Context(), rec.ID)
	if !got.RevokedAt.Equal(fx.clock.Now()) || got.RevokeReason != "leaked in CI log" {
		t.Errorf("revoked at %v for %q, want %v for %q", got.RevokedAt, got.RevokeReason, fx.clock.Now(), "leaked in CI log")
	}
	tests := []struct {
		name   string
		id     string
		reason string
		want   error
	}{
		{"again", rec.ID, "other", apikey.ErrAlreadyRevoked},
		{"unknown", "000000000000", "", apikey.ErrNotFound},
		{"reason too long", rec.ID, strings.Repeat("r", apikey.MaxReasonLength+1), apikey.ErrInvalidParams},
	}
	for _, tt := range tests {
		if err := fx.mgr.Revoke(t.Context(), tt.id, tt.reason); !errors.Is(err, tt.want) {
			t.Errorf("%s: Revoke error = %v, want %v", tt.name, err, tt.want)
		}
	}
	if got, _ := fx.mgr.Get(t.Context(), rec.ID); got.RevokeReason != "leaked in CI log" {
		t.Errorf("reason = %q after a second Revoke, want the first", got.RevokeReason)
	}
}

func TestExpiring(t *testing.T) {
	fx := newFixture(t)
	_, soon := fx.create(apikey.CreateParams{Name: "soon", TTL: 5 * 24 * time.Hour})
	_, later := fx.create(apikey.CreateParams{Name: "later", TTL: 30 * 24 * time.Hour})
	fx.create(apikey.CreateParams{Name: "never", NoExpiry: true})
	_, revoked := fx.create(apikey.CreateParams{Name: "revoked", TTL: 5 * 24 * time.Hour})
	fx.mgr.Revoke(t.Context(), revoked.ID, "")
	fx.create(apikey.CreateParams{Name: "expired", TTL: time.Hour})
	_, rotated := fx.create(apikey.CreateParams{Name: "rotated", TTL: 5 * 24 * time.Hour})
	if _, _, err := fx.mgr.Rotate(t.Context(), rotated.ID); err != nil {
		t.Fatal(err)
	}
	fx.clock.Advance(2 * time.Hour)
	tests := []struct {
		within time.Duration
		want   []string
	}{
		{7 * 24 * time.Hour, []string{soon.ID}},
		{60 * 24 * time.Hour, []string{soon.ID, later.ID}},
		{time.Hour, nil},
	}
	for _, tt := range tests {
		recs, err := fx.mgr.Expiring(t.Context(), tt.within)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("Expiring(%v) mismatch (-want +got):\n%s", tt.within, diff)
		}
	}
	if _, err := fx.mgr.Expiring(t.Context(), 0); !errors.Is(err, apikey.ErrInvalidParams) {
		t.Errorf("Expiring(0) error = %v, want ErrInvalidParams", err)
	}
}

// TestPepperRotation: keys keep verifying after the current pepper
// changes, each with the version it was made with.
func TestPepperRotation(t *testing.T) {
	fx := newFixture(t)
	p1, p2 := []byte(strings.Repeat("1", 32)), []byte(strings.Repeat("2", 32))
	h1, _ := apikey.NewHasher(apikey.HasherConfig{Peppers: map[int][]byte{1: p1}, Current: 1})
	h2, _ := apikey.NewHasher(apikey.HasherConfig{Peppers: map[int][]byte{1: p1, 2: p2}, Current: 2})
	m1, _ := apikey.NewManager(apikey.ManagerConfig{Store: fx.store, Hasher: h1, Now: fx.clock.Now})
	m2, _ := apikey.NewManager(apikey.ManagerConfig{Store: fx.store, Hasher: h2, Now: fx.clock.Now})
	p := apikey.CreateParams{Name: "n", Owner: "o"}
	k1, r1, _ := m1.Create(t.Context(), p)
	k2, r2, _ := m2.Create(t.Context(), p)
	if r1.PepperVersion != 1 || r2.PepperVersion != 2 {
		t.Errorf("pepper versions = %d, %d; want 1, 2", r1.PepperVersion, r2.PepperVersion)
	}
	if r1.Hash == sha256.Sum256([]byte(k1)) {
		t.Error("peppered key stored as plain SHA-256")
	}
	v, err := apikey.NewVerifier(apikey.Config{Manager: m2, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, k := range []string{k1, k2} {
		if _, err := v.Verify(t.Context(), k); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}
