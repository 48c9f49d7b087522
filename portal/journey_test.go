package portal_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth/portal"
)

// TestJourney walks through the portal as a person would, with forms and
// links only: sign in, generate a key and read it from the page, reload
// (the key is gone), rotate, revoke, register applications of each type,
// and read the monitoring charts.
func TestJourney(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	ctx := context.Background()

	// The key list is empty; the form offers every catalog scope,
	// none checked, and a 90-day expiry.
	pg := b.get("/portal/keys")
	wantStatus(t, "key list", pg, http.StatusOK)
	if got := title(pg.body); got != "API Keys · Developer Portal" {
		t.Errorf("key list title: %q", got)
	}
	wantContains(t, "key list", pg, "You have no API keys yet.", `aria-current="page">API Keys</a>`,
		`>API Keys</a>`, `>Applications</a>`, `>Monitoring</a>`, `>Account</a>`)
	pg = b.get("/portal/keys/new")
	wantContains(t, "key form", pg, `value="data:read"`, `value="data:write"`, `value="profile:read"`, `<option value="90" selected>`)
	wantNotContains(t, "key form", pg, " checked")

	// Generate: the key is in the response to the POST, once.
	pg = b.post("/portal/keys", url.Values{"name": {"nightly export"}, "description": {"copies data to the warehouse"},
		"scope": {"data:read"}, "expires": {"90"}})
	wantStatus(t, "generate", pg, http.StatusOK)
	key := secret(pg.body)
	if !regexp.MustCompile(`^adx_test_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$`).MatchString(key) {
		t.Fatalf("generate: no key on the page (got %q)\n%s", key, pg.body)
	}
	if pg.url.Path != "/portal/keys" || strings.Contains(pg.url.String(), key) {
		t.Errorf("generate: answered at %s, want the POST's own response", pg.url)
	}
	wantContains(t, "generate", pg, "It is shown only once", `data-copy="new-secret"`)
	keys, err := h.st.ListKeys(ctx, h.alice.ID)
	rec := only(t, keys, err)
	if rec.Name != "nightly export" || rec.Scopes.String() != "data:read" || rec.ExpiresAt.Sub(rec.CreatedAt) != 90*24*time.Hour {
		t.Errorf("stored key: got %+v", rec)
	}
	if !strings.Contains(key, rec.ID) {
		t.Errorf("the key %q is not the stored key %s", key, rec.ID)
	}

	// Reload: the key's page and the list show the ID, never the key.
	for _, path := range []string{"/portal/keys/" + rec.ID, "/portal/keys", "/portal/monitoring", "/portal/monitoring/keys/" + rec.ID} {
		pg = b.get(path)
		wantStatus(t, path, pg, http.StatusOK)
		wantContains(t, path, pg, rec.ID)
		if strings.Contains(pg.body, key) || secret(pg.body) != "" {
			t.Errorf("%s shows the key again", path)
		}
	}
	pg = b.get("/portal/keys")
	wantContains(t, "key list", pg, "nightly export", rec.ID, "<code>data:read</code>", "Active", "2026-03-10 10:20 UTC", "2026-06-08 10:20 UTC")

	// Rotate with no grace: a new key, shown once; the old one stops now.
	pg = b.get("/portal/keys/" + rec.ID + "/rotate")
	wantContains(t, "rotate form", pg, `value="0s"`, `value="24h" checked`, `value="168h"`)
	pg = b.post("/portal/keys/"+rec.ID+"/rotate", url.Values{"grace": {"0s"}})
	wantStatus(t, "rotate", pg, http.StatusOK)
	key2 := secret(pg.body)
	if key2 == "" || key2 == key {
		t.Fatalf("rotate: got key %q", key2)
	}
	wantContains(t, "rotate", pg, "stopped working now")
	old, err := h.st.Key(ctx, rec.ID)
	if err != nil || old.ReplacedBy == "" || !old.ExpiresAt.Equal(start) {
		t.Errorf("rotated key: got %+v, %v; want replaced, expiring now", old, err)
	}
	pg = b.get("/portal/keys/" + rec.ID)
	wantContains(t, "rotated key", pg, "Expired")
	wantNotContains(t, "rotated key", pg, key, key2)

	// Revoke the new key, after a confirmation page.
	next := old.ReplacedBy
	pg = b.get("/portal/keys/" + next + "/revoke")
	wantContains(t, "revoke confirmation", pg, "This cannot be undone", `name="confirm" value="yes"`)
	pg = b.post("/portal/keys/"+next+"/revoke", url.Values{"confirm": {"yes"}})
	wantStatus(t, "revoke", pg, http.StatusOK)
	if pg.url.Path != "/portal/keys/"+next {
		t.Errorf("revoke: landed on %s", pg.url.Path)
	}
	wantContains(t, "revoked key", pg, "Revoked")
	if k, _ := h.st.Key(ctx, next); k.RevokedAt.IsZero() {
		t.Error("revoke: the key is not revoked")
	}
	// A revoked key can be neither rotated nor revoked again.
	wantStatus(t, "rotate revoked", b.post("/portal/keys/"+next+"/rotate", url.Values{"grace": {"1h"}}), http.StatusConflict)
	wantStatus(t, "revoke revoked", b.post("/portal/keys/"+next+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusConflict)

	// A web application with two redirect URIs: ID and secret, once.
	pg = b.get("/portal/apps/new")
	wantContains(t, "app form", pg, `id="redirect-1"`, `id="redirect-2"`)
	wantNotContains(t, "app form", pg, `type="checkbox" id="scope-0" name="scope" value="data:read" checked`)
	pg = b.post("/portal/apps", url.Values{"name": {"Photo Printer"}, "type": {"web"}, "action": {"register"},
		"redirect_uri": {"https://printer.example/cb", "http://127.0.0.1:8080/cb", ""}, "scope": {"profile:read", "data:read"}})
	wantStatus(t, "register web app", pg, http.StatusOK)
	appSecret := secret(pg.body)
	if !strings.HasPrefix(appSecret, "adxcs_") {
		t.Fatalf("register web app: no secret on the page\n%s", pg.body)
	}
	apps, err := h.st.ListApps(ctx, h.alice.ID)
	web := only(t, apps, err)
	if web.Type != "web" || strings.Join(web.RedirectURIs, " ") != "https://printer.example/cb http://127.0.0.1:8080/cb" || web.Scopes.String() != "data:read profile:read" {
		t.Errorf("stored app: got %+v", web)
	}
	wantContains(t, "register web app", pg, web.ID)
	pg = b.get("/portal/apps/" + web.ID)
	wantContains(t, "app page", pg, web.ID, "https://printer.example/cb", "http://127.0.0.1:8080/cb", "cannot be shown again")
	wantNotContains(t, "app page", pg, appSecret)
	wantNotContains(t, "app list", b.get("/portal/apps"), appSecret)

	// A new secret, after a confirmation page.
	pg = b.get("/portal/apps/" + web.ID + "/rotate")
	wantContains(t, "secret rotation page", pg, `name="confirm" value="yes"`)
	pg = b.post("/portal/apps/"+web.ID+"/rotate", url.Values{"confirm": {"yes"}})
	if s := secret(pg.body); s == "" || s == appSecret {
		t.Errorf("rotate secret: got %q", s)
	}

	// A server-to-server application: a secret, no redirect URIs.
	pg = b.post("/portal/apps", url.Values{"name": {"Billing sync"}, "type": {"server"}, "redirect_uri": {""}, "scope": {"data:write"}})
	wantStatus(t, "register server app", pg, http.StatusOK)
	if secret(pg.body) == "" {
		t.Errorf("server app: no secret shown")
	}
	// A mobile application: no secret at all.
	pg = b.post("/portal/apps", url.Values{"name": {"Phone app"}, "type": {"mobile"}, "redirect_uri": {"http://127.0.0.1/cb"}, "scope": {"profile:read"}})
	wantStatus(t, "register mobile app", pg, http.StatusOK)
	if s := secret(pg.body); s != "" {
		t.Errorf("mobile app: got secret %q, want none", s)
	}
	wantContains(t, "register mobile app", pg, "has no client secret")
	apps, _ = h.st.ListApps(ctx, h.alice.ID)
	if len(apps) != 3 {
		t.Fatalf("got %d apps, want 3", len(apps))
	}
	var mobile, server portal.App
	for _, a := range apps {
		switch a.Type {
		case "mobile":
			mobile = a
		case "server":
			server = a
		}
	}
	if len(server.RedirectURIs) != 0 {
		t.Errorf("server app has redirect URIs %v", server.RedirectURIs)
	}
	// A mobile application has no secret to rotate.
	wantStatus(t, "rotate mobile secret", b.get("/portal/apps/"+mobile.ID+"/rotate"), http.StatusNotFound)
	wantNotContains(t, "mobile app page", b.get("/portal/apps/"+mobile.ID), "New client secret")

	// Delete, after a confirmation page.
	wantContains(t, "delete page", b.get("/portal/apps/"+server.ID+"/delete"), "This cannot be undone")
	pg = b.post("/portal/apps/"+server.ID+"/delete", url.Values{"confirm": {"yes"}})
	if pg.status != http.StatusOK || pg.url.Path != "/portal/apps" {
		t.Errorf("delete: got %d at %s", pg.status, pg.url.Path)
	}
	if _, err := h.st.App(ctx, server.ID); err == nil {
		t.Error("delete: the app is still there")
	}

	// Every change names alice as its actor.
	for _, a := range h.st.Actions() {
		if a.Actor != "portal:alice" {
			t.Errorf("action %+v: actor %q, want portal:alice", a, a.Actor)
		}
	}
	ops := map[string]bool{}
	for _, a := range h.st.Actions() {
		ops[a.Op] = true
	}
	for _, op := range []string{"create_session", "create_key", "rotate_key", "revoke_key", "register_app", "rotate_app_secret", "delete_app"} {
		if !ops[op] {
			t.Errorf("no %s action recorded", op)
		}
	}
	if errs := h.errors(); len(errs) > 0 {
		t.Errorf("OnError got %v", errs)
	}
}

// TestMonitoringCharts: the monitoring page draws the store's numbers:
// each bar's value, each table cell, the flag.
func TestMonitoringCharts(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	now := start
	h.st.PutKey(portal.Key{ID: "K0000000000a", Owner: h.alice.ID, Name: "exporter", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour * 24 * 30)})
	c := portal.Credential{Kind: portal.KindKey, ID: "K0000000000a"}
	hour := now.Truncate(time.Hour) // 10:00, the hour in progress
	// Hourly: 5 requests at 08:xx, 7 at 09:xx, 3 in this hour; 2 throttled
	// at 09:xx; failures: 1 expired at 08:xx, then a spike of 12
	// invalid_token and 1 expired in this hour.
	h.st.Record(c, hour.Add(-2*time.Hour+time.Minute), 5, 0, map[string]int64{"expired": 1})
	h.st.Record(c, hour.Add(-time.Hour+30*time.Minute), 7, 2, nil)
	h.st.Record(c, hour.Add(5*time.Minute), 3, 0, map[string]int64{"invalid_token": 12, "expired": 1})
	// Daily: 40 requests 3 days ago; outside both windows, 99 requests
	// 31 days ago.
	h.st.Record(c, now.Add(-3*24*time.Hour), 40, 0, nil)
	h.st.Record(c, now.Add(-31*24*time.Hour), 99, 0, nil)
	h.st.AddFailure(c, portal.Failure{At: hour.Add(6 * time.Minute), Reason: "invalid_token", Network: netip.MustParsePrefix("192.0.2.7/32")})
	h.st.AddFailure(c, portal.Failure{At: hour.Add(7 * time.Minute), Reason: "expired", Network: netip.MustParsePrefix("2001:db8:1:2::/64")})

	pg := b.get("/portal/monitoring/keys/K0000000000a")
	wantStatus(t, "monitoring page", pg, http.StatusOK)
	bars := barValues(pg.body)
	want := map[string][]string{
		// series: the non-zero values, in chart order (24 h, then 30 d).
		"requests":      {"5", "7", "3", "40", "15"},
		"throttled":     {"2", "2"},
		"invalid_token": {"12", "12"},
		"expired":       {"1", "1", "2"},
	}
	for series, vals := range want {
		if got := strings.Join(bars[series], " "); got != strings.Join(vals, " ") {
			t.Errorf("bars of %s: got %q, want %q", series, got, strings.Join(vals, " "))
		}
	}
	wantContains(t, "monitoring page", pg,
		`<title>2026-03-10 08:00 UTC: 5 requests</title>`,
		`<title>2026-03-10 10:00 UTC: 12 failed (invalid_token)</title>`,
		`<title>2026-03-07: 40 requests</title>`,
		`<tr><th scope="row">2026-03-10 09:00 UTC</th><td class="num">7</td></tr>`,
		`<tr><th scope="row">2026-03-10 10:00 UTC</th><td class="num">12</td><td class="num">1</td></tr>`,
		`<tr><th scope="row">2026-03-10</th><td class="num">15</td></tr>`,
		"In the last 24 hours: 15 requests, 14 failed attempts, 2 throttled requests.",
		`id="unusual"`, "13 failed attempts in the last two hours",
		"<code>192.0.2.7/32</code>", "<code>2001:db8:1:2::/64</code>",
		`role="img" aria-labelledby="day-requests-title day-requests-desc"`,
		`<desc id="day-requests-desc">15 in all; the most, 7, in the interval from 2026-03-10 09:00 UTC.`,
	)
	wantNotContains(t, "monitoring page", pg, ">99<", `data-value="99"`)
	// The overview flags it too.
	pg = b.get("/portal/monitoring")
	wantContains(t, "monitoring overview", pg, "Unusual activity", `<td class="num">15</td>`, `<td class="num">14</td>`)
}

