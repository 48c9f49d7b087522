package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"
)

// findBrowser returns the path of an installed Chromium or Chrome.
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chrome starts a headless browser for the test, with a fresh profile,
// and returns its context, which ends after timeout or with the test.
func chrome(t *testing.T, browser string, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		// The server's certificate is self-signed for this test's data dir.
		chromedp.Flag("ignore-certificate-errors", true),
		// No traffic beyond loopback: this machine has no other network.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	// Started now, with this context: a browser started by the first
	// action would end with that action's context, which may be shorter.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	return ctx
}

// TestConsentPageInBrowser logs in and allows at the consent page in
// headless Chromium, and checks the browser lands on the client's
// callback with a code that redeems. A screenshot of the consent page is
// written to the test's temp dir.
func TestConsentPageInBrowser(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		t.Skip("no Chromium or Chrome installed (apt-get install chromium); .ci/run installs it, so CI runs this test")
	}
	e := newEnv(t)
	if r := e.run("correct horse battery\n", "user", "add", "--username", "ann", "--password-stdin"); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	got := make(chan url.Values, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Query():
		default:
		}
		fmt.Fprint(w, "<!doctype html><title>callback</title><p id=done>signed in</p>")
	}))
	defer callback.Close()
	redirectURI := callback.URL + "/callback"

	var c client
	e.jsonOK(&c, "client", "create", "--name", "Photo Printer", "--type", "web",
		"--redirect-uri", redirectURI, "--scope", "profile:read", "--json")
	s := e.startServer()
	conf := oauth2.Config{
		ClientID: c.ClientID, ClientSecret: *c.ClientSecret, RedirectURL: redirectURI, Scopes: []string{"profile:read"},
		Endpoint: oauth2.Endpoint{AuthURL: s.url + "/oauth/authorize", TokenURL: s.url + "/oauth/token"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(verifier))

	ctx := chrome(t, browser, 90*time.Second)
	err := chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	if err != nil {
		t.Fatalf("browser: open consent page: %v\nserver log:\n%s", err, s.stderr)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatalf("browser: read heading: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#username"), "ann"),
		chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("button[value=allow]")),
		chromedp.WaitVisible(chromedp.CSS("#done")),
	)
	if err != nil {
		t.Fatalf("browser: log in and allow: %v\nserver log:\n%s", err, s.stderr)
	}
	if len(shot) > 0 {
		path := filepath.Join(t.TempDir(), "consent.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("consent page screenshot: %s", path)
		// To look at it after the run, name a directory to copy it to.
		if dir := os.Getenv("AUDEXUM_TEST_ARTIFACTS"); dir != "" {
			os.WriteFile(filepath.Join(dir, "consent.png"), shot, 0o644)
		}
	}
	if !strings.Contains(heading, "Photo Printer") {
		t.Errorf("consent heading = %q, want the client's name", heading)
	}
	var q url.Values
	select {
	case q = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the browser never reached the callback")
	}
	if q.Get("state") != "browser-state" || q.Get("iss") != s.issuer || q.Get("code") == "" {
		t.Fatalf("callback query = %v", q)
	}
	xctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
	tok, err := conf.Exchange(xctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if code, body, _ := s.do(t, "GET", "/v1/user/profile", tok.AccessToken, nil); code != 200 || !strings.Contains(body, `"username":"ann"`) {
		t.Errorf("profile: %d %s", code, body)
	}
}
