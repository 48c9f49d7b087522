package auth

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ScopeInfo is one entry of a [ScopeCatalog]: a scope and what it lets a
// credential do.
type ScopeInfo struct {
	// Name is the scope token, as in a token's "scope" claim and in
	// [RequireScopes]. Case-sensitive.
	Name string
	// Description says in one line, in words an end user understands,
	// what the scope lets an application do ("read your data"). Consent
	// pages show it.
	Description string
}

// ScopeCatalog is the set of scopes a server knows, each with a one-line
// description: its scope policy, declared once and handed to every place
// that issues a credential (apikey.ManagerConfig, oauth.Config,
// oauth.ClientManagerConfig) so that no API key, client or access token ever
// carries a scope the server does not define, and so that consent pages
// describe scopes in one consistent way.
//
// The catalog says which scopes exist, not who may have them: deciding
// which of them a caller gets stays with the application.
//
// Scopes are case-sensitive, as everywhere in this module (RFC 6749 §3.3
// compares them as strings): "Data:Read" is not "data:read", and
// [ScopeCatalog.Check] says so when it sees such a near miss.
//
// Create one with [NewScopeCatalog]; it is immutable and safe for
// concurrent use. A nil *ScopeCatalog has no methods that work: the
// configurations that take one say what leaving it nil means.
type ScopeCatalog struct {
	infos []ScopeInfo // sorted by name
	names Scopes
	known string // "a, b, c", for error messages
}

// NewScopeCatalog returns the catalog of the given scopes. It fails with
// an error wrapping [ErrInvalidConfig] if there is no scope, more than
// [MaxScopes], a name that is not a valid scope token (also wrapping
// [ErrInvalidScope]), a name given twice, or a description that is empty,
// not valid UTF-8, or holds a control character (so a line break) or
// leading or trailing space.
func NewScopeCatalog(scopes []ScopeInfo) (*ScopeCatalog, error) {
	if len(scopes) == 0 {
		// An empty catalog would refuse every scoped credential: far more
		// likely an unloaded configuration than a policy.
		return nil, fmt.Errorf("%w: a scope catalog needs at least one scope", ErrInvalidConfig)
	}
	if len(scopes) > MaxScopes {
		return nil, fmt.Errorf("%w: more than %d scopes in the catalog", ErrInvalidConfig, MaxScopes)
	}
	infos := slices.Clone(scopes)
	names := make([]string, len(infos))
	for i, si := range infos {
		// The names and descriptions are the program's configuration, not
		// request input, so the errors quote them.
		if err := checkScopeToken(si.Name); err != nil {
			return nil, fmt.Errorf("%w: scope %d (%q): %w", ErrInvalidConfig, i, si.Name, err)
		}
		if err := checkScopeDescription(si.Description); err != nil {
			return nil, fmt.Errorf("%w: scope %q: %s", ErrInvalidConfig, si.Name, err)
		}
		names[i] = si.Name
	}
	slices.SortFunc(infos, func(a, b ScopeInfo) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(infos); i++ {
		if infos[i].Name == infos[i-1].Name {
			return nil, fmt.Errorf("%w: scope %q is in the catalog twice", ErrInvalidConfig, infos[i].Name)
		}
	}
	c := &ScopeCatalog{infos: infos, names: newSorted(names)}
	c.known = strings.Join(c.names.toks, ", ")
	return c, nil
}

// MustScopeCatalog is like [NewScopeCatalog] for a catalog written as a
// literal in program code. It panics if NewScopeCatalog fails.
func MustScopeCatalog(scopes []ScopeInfo) *ScopeCatalog {
	c, err := NewScopeCatalog(scopes)
	if err != nil {
		panic(err)
	}
	return c
}

func checkScopeDescription(d string) error {
	switch {
	case d == "":
		return fmt.Errorf("empty description")
	case !utf8.ValidString(d):
		return fmt.Errorf("description is not valid UTF-8")
	case strings.TrimSpace(d) != d:
		return fmt.Errorf("description has leading or trailing space")
	}
	for _, r := range d {
		if unicode.IsControl(r) {
			return fmt.Errorf("description must be one line without control characters")
		}
	}
	return nil
}

// Check reports whether every scope of s is in the catalog. If one is
// not, it returns an error wrapping [ErrUnknownScope] that names the
// first unknown scope (in sorted order) and lists the known ones, or, when
// the unknown scope differs from a known one only in case, says that
// scopes are case-sensitive and suggests the known one. The empty set
// passes.
//
// The message quotes the scope it refuses: use Check where the scopes
// come from an operator or a form that shows the error back, and compare
// with [ScopeCatalog.Scopes] where they come from a request whose errors
// are logged.
func (c *ScopeCatalog) Check(s Scopes) error {
	for tok := range s.All() {
		if c.names.Has(tok) {
			continue
		}
		for _, known := range c.names.toks {
			if strings.EqualFold(tok, known) {
				return fmt.Errorf("%w %q; scopes are case-sensitive; did you mean %s?", ErrUnknownScope, tok, known)
			}
		}
		return fmt.Errorf("%w %q; known scopes: %s", ErrUnknownScope, tok, c.known)
	}
	return nil
}

// Scopes returns the names of the catalog's scopes as a set, for example
// for a server's "scopes_supported" metadata, or to test a request's
// scopes with [Scopes.Includes] without building an error.
func (c *ScopeCatalog) Scopes() Scopes { return c.names }

// Describe returns the description of the scope named name, and whether
// the catalog has that scope. The name is matched exactly
// (case-sensitively).
func (c *ScopeCatalog) Describe(name string) (description string, ok bool) {
	i, ok := slices.BinarySearchFunc(c.infos, name, func(si ScopeInfo, n string) int { return strings.Compare(si.Name, n) })
	if !ok {
		return "", false
	}
	return c.infos[i].Description, true
}

// All iterates over the catalog's scopes in sorted order of their names.
func (c *ScopeCatalog) All() iter.Seq[ScopeInfo] { return slices.Values(c.infos) }

// String returns the names of the catalog's scopes in sorted order,
// separated by a comma and a space, as error messages and usage texts
// list them: "data:read, data:write, profile:read".
func (c *ScopeCatalog) String() string { return c.known }
