package main

import (
	"database/sql"
	"errors"
	"fmt"
	"hash/crc32"
	osuser "os/user"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// auditOut is the documented shape of `audit --json`.
type auditOut struct {
	Since  *time.Time `json:"since"`
	Events []struct {
		Seq       int64          `json:"seq"`
		At        time.Time      `json:"at"`
		Kind      string         `json:"kind"`
		Action    string         `json:"action"`
		SubjectID string         `json:"subject_id"`
		Actor     string         `json:"actor"`
		Details   map[string]any `json:"details"`
	} `json:"events"`
	Failures []struct {
		Minute time.Time `json:"minute"`
		KeyID  string    `json:"key_id"`
		Reason string    `json:"reason"`
		Count  int64     `json:"count"`
	} `json:"failures"`
}

// wrongSecret returns key with its last secret character changed and the
// checksum recomputed: a well-formed key with a real ID and the wrong
// secret.
func wrongSecret(key string) string {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	body := key[:len(key)-apikey.ChecksumLength]
	last := byte('a')
	if body[len(body)-1] == 'a' {
		last = 'b'
	}
	body = body[:len(body)-1] + string(last)
	c := crc32.ChecksumIEEE([]byte(body))
	var d [apikey.ChecksumLength]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = base62[c%62]
		c /= 62
	}
	return body + string(d[:])
}

func TestAuditSQLite(t *testing.T) { testAudit(t, newEnv(t)) }

