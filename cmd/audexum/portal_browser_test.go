package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// envPortalScreenshots, if set, names a directory where
// TestPortalInBrowser writes the README's screenshots of the portal
// (docs/images/portal-*.png), cropped and reduced to a palette:
//
//	AUDEXUM_PORTAL_SCREENSHOTS=$PWD/docs/images go test -run TestPortalInBrowser ./cmd/audexum
const envPortalScreenshots = "AUDEXUM_PORTAL_SCREENSHOTS"

// readmeShots are the pages whose screenshots the README shows, and the
// height they are cropped to.
var readmeShots = map[string]int{
	"keys":       420,
	"key-secret": 580,
	"app-new":    790,
	"monitoring": 745,
}

// browserStep bounds each step of the browser tests: the pages are served
// from this machine.
const browserStep = 20 * time.Second

// maxReadmeShot bounds the size of each committed screenshot.
const maxReadmeShot = 100 << 10

// TestPortalInBrowser walks the journey in headless Chromium,
// after serve started and ann was added with the CLI: sign in, generate a
// key with the keyboard alone and read it from the page, find it shown
// nowhere after, call /v1/data with it, register a web application with
// two redirect URIs and read its secret, register a server application
// whose client-credentials token reads /v1/data and the profile at once,
// see failed calls in the Monitoring chart's data, and revoke the key,
// which is then refused within 2 s. Each page's screenshot is saved under
// the test's temp dir (and AUDEXUM_TEST_ARTIFACTS, if set).
func TestPortalInBrowser(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		t.Skip("no Chromium or Chrome installed (apt-get install chromium); .ci/run installs it, so CI runs this test")
	}
	e := newBareEnv(t)
	s := e.startServer()
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	ctx := chrome(t, browser, 3*time.Minute)
	shot := newScreenshots(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// A page that is not the one expected fails the step in
		// seconds, not at the test's deadline.
		sctx, cancel := context.WithTimeout(ctx, browserStep)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v\nserver log:\n%s", what, err, s.stderr)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("browser: text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	pageText := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			t.Fatalf("browser: read the page: %v", err)
		}
		return v
	}

	// Sign in.
	do("open the portal", chromedp.EmulateViewport(1100, 800), chromedp.Navigate(s.url+"/portal/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	shot(ctx, "signin")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "ann"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/portal/keys/new"]`)),
	)

	// Generate a key with the keyboard alone: Tab to each control, type,
	// Space to tick a scope, Enter to follow the link and to submit.
	tabTo(t, ctx, `a[href="/portal/keys/new"]`)
	do("Enter on Generate a key", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#name")))
	tabTo(t, ctx, "#name")
	do("type the name", chromedp.KeyEvent("reporting"))
	tabTo(t, ctx, `input[name=scope][value="data:read"]`)
	do("tick data:read", chromedp.KeyEvent(" "))
	shot(ctx, "new-key")
	tabTo(t, ctx, "main button[type=submit]")
	do("Enter on Generate key", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("#new-secret")))
	key := text("#new-secret")
	if !keyRE.MatchString(key) {
		t.Fatalf("the page shows %q, not an API key", key)
	}
	// The page's one script ran (the policy allows it by its hash): it
	// shows the copy button.
	do("the copy button", chromedp.WaitVisible(chromedp.CSS(`button[data-copy="new-secret"]`)))
	shot(ctx, "key-secret")
	keyID := strings.Split(key, "_")[2]

	// Shown once: the key's page (through the page's own link) and the
	// list show its ID, never the key. (Reloading the answer to the form
	// would post it again and make another key: the pages after it are
	// where the key could leak.)
	do("open the key's page", chromedp.Click(chromedp.CSS(`a[href="/portal/keys/`+keyID+`"]`)), chromedp.WaitVisible(chromedp.CSS("main dl")))
	if body := pageText(); !strings.Contains(body, keyID) || strings.Contains(body, key) {
		t.Errorf("the key's page: want its ID and not the key")
	}
	do("open the key list", chromedp.Navigate(s.url+"/portal/keys"), chromedp.WaitVisible(chromedp.CSS("main table")))
	if body := pageText(); !strings.Contains(body, keyID) || strings.Contains(body, key) || !strings.Contains(body, "reporting") {
		t.Errorf("the key list: want the key's ID and name, not the key")
	}
	shot(ctx, "keys")
	if code, body, _ := s.do(t, "GET", "/v1/data", key, nil); code != 200 {
		t.Fatalf("/v1/data with the key read from the page: %d %s", code, body)
	}

	// A web application with two redirect URIs.
	register := func(name, typ string, uris, scopes []string) (id, secret string) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(s.url + "/portal/apps/new"),
			chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), name),
			chromedp.Click(chromedp.CSS(`input[name=type][value="` + typ + `"]`)),
		}
		for i, u := range uris {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#redirect-%d", i+1)), u))
		}
		for _, sc := range scopes {
			steps = append(steps, chromedp.Click(chromedp.CSS(`input[name=scope][value="`+sc+`"]`)))
		}
		do("fill in the registration of "+name, steps...)
		if typ == "web" {
			shot(ctx, "app-new")
		}
		do("register "+name, chromedp.Click(chromedp.CSS(`button[value=register]`)), chromedp.WaitVisible(chromedp.CSS("#client-id")))
		return text("#client-id"), text("#new-secret")
	}
	webID, webSecret := register("Photo Printer", "web", []string{"https://printer.example/callback", "http://127.0.0.1:8080/callback"}, []string{"profile:read"})
	if !strings.HasPrefix(webSecret, "adxcs_") {
		t.Fatalf("web application %s: secret %q", webID, webSecret)
	}
	shot(ctx, "app-secret")
	var listed []client
	e.jsonOK(&listed, "client", "list", "--json")
	if i := slices.IndexFunc(listed, func(c client) bool { return c.ClientID == webID }); i < 0 || len(listed[i].RedirectURIs) != 2 {
		t.Errorf("client list: the web application with two redirect URIs is missing: %+v", listed)
	}

	// A server application: its token works at once.
	srvID, srvSecret := register("backend", "server", nil, []string{"data:read", "profile:read"})
	code, body := post(t, s.client, s.url+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {srvID}, "client_secret": {srvSecret}})
	if code != 200 {
		t.Fatalf("token for the server application: %d %s", code, body)
	}
	tok := accessToken(body)
	for _, path := range []string{"/v1/data", "/v1/user/profile"} {
		if code, body, _ := s.do(t, "GET", path, tok, nil); code != 200 {
			t.Errorf("%s with the server application's token: %d %s", path, code, body)
		}
	}

	// Failed calls with the key, from a network of their own; the
	// Monitoring chart's bars carry them.
	other := s.from("127.0.0.41")
	for range 4 {
		if code := call(t, other, "POST", s.url+"/v1/data", key); code != 403 {
			t.Fatalf("POST /v1/data with a data:read key: %d, want 403", code)
		}
	}
	var failures map[string]float64
	eventually(t, usageFlush, "the failed calls in the Monitoring chart", func() bool {
		do("open the key's monitoring", chromedp.Navigate(s.url+"/portal/monitoring/keys/"+keyID), chromedp.WaitVisible(chromedp.CSS("figure.chart")))
		v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`Array.from(document.querySelectorAll('svg[aria-labelledby^="day-failures-title"] rect')).reduce((m, r) => (m[r.dataset.series] = (m[r.dataset.series] || 0) + Number(r.dataset.value), m), {})`))
		if err != nil {
			t.Fatalf("browser: read the chart: %v", err)
		}
		failures = v
		return failures["insufficient_scope"] >= 4
	})
	if failures["insufficient_scope"] != 4 {
		t.Errorf("failures chart: %v, want 4 insufficient_scope", failures)
	}
	shot(ctx, "monitoring")
	do("open the monitoring overview", chromedp.Navigate(s.url+"/portal/monitoring"), chromedp.WaitVisible(chromedp.CSS("main table")))
	shot(ctx, "monitoring-overview")
	do("open the account page", chromedp.Navigate(s.url+"/portal/account"), chromedp.WaitVisible(chromedp.CSS("#current")))
	shot(ctx, "account")

	// Revoke, after the confirmation page.
	do("revoke the key",
		chromedp.Navigate(s.url+"/portal/keys/"+keyID+"/revoke"),
		chromedp.WaitVisible(chromedp.CSS("button.danger")),
	)
	shot(ctx, "revoke")
	do("confirm", chromedp.Click(chromedp.CSS("button.danger")), chromedp.WaitVisible(chromedp.CSS(`main a[href="/portal/monitoring/keys/`+keyID+`"]`)))
	if !strings.Contains(text("main dl"), "Revoked") {
		t.Errorf("the key's page after revoking does not say Revoked")
	}
	within(t, propagationBound, "the key revoked in the browser refused", func() bool {
		code, _, _ := s.do(t, "GET", "/v1/data", key, nil)
		return code == 401
	})
}

// tabTo presses Tab until the element matching sel has the focus, as a
// person with a keyboard would, and fails the test if 40 presses do not
// reach it.
func tabTo(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	q, _ := json.Marshal(sel)
	for range 40 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatalf("browser: Tab: %v", err)
		}
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement !== null && document.activeElement.matches(`+string(q)+`)`))
		if err != nil {
			t.Fatalf("browser: where is the focus: %v", err)
		}
		if focused {
			return
		}
	}
	t.Fatalf("Tab never reached %s", sel)
}