var barRE = regexp.MustCompile(`data-series="([^"]*)" data-value="([0-9]+)"`)

// barValues returns the values of a page's bars by series, in page order.
func barValues(body string) map[string][]string {
	out := map[string][]string{}
	for _, m := range barRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// TestKeyFlags: active keys older than 90 days or expiring within 14 days
// are flagged; a rotated key, which expires by design, and revoked or
// expired keys are not.
func TestKeyFlags(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	b.signIn("alice", "alice-password")
	day := 24 * time.Hour
	for _, k := range []portal.Key{
		{ID: "Kold00000000", Name: "old", CreatedAt: start.Add(-91 * day), ExpiresAt: start.Add(60 * day)},
		{ID: "Ksoon0000000", Name: "soon", CreatedAt: start.Add(-10 * day), ExpiresAt: start.Add(13 * day)},
		{ID: "Kfine0000000", Name: "fine", CreatedAt: start.Add(-89 * day), ExpiresAt: start.Add(15 * day)},
		{ID: "Krotated0000", Name: "rotated", CreatedAt: start.Add(-100 * day), ExpiresAt: start.Add(day), ReplacedBy: "Kfine0000000"},
		{ID: "Krevoked0000", Name: "revoked", CreatedAt: start.Add(-100 * day), ExpiresAt: start.Add(day), RevokedAt: start.Add(-day)},
		{ID: "Kexpired0000", Name: "expired", CreatedAt: start.Add(-100 * day), ExpiresAt: start.Add(-day)},
	} {
		k.Owner = h.alice.ID
		h.st.PutKey(k)
	}
	row := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"><a href="/portal/keys/(K[a-z0-9]+)">.*?</tr>`)
	flags := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(b.get("/portal/keys").body, -1) {
		var got []string
		for _, f := range regexp.MustCompile(`<span class="flag">([^<]*)</span>`).FindAllStringSubmatch(m[0], -1) {
			got = append(got, f[1])
		}
		status := regexp.MustCompile(`<td>(Active|Rotated|Expired|Revoked)`).FindStringSubmatch(m[0])
		flags[m[1]] = status[1] + ": " + strings.Join(got, " | ")
	}
	want := map[string]string{
		"Kold00000000": "Active: Older than 90 days: rotate it.",
		"Ksoon0000000": "Active: Expires within 14 days: rotate it.",
		"Kfine0000000": "Active: ",
		"Krotated0000": "Rotated: ",
		"Krevoked0000": "Revoked: ",
		"Kexpired0000": "Expired: ",
	}
	for id, w := range want {
		if flags[id] != w {
			t.Errorf("%s: got %q, want %q", id, flags[id], w)
		}
	}
}
