package main

import (
	"context"
	"errors"
	"html"
	"regexp"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
)

var scopeItemRE = regexp.MustCompile(`<li>([^<]*)</li>`)

// consentScopes returns the scope lines of a consent page.
func consentScopes(page string) []string {
	var out []string
	for _, m := range scopeItemRE.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// wantConsentScopes is what the consent page must list for scopes: the
// catalog's descriptions, in the scopes' sorted order.
func wantConsentScopes(t *testing.T, scopes ...string) []string {
	t.Helper()
	var out []string
	for _, s := range scopes {
		d, ok := scopeCatalog.Describe(s)
		if !ok {
			t.Fatalf("scope %q is not in the catalog", s)
		}
		out = append(out, d)
	}
	return out
}

// TestSystemEnforcesScopeCatalog: every key manager and client registry
// the system builds enforces the catalog itself, also the ones built for
// a custom grace period, so no code path of the CLI (present or future)
// relies on the flag check alone.
func TestSystemEnforcesScopeCatalog(t *testing.T) {
	ctx := context.Background()
	sys, err := openSystem(ctx, common{dataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	graceKeys, err := sys.keyManager(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	graceClients, err := sys.clientRegistry(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bad := auth.MustScopes("data:raed")
	createKey := func(m *apikey.Manager) error {
		_, _, err := m.Create(ctx, apikey.CreateParams{Name: "k", Owner: "o", Scopes: bad})
		return err
	}
	register := func(r *oauth.Registry) error {
		_, _, err := r.Register(ctx, oauth.Registration{Name: "c", Type: oauth.ClientServer, Scopes: bad})
		return err
	}
	tests := []struct {
		name string
		err  error
	}{
		{"sys.keys", createKey(sys.keys)},
		{"keyManager(grace)", createKey(graceKeys)},
		{"sys.registry", register(sys.registry)},
		{"clientRegistry(grace)", register(graceClients)},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, auth.ErrUnknownScope) {
			t.Errorf("%s: got %v, want auth.ErrUnknownScope", tt.name, tt.err)
		}
	}
}
