package portal_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/audexum/auth"
	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/portal/portaltest"
)

// Mount the portal at /portal/ next to the rest of a server. Here the
// stores are portaltest's in-memory ones; a real server gives adapters
// over its own (see the package documentation). WithActor is the audit
// trail's hook: sqlstore.WithActor with the sqlstore package.
func Example() {
	st := portaltest.New(nil)
	st.AddAccount("alice", "correct horse battery staple")
	p, err := portal.New(portal.Config{
		Accounts:     st,
		Sessions:     st,
		Keys:         st,
		Applications: st,
		Usage:        st,
		ScopeCatalog: auth.MustScopeCatalog([]auth.ScopeInfo{{Name: "data:read", Description: "read your data"}}),
		WithActor:    portaltest.WithActor,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(portal.MountPath, p)

	// An https:// target: the portal serves HTTPS only.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://example.com/portal/signin", nil))
	fmt.Println(w.Code, regexp.MustCompile(`<title>(.*)</title>`).FindStringSubmatch(w.Body.String())[1])
	fmt.Println("Cache-Control:", w.Header().Get("Cache-Control"))

	// A page that needs a session sends the browser to sign in.
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://example.com/portal/keys", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))

	// Signing in sets the session cookie.
	r := httptest.NewRequest(http.MethodPost, "https://example.com/portal/signin",
		strings.NewReader(url.Values{"username": {"alice"}, "password": {"correct horse battery staple"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	c := w.Result().Cookies()[0]
	fmt.Println(w.Code, w.Header().Get("Location"), c.Name, c.Secure, c.HttpOnly)
	// Output:
	// 200 Sign in · Developer Portal
	// Cache-Control: no-store
	// 303 /portal/signin
	// 303 /portal/keys __Host-portal-session true true
}
