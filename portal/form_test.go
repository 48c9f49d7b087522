package portal

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/label"
	"github.com/audexum/auth/oauth"
)

var testCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "change your data"},
})

func TestParseKeyForm(t *testing.T) {
	tests := []struct {
		name, body string
		err        bool     // errForm
		fields     []string // fields with an error
		ttl        time.Duration
	}{
		{"ok", "name=k&scope=data:read&expires=90", false, nil, 90 * 24 * time.Hour},
		{"two scopes, repeated", "name=k&scope=data:read&scope=data:write&scope=data:read&expires=7", false, nil, 7 * 24 * time.Hour},
		{"description", "name=k&description=for+x&scope=data:read&expires=365", false, nil, 365 * 24 * time.Hour},
		{"empty", "", false, []string{"expires", "name", "scope"}, 0},
		// Sent twice: not a form of the portal's, whichever value wins.
		{"name twice", "name=a&name=b&scope=data:read&expires=90", true, nil, 0},
		{"expires twice", "name=a&scope=data:read&expires=7&expires=365", true, nil, 0},
		{"description with tab", "name=k&description=a%09b&scope=data:read&expires=90", false, []string{"description"}, 0},
		{"name with RLO", "name=a%E2%80%AEb&scope=data:read&expires=90", false, []string{"name"}, 0},
		{"name not UTF-8", "name=%FF&scope=data:read&expires=90", false, []string{"name"}, 0},
		{"scope with space", "name=k&scope=data:read+data:write&expires=90", false, []string{"scope"}, 0},
		{"empty scope", "name=k&scope=&expires=90", false, []string{"scope"}, 0},
		{"days not offered", "name=k&scope=data:read&expires=91", false, []string{"expires"}, 0},
		{"days as a duration", "name=k&scope=data:read&expires=2160h", false, []string{"expires"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			f, errs, err := parseKeyForm(v, testCatalog)
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error %v", err, tt.err)
			}
			var got []string
			for k := range errs {
				got = append(got, k)
			}
			slices.Sort(got)
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("fields with errors: got %v, want %v", got, tt.fields)
			}
			if err == nil && errs == nil && f.TTL != tt.ttl {
				t.Errorf("TTL: got %v, want %v", f.TTL, tt.ttl)
			}
		})
	}
}

func TestParseGrace(t *testing.T) {
	for body, want := range map[string]time.Duration{"grace=0s": 0, "grace=1h": time.Hour, "grace=24h": 24 * time.Hour, "grace=168h": 168 * time.Hour} {
		v, _ := url.ParseQuery(body)
		if got, err := parseGrace(v); err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", body, got, err, want)
		}
	}
	// Only the offered choices: not any duration, not twice, not none.
	for _, body := range []string{"", "grace=", "grace=0", "grace=2h", "grace=-1h", "grace=169h", "grace=1h&grace=0s", "grace=1H"} {
		v, _ := url.ParseQuery(body)
		if _, err := parseGrace(v); !errors.Is(err, errForm) {
			t.Errorf("%q: got %v, want errForm", body, err)
		}
	}
}

func TestParseAppForm(t *testing.T) {
	tests := []struct {
		name, body string
		err        bool
		fields     []string
		uriErrors  []bool
	}{
		{"web", "name=a&type=web&scope=data:read&redirect_uri=https://a.example/cb&redirect_uri=", false, nil, nil},
		{"server", "name=a&type=server&scope=data:read&redirect_uri=&redirect_uri=", false, nil, nil},
		{"mobile loopback", "name=a&type=mobile&scope=data:read&redirect_uri=http://127.0.0.1/cb", false, nil, nil},
		{"bad and good", "name=a&type=web&scope=data:read&redirect_uri=https://a.example/cb&redirect_uri=javascript:alert(1)", false, nil, []bool{false, true}},
		{"type unknown", "name=a&type=spa&scope=data:read&redirect_uri=https://a.example/cb", false, []string{"type"}, nil},
		{"type twice", "name=a&type=web&type=server&scope=data:read", true, nil, nil},
		{"action unknown", "name=a&type=web&action=delete", true, nil, nil},
		{"too many fields", "name=a&type=web" + strings.Repeat("&redirect_uri=", 22), true, nil, nil},
		{"21 URIs", "name=a&type=web&scope=data:read" + manyURIs(21), false, []string{"redirect_uri"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			_, errs, err := parseAppForm(v, testCatalog)
			if (err != nil) != tt.err {
				t.Fatalf("got error %v, want error %v", err, tt.err)
			}
			var got []string
			var uris []bool
			if errs != nil {
				for k := range errs.fieldErrors {
					got = append(got, k)
				}
				bad := false
				for _, m := range errs.URIs {
					uris = append(uris, m != "")
					bad = bad || m != ""
				}
				if !bad {
					uris = nil
				}
			}
			slices.Sort(got)
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") || !slices.Equal(uris, tt.uriErrors) {
				t.Errorf("errors: got fields %v and URIs %v, want %v and %v", got, uris, tt.fields, tt.uriErrors)
			}
		})
	}
}

