package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth/sqlstore"
)

// ownedClient is `client create --json` with the owner.
type ownedClient struct {
	client
	Owner string `json:"owner"`
}

// TestProfileForOwnersSQLite and …Postgres: /v1/user/profile through the
// built binary, in the README's order (serve first, then every change with
// the CLI while it runs): an owned client's client-credentials token (the
// seed's "Step 2") and an owned API key read the owner's profile; an
// operator's client or key gets the generic 403.
func TestProfileForOwnersSQLite(t *testing.T) { testProfileForOwners(t, newBareEnv(t)) }

func TestProfileForOwnersPostgres(t *testing.T) { testProfileForOwners(t, newPostgresEnv(t)) }

const (
	bodyInsufficientScope = `{"error":"insufficient_scope","message":"Insufficient scope"}`
	hdrInsufficientScope  = `Bearer realm="api", error="insufficient_scope"`
)

type profile struct {
	Sub      string `json:"sub"`
	Username string `json:"username"`
}

func testProfileForOwners(t *testing.T, e *env) {
	s := e.startServer()
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}

	var owned ownedClient
	e.jsonOK(&owned, "client", "create", "--name", "backend", "--owner", "ann", "--type", "server",
		"--scope", "data:read", "--scope", "profile:read", "--json")
	if !strings.HasPrefix(owned.Owner, "usr_") {
		t.Fatalf("client created with --owner ann: owner %q, want ann's user ID", owned.Owner)
	}
	// The seed's Step 1 and Step 2, as its curl commands send them.
	token := func(c client) string {
		t.Helper()
		code, body := post(t, s.client, s.url+"/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {*c.ClientSecret}})
		if code != 200 {
			t.Fatalf("token: %d %s", code, body)
		}
		return accessToken(body)
	}
	getProfile := func(bearer string) (int, string, string) {
		code, body, h := s.do(t, "GET", "/v1/user/profile", bearer, nil)
		return code, body, h.Get("WWW-Authenticate")
	}
	tok := token(owned.client)
	var got profile
	within(t, propagationBound, "owned client's token reads ann's profile", func() bool {
		code, body, _ := getProfile(tok)
		return code == 200 && json.Unmarshal([]byte(body), &got) == nil
	})
	if got.Username != "ann" || got.Sub != owned.Owner {
		t.Errorf("profile with the owned client's token: %+v, want ann (%s)", got, owned.Owner)
	}

	// An operator's client: valid token, right scope, no account.
	var op client
	e.jsonOK(&op, "client", "create", "--name", "ops", "--type", "server", "--scope", "profile:read", "--json")
	opTok := token(op)
	within(t, propagationBound, "operator's client's token refused with the generic 403", func() bool {
		code, body, hdr := getProfile(opTok)
		return code == 403 && body == bodyInsufficientScope && hdr == hdrInsufficientScope
	})

	// API keys: with --owner ann, ann's profile; without, the 403.
	var key, opKey createdKey
	e.jsonOK(&key, "apikey", "create", "--name", "reporting", "--owner", "ann", "--scope", "profile:read", "--json")
	e.jsonOK(&opKey, "apikey", "create", "--name", "ops-key", "--scope", "profile:read", "--json")
	within(t, propagationBound, "owned key reads ann's profile", func() bool {
		code, body, _ := getProfile(key.Key)
		got = profile{}
		return code == 200 && json.Unmarshal([]byte(body), &got) == nil
	})
	if got.Username != "ann" || got.Sub != owned.Owner {
		t.Errorf("profile with the owned key: %+v", got)
	}
	if code, body, hdr := getProfile(opKey.Key); code != 403 || body != bodyInsufficientScope || hdr != hdrInsufficientScope {
		t.Errorf("operator's key: %d %q %q, want the generic 403", code, body, hdr)
	}

	// An unknown --owner is refused, naming it, and creates nothing.
	for _, args := range [][]string{
		{"apikey", "create", "--name", "x", "--owner", "nobody", "--scope", "data:read"},
		{"client", "create", "--name", "x", "--owner", "nobody", "--type", "server", "--scope", "data:read"},
	} {
		if r := e.run("", args...); r.code != 1 || !strings.Contains(r.stderr, "no user named nobody") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and \"no user named nobody\"", args[:2], r.code, r.stderr)
		}
	}
	var listed []ownedClient
	e.jsonOK(&listed, "client", "list", "--json")
	if len(listed) != 2 {
		t.Errorf("client list: %d clients, want 2", len(listed))
	}

	// Monitoring: stopping serve writes what it counted. The owned
	// client's requests count under its client ID, the key's under its
	// ID; the operator's client's refusal under its client ID, with the
	// network it came from.
	s.stop(t)
	if !strings.Contains(s.stderr.String(), "principal acts for no account") {
		t.Errorf("the log does not give the refusal's reason")
	}
	// Reads the audit trail only, never the signing keys.
	st, err := sqlstore.Open(context.Background(), e.sqlDB(t), sqlstore.Config{Dialect: dialectOf(e), InsecurePlaintextSigningKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for id, want := range map[string]string{owned.ClientID: "requests", key.ID: "requests", op.ClientID: "no_account"} {
		hours, err := st.AuditLog().HourlyUsage(context.Background(), id, now)
		if err != nil {
			t.Fatal(err)
		}
		var requests, refused int64
		for _, b := range hours {
			requests += b.Requests
			refused += b.Failures["no_account"]
		}
		if want == "requests" && requests == 0 || want == "no_account" && refused == 0 {
			t.Errorf("usage of %s: %d requests, %d no_account refusals; want some %s", id, requests, refused, want)
		}
	}
	recent, err := st.AuditLog().RecentFailures(context.Background(), op.ClientID, 10)
	if err != nil || len(recent) == 0 || recent[0].Reason != "no_account" || recent[0].Network != "127.0.0.1" {
		t.Errorf("recent failures of the operator's client: %+v, %v", recent, err)
	}
}

func dialectOf(e *env) sqlstore.Dialect {
	if e.db != "" {
		return sqlstore.Postgres
	}
	return sqlstore.SQLite
}

func TestClientNetwork(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"203.0.113.7:1234", "203.0.113.7"},
		// IPv6 callers are counted per /64, as the throttle counts them.
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[::ffff:203.0.113.7]:443", "203.0.113.7"},
		{"not an address", "unknown"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := clientNetwork(r); got != tt.want {
			t.Errorf("clientNetwork(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
	if got := clientNetwork(nil); got != "unknown" {
		t.Errorf("clientNetwork(nil) = %q", got)
	}
}