func TestAuditPostgres(t *testing.T) {
	e := newPostgresEnv(t)
	testAudit(t, e)
	// On PostgreSQL serve throttles through the shared database limiter:
	// the failures above were counted there.
	db, err := sql.Open("pgx", e.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COALESCE(SUM(n), 0) FROM rate_limits`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("rate_limits counts %d failures, want 8 (the failed attempts sent)", n)
	}
}

// testAudit drives every lifecycle command and failed authentications
// through the built binary, then reads them back with `audit`.
func testAudit(t *testing.T, e *env) {
	u, err := osuser.Current()
	if err != nil {
		t.Skipf("no OS user to expect as the actor: %v", err)
	}
	actor := "cli:" + u.Username

	var k, rot createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "audited", "--scope", "data:read", "--json")
	e.jsonOK(&rot, "apikey", "rotate", k.ID, "--json")
	e.ok("apikey", "revoke", rot.ID, "--reason", "left the team")
	var c client
	e.jsonOK(&c, "client", "create", "--name", "svc", "--type", "server", "--scope", "data:read", "--json")
	var rs struct {
		ClientSecret string `json:"client_secret"`
	}
	e.jsonOK(&rs, "client", "rotate-secret", c.ClientID, "--json")
	e.ok("client", "delete", c.ClientID)
	const password = "correct horse battery staple"
	r := e.run(password+"\n", "user", "add", "--username", "ann", "--password-stdin")
	if r.code != 0 {
		t.Fatalf("user add: %d %q", r.code, r.stderr)
	}
	userID := regexp.MustCompile(`subject (usr_\S+)\)`).FindStringSubmatch(r.stdout)
	if userID == nil {
		t.Fatalf("user add output: %q", r.stdout)
	}
	var elsewhere createdKey
	newEnv(t).jsonOK(&elsewhere, "apikey", "create", "--name", "elsewhere", "--scope", "data:read", "--json")

	// Failed authentications, fewer than the throttle's 10 per address.
	s := e.startServer()
	traffic := []struct {
		key, wantKeyID, wantReason string
		n                          int
	}{
		{wrongSecret(k.Key), k.ID, "secret_mismatch", 3},
		{rot.Key, rot.ID, "revoked", 2},
		// An ID no key has: never recorded as itself.
		{elsewhere.Key, sqlstore.UnknownKeyID, "unknown_credential", 2},
		{"not-a-key", sqlstore.UnknownKeyID, "unknown_shape", 1},
	}
	type row struct{ key, reason string }
	want := map[row]int64{}
	for _, tr := range traffic {
		for range tr.n {
			if code, _, _ := s.do(t, "GET", "/v1/data", tr.key, nil); code != 401 {
				t.Fatalf("%s: status %d, want 401", tr.wantReason, code)
			}
		}
		want[row{tr.wantKeyID, tr.wantReason}] += int64(tr.n)
	}
	// Shutdown writes the counts still in memory.
	s.stop(t)
	rotated := regexp.MustCompile(`signing key: (\S+) is now active; (\S+) stays`).FindStringSubmatch(e.ok("signing-key", "rotate"))
	if rotated == nil {
		t.Fatal("signing-key rotate: no key IDs in its output")
	}

	var out auditOut
	e.jsonOK(&out, "audit", "--json")
	type ev struct{ Kind, Action, Subject, Actor string }
	var gotEvents []ev
	for _, e := range out.Events {
		gotEvents = append(gotEvents, ev{e.Kind, e.Action, e.SubjectID, e.Actor})
	}
	wantEvents := []ev{
		{"api_key", "created", k.ID, actor},
		{"api_key", "rotated", k.ID, actor},
		{"api_key", "created", rot.ID, actor},
		{"api_key", "revoked", rot.ID, actor},
		{"oauth_client", "created", c.ClientID, actor},
		{"oauth_client", "secret_rotated", c.ClientID, actor},
		{"oauth_client", "deleted", c.ClientID, actor},
		{"user", "created", userID[1], actor},
		// serve's first start made the first signing key, on its own
		// (no person's act); then the CLI rotated it.
		{"signing_key", "created", rotated[2], sqlstore.UnknownActor},
		{"signing_key", "rotated", rotated[1], actor},
	}
	if diff := cmp.Diff(wantEvents, gotEvents); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	if len(out.Events) == len(wantEvents) {
		if got := out.Events[1].Details["rotated_to"]; got != rot.ID {
			t.Errorf("rotation details: rotated_to = %v, want %s", got, rot.ID)
		}
		if got := out.Events[3].Details["reason"]; got != "left the team" {
			t.Errorf("revocation details: reason = %v", got)
		}
	}
	if out.Since == nil || time.Since(*out.Since).Round(time.Hour) != 24*time.Hour {
		t.Errorf("since = %v, want 24h ago", out.Since)
	}

	// One row per minute, key and reason (the traffic may straddle a
	// minute), summing to the traffic sent.
	got := map[row]int64{}
	seen := map[string]bool{}
	for _, f := range out.Failures {
		id := fmt.Sprint(f.Minute, f.KeyID, f.Reason)
		if seen[id] {
			t.Errorf("two rows for %s", id)
		}
		seen[id] = true
		if f.Minute.Truncate(time.Minute) != f.Minute {
			t.Errorf("minute %v is not whole", f.Minute)
		}
		got[row{f.KeyID, f.Reason}] += f.Count
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("failure counts (-want +got):\n%s", diff)
	}
	if len(out.Failures) > 2*len(want) {
		t.Errorf("%d failure rows for %d (key, reason) pairs", len(out.Failures), len(want))
	}

	text := e.ok("audit")
	for _, s := range []string{"EVENTS", "FAILED AUTHENTICATIONS", k.ID, "secret_mismatch", actor, "rotated_to=" + rot.ID} {
		if !strings.Contains(text, s) {
			t.Errorf("text output lacks %q:\n%s", s, text)
		}
	}
	all := e.ok("audit", "--json", "--since", "0") + text
	for _, secret := range []string{k.Key, rot.Key, *c.ClientSecret, rs.ClientSecret, password,
		k.Key[len(k.Key)-38:], rot.Key[len(rot.Key)-38:]} {
		if strings.Contains(all, secret) {
			t.Fatalf("audit output holds a secret (%q)", secret)
		}
	}
	var none auditOut
	e.jsonOK(&none, "audit", "--json", "--since", "1ms")
	if none.Events == nil || none.Failures == nil || len(none.Events) != 0 {
		t.Errorf("--since 1ms: events %v, failures %v; want empty arrays", none.Events, none.Failures)
	}
}

func TestAuditUsage(t *testing.T) {
	e := newEnv(t)
	if r := e.run("", "audit", "--since", "soon"); r.code != 2 {
		t.Errorf("bad --since: exit %d, want 2", r.code)
	}
	if r := e.run("", "audit", "extra"); r.code != 2 {
		t.Errorf("extra argument: exit %d, want 2", r.code)
	}
	h := e.ok("audit", "-h")
	for _, s := range []string{`"events"`, `"failures"`, `"key_id"`, "--since DURATION"} {
		if !strings.Contains(h, s) {
			t.Errorf("audit -h lacks %s", s)
		}
	}
}

func TestFailureRow(t *testing.T) {
	mismatch := fmt.Errorf("%w: %w", auth.ErrInvalidCredential, apikey.ErrSecretMismatch)
	tests := []struct {
		name       string
		e          auth.Event
		key, label string
	}{
		{"wrong secret of a stored key", auth.Event{CredentialID: "k1", Err: mismatch}, "k1", "secret_mismatch"},
		{"revoked key", auth.Event{CredentialID: "k1", Err: auth.ErrRevoked}, "k1", "revoked"},
		{"expired key", auth.Event{CredentialID: "k1", Err: auth.ErrExpired}, "k1", "expired"},
		// The ID is the caller's claim: no such key.
		{"unknown ID", auth.Event{CredentialID: "made_up", Err: fmt.Errorf("%w: %w", auth.ErrUnknownCredential, apikey.ErrNotFound)}, "unknown", "unknown_credential"},
		// A bad checksum never reached the store.
		{"bad checksum", auth.Event{CredentialID: "made_up", Err: fmt.Errorf("%w: %w", auth.ErrInvalidCredential, apikey.ErrChecksum)}, "unknown", "checksum"},
		// Throttled before any lookup.
		{"throttled", auth.Event{CredentialID: "k1", Err: auth.ErrThrottled}, "unknown", "throttled"},
		// An expired JWT has no key ID.
		{"expired token", auth.Event{Err: auth.ErrExpired}, "unknown", "expired"},
		{"no credential", auth.Event{Err: auth.ErrNoCredential}, "unknown", "no_credential"},
		{"someone else's error", auth.Event{CredentialID: "k1", Err: errors.New("boom")}, "unknown", "other"},
		// Refusals after authentication have a verified principal: they
		// count under its credential, an application under its client.
		{"missing scope, API key", auth.Event{Principal: &auth.Principal{Method: auth.MethodAPIKey, CredentialID: "k1", Subject: "usr_ann"}, Err: auth.ErrInsufficientScope}, "k1", "insufficient_scope"},
		{"no account, client token", auth.Event{Principal: &auth.Principal{Method: auth.MethodClientCredentials, CredentialID: "jti", ClientID: "adxc_a"}, Err: fmt.Errorf("%w: no owner", auth.ErrNoAccount)}, "adxc_a", "no_account"},
		{"rate limited, user token", auth.Event{Principal: &auth.Principal{Method: auth.MethodAuthorizationCode, CredentialID: "jti", ClientID: "adxc_a", Subject: "usr_ann"}, Err: auth.ErrRateLimited}, "adxc_a", "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, label := failureRow(tt.e)
			if key != tt.key || label != tt.label {
				t.Errorf("got (%q, %q), want (%q, %q)", key, label, tt.key, tt.label)
			}
		})
	}
}
