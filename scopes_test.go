package auth

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil with err
		err  bool
	}{
		{in: "", want: []string{}},
		{in: "read", want: []string{"read"}},
		{in: "write read", want: []string{"read", "write"}},
		{in: "read read write read", want: []string{"read", "write"}},
		{in: "data:read profile:read", want: []string{"data:read", "profile:read"}},
		{in: "a!#[]~", want: []string{"a!#[]~"}},
		{in: "Read read", want: []string{"Read", "read"}}, // case-sensitive: two tokens
		// Empty tokens: leading, trailing, doubled space.
		{in: " read", err: true},
		{in: "read ", err: true},
		{in: "read  write", err: true},
		{in: " ", err: true},
		// Characters outside %x21 / %x23-5B / %x5D-7E.
		{in: `a"b`, err: true},
		{in: `a\b`, err: true},
		{in: "a\tb", err: true},
		{in: "a\x00", err: true},
		{in: "réad", err: true},
		{in: "a\x7f", err: true},
		// Limits.
		{in: strings.Repeat("a", MaxScopeLength), want: []string{strings.Repeat("a", MaxScopeLength)}},
		{in: strings.Repeat("a", MaxScopeLength+1), err: true},
		{in: strings.TrimSpace(strings.Repeat("x ", MaxScopes+1)), err: true},
		{in: strings.Repeat("x", 1<<20), err: true},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := ParseScopes(tt.in)
			if tt.err {
				if !errors.Is(err, ErrInvalidScope) {
					t.Errorf("err = %v, want ErrInvalidScope", err)
				}
				if err != nil && strings.Contains(err.Error(), tt.in) && tt.in != "" && tt.in != " " {
					t.Errorf("error %q echoes the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Slice()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestScopesSet(t *testing.T) {
	s := MustScopes("read", "write", "read")
	if s.Len() != 2 || s.String() != "read write" {
		t.Errorf("got %d %q, want 2 \"read write\"", s.Len(), s)
	}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"Has read", s.Has("read"), true},
		{"Has Read", s.Has("Read"), false},
		{"Has read:all", s.Has("read:all"), false},
		{"HasAll read write", s.HasAll("read", "write"), true},
		{"HasAll read admin", s.HasAll("read", "admin"), false},
		{"HasAll none", s.HasAll(), true},
		{"HasAny admin write", s.HasAny("admin", "write"), true},
		{"HasAny none", s.HasAny(), false},
		{"Includes subset", s.Includes(MustScopes("write")), true},
		{"Includes superset", s.Includes(MustScopes("write", "x")), false},
		{"Equal", s.Equal(MustScopes("write", "read")), true},
		{"zero Has", Scopes{}.Has(""), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := s.Intersect(MustScopes("write", "admin")).String(); got != "write" {
		t.Errorf("Intersect = %q, want write", got)
	}
	// Slice is a copy: changing it does not change the set.
	sl := s.Slice()
	sl[0] = "admin"
	if s.Has("admin") {
		t.Error("Slice aliases the set")
	}
	var u Scopes
	if err := u.UnmarshalText([]byte("b a")); err != nil || u.String() != "a b" {
		t.Errorf("UnmarshalText = %q, %v", u, err)
	}
	if err := u.UnmarshalText([]byte("a  b")); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("UnmarshalText bad = %v, want ErrInvalidScope", err)
	}
}

func TestRequireScopesPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"none":          func() { RequireScopes() },
		"empty":         func() { RequireScopes("") },
		"space":         func() { RequireScopes("read write") },
		"quote":         func() { RequireAnyScope(`a"b`) },
		"nil handler":   func() { RequireScopes("read")(nil) },
		"MustScopes":    func() { MustScopes("a b") },
		"any none":      func() { RequireAnyScope() },
		"non-ascii any": func() { RequireAnyScope("ü") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestRequireScopes: every scope named is needed, not one of them; each
// row names two, so "any of" cannot pass for "all of".
func TestRequireScopes(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{})
	tests := []struct {
		cred   string // k_good holds read and write; k_readall holds read:all
		scopes []string
		want   int
	}{
		{"k_good", []string{"read", "write"}, 200},
		{"k_good", []string{"write", "read"}, 200},
		{"k_good", []string{"read", "admin"}, 403},
		{"k_good", []string{"admin", "write"}, 403},
		// read:all grants neither read nor all.
		{"k_readall", []string{"read:all", "read"}, 403},
	}
	for _, tt := range tests {
		h := a.Handler(RequireScopes(tt.scopes...)(okHandler()))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tt.cred)
		got := serve(h, r)
		if got.Status != tt.want {
			t.Errorf("%s with all of %v: status %d, want %d", tt.cred, tt.scopes, got.Status, tt.want)
		}
		// The refusal names everything the route needs.
		if want := `scope="` + MustScopes(tt.scopes...).String() + `"`; tt.want == 403 && !strings.Contains(got.WWWAuth, want) {
			t.Errorf("%s with all of %v: WWW-Authenticate %q, want it to hold %s", tt.cred, tt.scopes, got.WWWAuth, want)
		}
	}
}

func TestRequireAnyScope(t *testing.T) {
	a, _ := newTestAuthenticator(t, Config{})
	tests := []struct {
		cred   string
		scopes []string
		want   int
	}{
		{"k_good", []string{"admin", "write"}, 200},
		{"k_good", []string{"admin", "root"}, 403},
		{"k_readall", []string{"read", "read:all"}, 200},
		{"k_readall", []string{"read", "write"}, 403},
	}
	for _, tt := range tests {
		h := a.Handler(RequireAnyScope(tt.scopes...)(okHandler()))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tt.cred)
		if got := serve(h, r); got.Status != tt.want {
			t.Errorf("%s with any of %v: status %d, want %d", tt.cred, tt.scopes, got.Status, tt.want)
		}
	}
}

// FuzzParseScopes checks that no input panics the parser, errors are
// ErrInvalidScope, and a parsed set re-serialises to a string that parses
// to the same set.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "read", "read write", "b a b", " read", "read ", "a  b", `a"b`, "a\\b", "réad", "data:read profile:read", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseScopes(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("error %v is not ErrInvalidScope", err)
			}
			return
		}
		again, err := ParseScopes(s.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", s.String(), err)
		}
		if !again.Equal(s) {
			t.Fatalf("round trip %q → %q", s, again)
		}
		for tok := range s.All() {
			if !s.Has(tok) || strings.Contains(tok, " ") {
				t.Fatalf("bad token %q", tok)
			}
		}
	})
}

func TestRequireUser(t *testing.T) {
	h := RequireUser(okHandler())
	tests := []struct {
		name string
		p    *Principal
		want result
	}{
		{"no principal", nil, noCred401},
		{"api key", &Principal{Method: MethodAPIKey, Scopes: MustScopes("profile:read")},
			result{Status: 403, WWWAuth: `Bearer realm="api", error="insufficient_scope"`, Body: wantScope}},
		{"client credentials", &Principal{Method: MethodClientCredentials},
			result{Status: 403, WWWAuth: `Bearer realm="api", error="insufficient_scope"`, Body: wantScope}},
		{"user", &Principal{Method: MethodAuthorizationCode}, ok200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.p != nil {
				r = r.WithContext(NewContext(r.Context(), tt.p))
			}
			if diff := cmp.Diff(tt.want, serve(h, r)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
