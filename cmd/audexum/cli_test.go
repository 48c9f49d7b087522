package main

import (
	"strings"
	"testing"
	"time"
)

// TestGroupHelp: every command group answers -h, --help and help with its
// subcommands, and a missing or unknown subcommand names them.
func TestGroupHelp(t *testing.T) {
	e := newEnv(t)
	for name, g := range groups {
		for _, h := range []string{"-h", "--help", "help"} {
			r := e.run("", name, h)
			if r.code != 0 || r.stdout != g.usage || r.stderr != "" {
				t.Errorf("audexum %s %s: exit %d, stdout %q, stderr %q; want exit 0 and the group's usage", name, h, r.code, r.stdout, r.stderr)
			}
			for _, sub := range strings.Split(g.names, ", ") {
				if !strings.Contains(r.stdout, "  "+sub+" ") {
					t.Errorf("audexum %s %s does not list %s", name, h, sub)
				}
			}
		}
		r := e.run("", name)
		if want := "audexum: " + name + ": missing subcommand (one of: " + g.names + "; run audexum " + name + " -h)\n"; r.code != 2 || r.stderr != want {
			t.Errorf("audexum %s: exit %d, stderr %q; want exit 2, %q", name, r.code, r.stderr, want)
		}
		r = e.run("", name, "frobnicate")
		if want := "audexum: " + name + `: unknown subcommand "frobnicate" (one of: ` + g.names + ")\n"; r.code != 2 || r.stderr != want {
			t.Errorf("audexum %s frobnicate: exit %d, stderr %q; want exit 2, %q", name, r.code, r.stderr, want)
		}
	}
}

// TestNotFoundAndWholeKey: "not found" names the kind and the ID, and a
// whole key where its ID is wanted is refused with the ID to pass.
func TestNotFoundAndWholeKey(t *testing.T) {
	e := newEnv(t)
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "n", "--scope", "data:read", "--json")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"apikey", "revoke", "nosuchkey123"}, 1, "audexum: no API key with ID nosuchkey123 (see: audexum apikey list)\n"},
		{[]string{"apikey", "rotate", "nosuchkey123"}, 1, "audexum: no API key with ID nosuchkey123 (see: audexum apikey list)\n"},
		{[]string{"client", "delete", "adxc_nosuch"}, 1, "audexum: no OAuth client with ID adxc_nosuch (see: audexum client list)\n"},
		{[]string{"client", "rotate-secret", "adxc_nosuch"}, 1, "audexum: no OAuth client with ID adxc_nosuch (see: audexum client list)\n"},
		{[]string{"apikey", "revoke", k.Key}, 2, "audexum: apikey revoke: that is a whole API key, not a key ID: pass its ID, " + k.ID + " (and treat the key as exposed: it is in your shell history now)\n"},
		{[]string{"apikey", "rotate", k.Key}, 2, "audexum: apikey rotate: that is a whole API key, not a key ID: pass its ID, " + k.ID + " (and treat the key as exposed: it is in your shell history now)\n"},
		{[]string{"apikey", "rotate", k.ID, "--grace", "8d"}, 2, "audexum: apikey rotate: --grace must be 0s (a leaked key: the old one is refused at once) to 7d\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != tt.code || r.stderr != tt.want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
}

// TestRotateLeakedKey: with serve running, `apikey rotate --grace 0s`
// gives a new key with the same name and scopes, and the old key is
// refused at once (within the change log's delay).
func TestRotateLeakedKey(t *testing.T) {
	e := newBareEnv(t)
	s := e.startServer()
	var old, next createdKey
	e.jsonOK(&old, "apikey", "create", "--name", "leaky", "--scope", "data:read", "--json")
	if code, _, _ := s.do(t, "GET", "/v1/data", old.Key, nil); code != 200 {
		t.Fatalf("old key before rotation: %d", code)
	}
	e.jsonOK(&next, "apikey", "rotate", old.ID, "--grace", "0s", "--json")
	if next.Name != "leaky" || strings.Join(next.Scopes, " ") != "data:read" {
		t.Errorf("new key %+v, want name leaky and scope data:read", next)
	}
	if code, _, _ := s.do(t, "GET", "/v1/data", next.Key, nil); code != 200 {
		t.Errorf("new key: %d, want 200", code)
	}
	eventually(t, 2*time.Second, "old key refused after rotate --grace 0s", func() bool {
		code, _, _ := s.do(t, "GET", "/v1/data", old.Key, nil)
		return code == 401
	})
}

// TestOperatorKeyCannotClaimAnAccount: an operator's key (no --owner) has
// its name as subject, so a name shaped like an account ID is refused.
func TestOperatorKeyCannotClaimAnAccount(t *testing.T) {
	e := newEnv(t)
	r := e.run("", "apikey", "create", "--name", "usr_jaVvDh4132FJqkjy", "--scope", "profile:read")
	if want := "audexum: apikey create: names starting with usr_ are account IDs; pick another name, or pass --owner USERNAME\n"; r.code != 2 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", r.code, r.stderr, want)
	}
}