func manyURIs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "&redirect_uri=https://a.example/%d", i)
	}
	return b.String()
}

// The fuzz targets feed form bodies to the parsers. Whatever the body,
// a parser does not panic, and what it accepts is what the stores may be
// given: valid names, catalog scopes (at least one), offered lifetimes,
// redirect URIs the registry takes, in numbers that fit the type.

func FuzzParseKeyForm(f *testing.F) {
	for _, s := range []string{"name=k&scope=data:read&expires=90", "name=%FF&scope=x", "name=a&name=b", "scope=data:read&scope=data:read&expires=7&name=%E2%80%AE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		k, errs, err := parseKeyForm(v, testCatalog)
		if err != nil {
			if !errors.Is(err, errForm) {
				t.Fatalf("error %v is not errForm", err)
			}
			return
		}
		if errs != nil {
			return
		}
		if !label.Valid(k.Name, 200) || (k.Description != "" && !label.Valid(k.Description, 2000)) {
			t.Fatalf("accepted name %q, description %q", k.Name, k.Description)
		}
		if k.Scopes.Len() == 0 || testCatalog.Check(k.Scopes) != nil {
			t.Fatalf("accepted scopes %q", k.Scopes)
		}
		if _, ok := pick(expiryChoices, k.Expires); !ok || k.TTL <= 0 {
			t.Fatalf("accepted expiry %q (%v)", k.Expires, k.TTL)
		}
	})
}

func FuzzParseAppForm(f *testing.F) {
	for _, s := range []string{
		"name=a&type=web&scope=data:read&redirect_uri=https://a.example/cb",
		"name=a&type=server&scope=data:write&redirect_uri=",
		"name=a&type=mobile&redirect_uri=http://[::1]:8080/cb&redirect_uri=http://127.0.0.1/cb&action=add-uri",
		"name=a&type=web&redirect_uri=https://a.example/cb%23x&redirect_uri=https://a.example/cb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		a, errs, err := parseAppForm(v, testCatalog)
		if err != nil {
			if !errors.Is(err, errForm) {
				t.Fatalf("error %v is not errForm", err)
			}
			return
		}
		if errs != nil {
			if len(errs.URIs) != len(a.URIs) {
				t.Fatalf("%d URI errors for %d URIs", len(errs.URIs), len(a.URIs))
			}
			return
		}
		if a.More {
			return
		}
		if !label.Valid(a.Name, 200) || a.Scopes.Len() == 0 || testCatalog.Check(a.Scopes) != nil {
			t.Fatalf("accepted %+v", a)
		}
		switch a.Type {
		case oauth.ClientServer:
			if len(a.URIs) != 0 {
				t.Fatalf("server app with redirect URIs %q", a.URIs)
			}
		case oauth.ClientWeb, oauth.ClientMobile:
			if len(a.URIs) == 0 || len(a.URIs) > maxRedirectURIs {
				t.Fatalf("%s app with %d redirect URIs", a.Type, len(a.URIs))
			}
		default:
			t.Fatalf("accepted type %q", a.Type)
		}
		seen := map[string]bool{}
		for _, u := range a.URIs {
			if err := oauth.ValidateRedirectURI(u); err != nil || seen[u] {
				t.Fatalf("accepted redirect URI %q (%v, twice: %v)", u, err, seen[u])
			}
			seen[u] = true
		}
	})
}

func FuzzParseGrace(f *testing.F) {
	for _, s := range []string{"grace=0s", "grace=168h", "grace=1h&grace=1h", "grace=-0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		d, err := parseGrace(v)
		if err != nil {
			if !errors.Is(err, errForm) {
				t.Fatalf("error %v is not errForm", err)
			}
			return
		}
		if d < 0 || d > 7*24*time.Hour {
			t.Fatalf("accepted grace %v", d)
		}
	})
}

// FuzzSessionID: a cookie value reaches the store only as the hash of a
// well-formed session ID.
func FuzzSessionID(f *testing.F) {
	id, _ := newSessionID()
	for _, s := range []string{id, "", strings.Repeat("A", 43), strings.Repeat("A", 42) + "=", strings.Repeat("é", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !validSessionID(s) {
			return
		}
		if len(s) != 43 || strings.Trim(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_") != "" {
			t.Fatalf("accepted %q", s)
		}
	})
}

func TestValidUsername(t *testing.T) {
	tests := []struct {
		u  string
		ok bool
	}{
		{"alice", true},
		{"alice.smith-2@example.com", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"al ice", false},      // space
		{"alice\x00", false},   // NUL
		{"аlice", false},       // Cyrillic а: looks like alice
		{"alice|x", false},     // the attempt counter's key separator
		{"<script>", false},    //
		{"alice\u202e", false}, // right-to-left override
	}
	for _, tt := range tests {
		if got := validUsername(tt.u); got != tt.ok {
			t.Errorf("validUsername(%q): got %v, want %v", tt.u, got, tt.ok)
		}
	}
}
