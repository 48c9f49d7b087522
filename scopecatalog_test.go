package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var testCatalog = []ScopeInfo{
	{Name: "profile:read", Description: "see your profile"},
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "create and change your data"},
}

func TestNewScopeCatalog(t *testing.T) {
	tests := []struct {
		name string
		in   []ScopeInfo
		// want are the errors the construction error must wrap; nil for
		// success.
		want []error
		msg  string // a part of the message
	}{
		{name: "valid", in: testCatalog},
		{name: "one scope", in: []ScopeInfo{{Name: "read", Description: "read"}}},
		// A description may hold any printable text, quotes and non-ASCII
		// included: it is rendered by the application, escaped.
		{name: "printable unicode description", in: []ScopeInfo{{Name: "a", Description: `lire vos données "brutes" <b>`}}},
		// Nothing to enforce: almost certainly a configuration that was
		// not loaded, so it is refused rather than refusing every scope.
		{name: "empty", in: nil, want: []error{ErrInvalidConfig}, msg: "at least one scope"},
		{name: "empty name", in: []ScopeInfo{{Name: "", Description: "x"}}, want: []error{ErrInvalidConfig, ErrInvalidScope}},
		// Two scopes in one entry: a space is not part of a scope token.
		{name: "name with a space", in: []ScopeInfo{{Name: "data:read data:write", Description: "x"}}, want: []error{ErrInvalidConfig, ErrInvalidScope}},
		{name: "name with a quote", in: []ScopeInfo{{Name: `a"b`, Description: "x"}}, want: []error{ErrInvalidConfig, ErrInvalidScope}},
		{name: "name too long", in: []ScopeInfo{{Name: strings.Repeat("a", MaxScopeLength+1), Description: "x"}}, want: []error{ErrInvalidConfig, ErrInvalidScope}},
		{name: "duplicate", in: []ScopeInfo{{Name: "a", Description: "x"}, {Name: "b", Description: "y"}, {Name: "a", Description: "z"}}, want: []error{ErrInvalidConfig}, msg: `"a" is in the catalog twice`},
		// Case-sensitive: two different scopes, however unwise.
		{name: "case variants are distinct", in: []ScopeInfo{{Name: "a", Description: "x"}, {Name: "A", Description: "y"}}},
		{name: "empty description", in: []ScopeInfo{{Name: "a", Description: ""}}, want: []error{ErrInvalidConfig}, msg: "empty description"},
		{name: "description with a line break", in: []ScopeInfo{{Name: "a", Description: "read\nyour data"}}, want: []error{ErrInvalidConfig}, msg: "one line"},
		{name: "description with a tab", in: []ScopeInfo{{Name: "a", Description: "read\tdata"}}, want: []error{ErrInvalidConfig}},
		{name: "description of spaces", in: []ScopeInfo{{Name: "a", Description: "  "}}, want: []error{ErrInvalidConfig}},
		{name: "description with trailing space", in: []ScopeInfo{{Name: "a", Description: "read "}}, want: []error{ErrInvalidConfig}},
		{name: "description not UTF-8", in: []ScopeInfo{{Name: "a", Description: "\xff"}}, want: []error{ErrInvalidConfig}},
		{name: "too many scopes", in: manyScopes(MaxScopes + 1), want: []error{ErrInvalidConfig}},
		{name: "as many scopes as a set holds", in: manyScopes(MaxScopes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewScopeCatalog(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if c.Scopes().Len() != len(tt.in) {
					t.Errorf("got %d scopes, want %d", c.Scopes().Len(), len(tt.in))
				}
				return
			}
			if c != nil {
				t.Errorf("got a catalog, want nil")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("got error %v, want it to wrap %v", err, w)
				}
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got message %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func manyScopes(n int) []ScopeInfo {
	out := make([]ScopeInfo, n)
	for i := range out {
		out[i] = ScopeInfo{Name: "s" + strings.Repeat("x", i), Description: "d"}
	}
	return out
}

func TestNewScopeCatalogDoesNotAlias(t *testing.T) {
	in := slices.Clone(testCatalog)
	c := MustScopeCatalog(in)
	in[0].Description = "changed"
	if d, _ := c.Describe("profile:read"); d != "see your profile" {
		t.Errorf("got description %q after changing the input, want %q", d, "see your profile")
	}
}

func TestMustScopeCatalogPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("got no panic for a duplicate scope, want one")
		}
	}()
	MustScopeCatalog([]ScopeInfo{{Name: "a", Description: "x"}, {Name: "a", Description: "x"}})
}

func TestScopeCatalogCheck(t *testing.T) {
	c := MustScopeCatalog(testCatalog)
	tests := []struct {
		name string
		in   []string
		want string // the error message; "" for none
	}{
		{name: "empty set", in: nil},
		{name: "one known", in: []string{"data:read"}},
		{name: "all known", in: []string{"data:read", "data:write", "profile:read"}},
		{name: "typo", in: []string{"data:raed"}, want: `auth: unknown scope "data:raed"; known scopes: data:read, data:write, profile:read`},
		// Case-sensitive: the near miss is named, not accepted.
		{name: "case variant", in: []string{"Data:Read"}, want: `auth: unknown scope "Data:Read"; scopes are case-sensitive; did you mean data:read?`},
		{name: "upper case", in: []string{"PROFILE:READ"}, want: `auth: unknown scope "PROFILE:READ"; scopes are case-sensitive; did you mean profile:read?`},
		// A comma-joined list is one (valid, unknown) scope token.
		{name: "comma-joined", in: []string{"data:read,data:write"}, want: `auth: unknown scope "data:read,data:write"; known scopes: data:read, data:write, profile:read`},
		// Prefix and suffix of a known scope are not that scope.
		{name: "prefix of a known scope", in: []string{"data"}, want: `auth: unknown scope "data"; known scopes: data:read, data:write, profile:read`},
		// One unknown among known ones is enough; the first unknown in
		// sorted order is named.
		{name: "known and unknown", in: []string{"data:read", "zzz", "admin"}, want: `auth: unknown scope "admin"; known scopes: data:read, data:write, profile:read`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Check(MustScopes(tt.in...))
			if tt.want == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnknownScope) {
				t.Errorf("got %v, want an error wrapping ErrUnknownScope", err)
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got message %q, want %q", err, tt.want)
			}
		})
	}
}

func TestScopeCatalogDescribe(t *testing.T) {
	c := MustScopeCatalog(testCatalog)
	tests := []struct {
		name, scope, want string
		ok                bool
	}{
		{"known", "data:write", "create and change your data", true},
		{"first", "data:read", "read your data", true},
		{"last", "profile:read", "see your profile", true},
		{"unknown", "admin", "", false},
		{"case variant", "Data:Write", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Describe(tt.scope)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestScopeCatalogList(t *testing.T) {
	c := MustScopeCatalog(testCatalog)
	want := []ScopeInfo{
		{Name: "data:read", Description: "read your data"},
		{Name: "data:write", Description: "create and change your data"},
		{Name: "profile:read", Description: "see your profile"},
	}
	if diff := cmp.Diff(want, slices.Collect(c.All())); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if got, want := c.Scopes().String(), "data:read data:write profile:read"; got != want {
		t.Errorf("Scopes: got %q, want %q", got, want)
	}
	if got, want := c.String(), "data:read, data:write, profile:read"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
}
