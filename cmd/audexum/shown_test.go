package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/audexum/auth/sqlstore"
)

// TestNamesRefusedAndEscaped: names that could rewrite a terminal or
// disguise themselves are refused at creation, and rows already stored
// with them (an older version, another tool) are printed escaped.
func TestNamesRefusedAndEscaped(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{" ", "a\nb", "x\x1b[2Ky", "evil\u202egnp"} {
		for _, args := range [][]string{
			{"apikey", "create", "--name", name, "--scope", "data:read"},
			{"client", "create", "--name", name, "--type", "server", "--scope", "data:read"},
		} {
			if r := e.run("", args...); r.code == 0 || !strings.Contains(r.stderr, "control or format characters") {
				t.Errorf("%s --name %q: exit %d, stderr %q; want a refusal naming the rule", args[0], name, r.code, r.stderr)
			}
		}
	}
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "plain", "--scope", "data:read", "--json")
	var c client
	e.jsonOK(&c, "client", "create", "--name", "plain", "--type", "server", "--scope", "data:read", "--json")
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(e.dataDir, "audexum.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const stored = "ok\n\x1b[31mREVOKED\u202e"
	for _, q := range []string{`UPDATE api_keys SET name = ?`, `UPDATE oauth_clients SET name = ?`} {
		if _, err := db.Exec(q, stored); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"apikey", "list"}, {"client", "list"}} {
		out := e.ok(args...)
		if strings.ContainsAny(out, "\x1b\u202e") || strings.Count(out, "\n") != 2 {
			t.Errorf("%v printed stored control characters raw:\n%q", args, out)
		}
		if !strings.Contains(out, `"ok\n\x1b[31mREVOKED\u202e"`) {
			t.Errorf("%v: the name is not shown escaped:\n%s", args, out)
		}
	}
}

func TestShown(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain name", "plain name"},
		{"Ünïcode ✓", "Ünïcode ✓"},
		{"a\nb", `"a\nb"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{"x\x9b2Jy", `"x\x9b2Jy"`}, // 8-bit CSI, invalid UTF-8 on its own
		{"rtl\u202e", `"rtl\u202e"`},
	} {
		if got := shown(tt.in); got != tt.want {
			t.Errorf("shown(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
