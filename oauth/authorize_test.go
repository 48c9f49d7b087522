package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// TestAuthorizeEndpoint is the hostile-request table of the authorization
// endpoint. Problems with the client or the redirect URI get a 400 page
// and never a redirect (the redirect would go to an unverified place);
// everything else is redirected with error, state and iss.
func TestAuthorizeEndpoint(t *testing.T) {
	tests := []struct {
		name string
		// edit changes the valid request of the web client.
		edit   func(f *fixture, v url.Values)
		raw    func(f *fixture) *http.Request // instead of edit
		status int
		// want are the parameters of the redirect; nil for a page.
		want url.Values
		// base is the redirect target without its query; webRedirect if
		// empty.
		base string
	}{
		{
			name:   "valid request is approved",
			edit:   func(f *fixture, v url.Values) {},
			status: 303, want: url.Values{"code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "denied by the user",
			edit:   func(f *fixture, v url.Values) {},
			raw:    func(f *fixture) *http.Request { return authorizeRequest(withDeny(f.authorizeValues())) },
			status: 303, want: url.Values{"error": {"access_denied"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			// The registered URI's own query is kept.
			name:   "registered redirect URI with a query",
			edit:   func(f *fixture, v url.Values) { v.Set("redirect_uri", webRedirectQuery) },
			status: 303, want: url.Values{"tenant": {"a b"}, "code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}},
			base: "https://app.example/cb2",
		},
		{
			// State is echoed exactly, whatever it holds.
			name:   "state with reserved characters",
			edit:   func(f *fixture, v url.Values) { v.Set("state", "a&b=c d/é+%"+strings.Repeat("s", 600)) },
			status: 303, want: url.Values{"code": {"*"}, "state": {"a&b=c d/é+%" + strings.Repeat("s", 600)}, "iss": {testIssuer}},
		},
		{
			name:   "no state",
			edit:   func(f *fixture, v url.Values) { v.Del("state") },
			status: 303, want: url.Values{"code": {"*"}, "iss": {testIssuer}},
		},
		{
			name: "POST form",
			raw: func(f *fixture) *http.Request {
				r := httptest.NewRequest(http.MethodPost, "https://as.example/oauth/authorize", strings.NewReader(f.authorizeValues().Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			status: 303, want: url.Values{"code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			// RFC 8252 §7.3: any port on a loopback IP redirect URI.
			name: "native app on an ephemeral loopback port",
			edit: func(f *fixture, v url.Values) {
				v.Set("client_id", f.mobID)
				v.Set("redirect_uri", "http://127.0.0.1:49152/cb")
				v.Set("scope", "read")
			},
			status: 303, want: url.Values{"code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}},
			base: "http://127.0.0.1:49152/cb",
		},
		{
			name:   "no scope gets the client's default",
			edit:   func(f *fixture, v url.Values) { v.Del("scope") },
			status: 303, want: url.Values{"code": {"*"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		// Client and redirect URI problems: a page, never a redirect.
		{name: "unknown client", edit: func(f *fixture, v url.Values) { v.Set("client_id", "adxc_unknown") }, status: 400},
		{name: "client_id missing", edit: func(f *fixture, v url.Values) { v.Del("client_id") }, status: 400},
		{name: "redirect_uri missing", edit: func(f *fixture, v url.Values) { v.Del("redirect_uri") }, status: 400},
		{name: "redirect_uri with an extra path segment", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", webRedirect+"/evil") }, status: 400},
		{name: "redirect_uri with a trailing slash", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", webRedirect+"/") }, status: 400},
		{name: "redirect_uri on another port", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example:8443/callback") }, status: 400},
		{name: "redirect_uri with the default port spelled out", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example:443/callback") }, status: 400},
		{name: "redirect_uri with another scheme", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "http://app.example/callback") }, status: 400},
		{name: "redirect_uri with an added query", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", webRedirect+"?next=https://evil.example") }, status: 400},
		{name: "redirect_uri with a changed query", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example/cb2?tenant=b") }, status: 400},
		{name: "redirect_uri with a fragment", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", webRedirect+"#x") }, status: 400},
		{name: "redirect_uri with userinfo", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example@evil.example/callback") }, status: 400},
		{name: "redirect_uri https://good@evil", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://good@evil") }, status: 400},
		{name: "redirect_uri with a percent-encoded path", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example/%63allback") }, status: 400},
		{name: "redirect_uri with an encoded slash", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example%2Fcallback") }, status: 400},
		{name: "redirect_uri with an upper-case host", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://APP.example/callback") }, status: 400},
		{name: "redirect_uri with dot segments", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", "https://app.example/x/../callback") }, status: 400},
		{name: "redirect_uri of another client", edit: func(f *fixture, v url.Values) { v.Set("redirect_uri", mobileRedirect) }, status: 400},
		{
			// Loopback port freedom is for http on an IP literal only.
			name: "loopback redirect_uri on another host",
			edit: func(f *fixture, v url.Values) {
				v.Set("client_id", f.mobID)
				v.Set("redirect_uri", "http://127.0.0.2:49152/cb")
			},
			status: 400,
		},
		{
			name: "loopback redirect_uri with userinfo",
			edit: func(f *fixture, v url.Values) {
				v.Set("client_id", f.mobID)
				v.Set("redirect_uri", "http://127.0.0.1@evil.example:80/cb")
			},
			status: 400,
		},
		{
			// RFC 6749 §3.1: a repeated parameter; the page, since even
			// the client cannot be trusted.
			name: "repeated client_id",
			raw: func(f *fixture) *http.Request {
				r := authorizeRequest(f.authorizeValues())
				r.URL.RawQuery += "&client_id=" + url.QueryEscape(f.mobID)
				return r
			},
			status: 400,
		},
		{
			name: "repeated redirect_uri",
			raw: func(f *fixture) *http.Request {
				r := authorizeRequest(f.authorizeValues())
				r.URL.RawQuery += "&redirect_uri=" + url.QueryEscape(webRedirectQuery)
				return r
			},
			status: 400,
		},
		{
			name: "malformed escape in the query",
			raw: func(f *fixture) *http.Request {
				r := authorizeRequest(f.authorizeValues())
				r.URL.RawQuery += "&x=%zz"
				return r
			},
			status: 400,
		},
		{
			name: "PUT",
			raw: func(f *fixture) *http.Request {
				return httptest.NewRequest(http.MethodPut, "https://as.example/oauth/authorize?"+f.authorizeValues().Encode(), nil)
			},
			status: 405,
		},
		// Other problems are redirected with error, state and iss.
		{
			name:   "implicit grant (response_type=token)",
			edit:   func(f *fixture, v url.Values) { v.Set("response_type", "token") },
			status: 303, want: url.Values{"error": {"unsupported_response_type"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "response_type missing",
			edit:   func(f *fixture, v url.Values) { v.Del("response_type") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE missing",
			edit:   func(f *fixture, v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE plain",
			edit:   func(f *fixture, v url.Values) { v.Set("code_challenge_method", "plain") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE method missing",
			edit:   func(f *fixture, v url.Values) { v.Del("code_challenge_method") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE challenge too short",
			edit:   func(f *fixture, v url.Values) { v.Set("code_challenge", testChallenge[:42]) },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE challenge with padding",
			edit:   func(f *fixture, v url.Values) { v.Set("code_challenge", testChallenge[:42]+"=") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "PKCE method s256 in lower case",
			edit:   func(f *fixture, v url.Values) { v.Set("code_challenge_method", "s256") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "scope beyond the client's",
			edit:   func(f *fixture, v url.Values) { v.Set("scope", "read admin") },
			status: 303, want: url.Values{"error": {"invalid_scope"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "malformed scope",
			edit:   func(f *fixture, v url.Values) { v.Set("scope", "read\x01") },
			status: 303, want: url.Values{"error": {"invalid_scope"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			// The client and redirect URI are unambiguous: the error goes
			// back to the client.
			name: "repeated scope",
			raw: func(f *fixture) *http.Request {
				r := authorizeRequest(f.authorizeValues())
				r.URL.RawQuery += "&scope=admin"
				return r
			},
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
		{
			name:   "response_mode fragment",
			edit:   func(f *fixture, v url.Values) { v.Set("response_mode", "fragment") },
			status: 303, want: url.Values{"error": {"invalid_request"}, "state": {"xyz"}, "iss": {testIssuer}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var r *http.Request
			switch {
			case tt.raw != nil:
				r = tt.raw(f)
			default:
				v := f.authorizeValues()
				tt.edit(f, v)
				r = authorizeRequest(v)
			}
			w := f.serve(r)
			if w.Code != tt.status {
				t.Errorf("status: got %d, want %d", w.Code, tt.status)
			}
			h := w.Header()
			for name, want := range map[string]string{
				"X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer",
				"Cache-Control":   "no-store",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: got %q, want %q", name, got, want)
				}
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy: got %q, want frame-ancestors 'none'", csp)
			}
			loc := h.Get("Location")
			if tt.want == nil {
				if loc != "" {
					t.Errorf("Location: got %q, want no redirect", loc)
				}
				if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type: got %q, want an HTML page", ct)
				}
				return
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatalf("Location %q: %v", loc, err)
			}
			base := tt.base
			if base == "" {
				base = webRedirect
			}
			if got := strings.SplitN(loc, "?", 2)[0]; got != base {
				t.Errorf("redirect target: got %q, want %q", got, base)
			}
			got := u.Query()
			if c := got.Get("code"); c != "" && tt.want.Get("code") == "*" {
				got.Set("code", "*")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("redirect parameters (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthorizeClientWithoutCodeGrant: a client stored without the
// authorization_code grant (the ClientManager does not make one, but a store
// filled by other means can hold it) gets no code, even with a registered
// redirect URI: the error goes back to it as unauthorized_client.
func TestAuthorizeClientWithoutCodeGrant(t *testing.T) {
	f := newFixture(t)
	c := &oauth.Client{ID: "adxc_nocodegrant0000000", Name: "Backend", Type: oauth.ClientWeb,
		RedirectURIs: []string{webRedirect}, GrantTypes: []string{oauth.GrantClientCredentials},
		Scopes: auth.MustScopes("read", "write")}
	if err := f.clients.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	v := f.authorizeValues()
	v.Set("client_id", c.ID)
	w := f.serve(authorizeRequest(v))
	u, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || u.Query().Get("error") != "unauthorized_client" || u.Query().Get("code") != "" {
		t.Errorf("got %d to %s, want 303 with error=unauthorized_client and no code", w.Code, u.Redacted())
	}
}

func withDeny(v url.Values) url.Values {
	v.Set("deny", "1")
	return v
}
