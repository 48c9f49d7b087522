package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
)

// TestScopeFlagRefusals drives the built binary: a key or client with no
// scope, a scope outside the catalog, a case variant of a known one, or a
// list joined into one --scope is a usage error (exit 2) with one line on
// stderr that says how to write the command, and nothing is created.
func TestScopeFlagRefusals(t *testing.T) {
	const known = "data:read, data:write, profile:read"
	tests := []struct {
		name   string
		scopes []string // the arguments after the command's other flags
		// want is stderr after "audexum: <command>: ".
		want string
	}{
		{name: "no scope", want: "at least one --scope is required; known scopes: " + known},
		{name: "typo", scopes: []string{"--scope", "data:raed"},
			want: `auth: unknown scope "data:raed"; known scopes: ` + known},
		// Case-sensitive, and the error says so instead of accepting it.
		{name: "case variant", scopes: []string{"--scope", "Data:Read"},
			want: `auth: unknown scope "Data:Read"; scopes are case-sensitive; did you mean data:read?`},
		{name: "comma-joined list", scopes: []string{"--scope", "data:read,data:write"},
			want: `--scope "data:read,data:write" holds several scopes; repeat --scope for each: --scope data:read --scope data:write`},
		// Quoted into one argument by the shell.
		{name: "space-joined list", scopes: []string{"--scope", "data:read profile:read"},
			want: `--scope "data:read profile:read" holds several scopes; repeat --scope for each: --scope data:read --scope profile:read`},
		// A trailing comma is not a list: the value is one unknown scope.
		{name: "trailing comma", scopes: []string{"--scope", "data:read,"},
			want: `auth: unknown scope "data:read,"; known scopes: ` + known},
		// One bad scope among good ones refuses the whole credential.
		{name: "known and unknown", scopes: []string{"--scope", "data:read", "--scope", "admin"},
			want: `auth: unknown scope "admin"; known scopes: ` + known},
		{name: "malformed", scopes: []string{"--scope", `a"b`},
			want: "auth: invalid scope: invalid character in scope token"},
		{name: "empty", scopes: []string{"--scope", ""},
			want: "auth: invalid scope: empty scope token"},
	}
	commands := []struct {
		name string
		args []string
	}{
		{"apikey create", []string{"apikey", "create", "--name", "k"}},
		{"client create", []string{"client", "create", "--name", "c", "--type", "server"}},
	}
	e := newEnv(t)
	for _, c := range commands {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				r := e.run("", append(append([]string{}, c.args...), tt.scopes...)...)
				want := "audexum: " + c.name + ": " + tt.want + "\n"
				if r.code != 2 || r.stderr != want {
					t.Errorf("got exit %d, stderr %q; want exit 2, stderr %q", r.code, r.stderr, want)
				}
			})
		}
	}
	// Nothing was created by any of the refusals.
	var keys, clients []json.RawMessage
	e.jsonOK(&keys, "apikey", "list", "--json")
	e.jsonOK(&clients, "client", "list", "--json")
	if len(keys) != 0 || len(clients) != 0 {
		t.Errorf("got %d keys and %d clients after refusals, want none", len(keys), len(clients))
	}
}

// TestScopeFlagRepeated: --scope repeats, and each value is one scope.
func TestScopeFlagRepeated(t *testing.T) {
	e := newEnv(t)
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "k", "--scope", "profile:read", "--scope", "data:write", "--scope", "data:read", "--json")
	if diff := cmp.Diff([]string{"data:read", "data:write", "profile:read"}, k.Scopes); diff != "" {
		t.Errorf("key scopes (-want +got):\n%s", diff)
	}
	var c client
	e.jsonOK(&c, "client", "create", "--name", "c", "--type", "server", "--scope", "data:read", "--scope", "data:write", "--json")
	if diff := cmp.Diff([]string{"data:read", "data:write"}, c.Scopes); diff != "" {
		t.Errorf("client scopes (-want +got):\n%s", diff)
	}
}

// TestScopeFlagHelp: the help of --scope names the known scopes and the
// rules, from the catalog.
func TestScopeFlagHelp(t *testing.T) {
	e := newEnv(t)
	for _, cmd := range [][]string{{"apikey", "create", "-h"}, {"client", "create", "-h"}} {
		out := e.ok(cmd...)
		for _, want := range []string{"repeat --scope for each", "case-sensitive", "known: data:read, data:write, profile:read"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: got help\n%s\nwant it to contain %q", cmd, out, want)
			}
		}
	}
}

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
	sys, err := openSystem(ctx, common{dataDir: newEnv(t).dataDir})
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
	register := func(r *oauth.ClientManager) error {
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