// newScreenshots returns a function that saves a screenshot of the whole
// page as portal-NAME.png in the test's temp dir (and
// AUDEXUM_TEST_ARTIFACTS, if set), and, for the README's pages, a small
// copy in AUDEXUM_PORTAL_SCREENSHOTS, if set.
func newScreenshots(t *testing.T) func(ctx context.Context, name string) {
	dir := t.TempDir()
	t.Logf("portal screenshots: %s", dir)
	artifacts, docs := os.Getenv("AUDEXUM_TEST_ARTIFACTS"), os.Getenv(envPortalScreenshots)
	return func(ctx context.Context, name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("browser: screenshot of %s: %v", name, err)
		}
		file := "portal-" + name + ".png"
		for _, d := range []string{dir, artifacts} {
			if d != "" {
				if err := os.WriteFile(filepath.Join(d, file), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		height, ok := readmeShots[name]
		if docs == "" || !ok {
			return
		}
		small, err := smallPNG(b, height)
		if err != nil {
			t.Fatalf("screenshot of %s: %v", name, err)
		}
		if len(small) > maxReadmeShot {
			t.Fatalf("the README's screenshot %s is %d KB, over %d KB: crop it shorter", file, len(small)>>10, maxReadmeShot>>10)
		}
		if err := os.WriteFile(filepath.Join(docs, file), small, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("README screenshot %s: %d KB", file, len(small)>>10)
	}
}

// smallPNG crops a screenshot to height and reduces it to its 128 most
// frequent colours (a page is mostly flat colours and the shades of
// anti-aliased text), for a README image of a few tens of KB.
func smallPNG(b []byte, height int) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	r := img.Bounds()
	r.Max.Y = min(r.Max.Y, r.Min.Y+height)
	counts := map[color.RGBA]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		colors = append(colors, c)
	}
	slices.SortFunc(colors, func(a, b color.RGBA) int {
		if d := counts[b] - counts[a]; d != 0 {
			return d
		}
		return int(a.R)<<16 | int(a.G)<<8 | int(a.B) - (int(b.R)<<16 | int(b.G)<<8 | int(b.B))
	})
	pal := make(color.Palette, 0, 128)
	for _, c := range colors[:min(len(colors), 128)] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(image.Rect(0, 0, r.Dx(), r.Dy()), pal)
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
