package main

import (
	"slices"
	"testing"
)

const mod = "github.com/audexum/auth"

func TestChangeNames(t *testing.T) {
	for _, tc := range []struct {
		change string
		want   []string
	}{
		{"ErrNoCredential: removed", []string{"auth.ErrNoCredential"}},
		{"Config.Realm: removed", []string{"auth.Config.Realm"}},
		{"(*Authenticator).Handler: changed from func(net/http.Handler) net/http.Handler to func()",
			[]string{"auth.(*Authenticator).Handler", "auth.Authenticator.Handler"}},
		{"./apikey.VerifierConfig.CacheTTL: removed", []string{"apikey.VerifierConfig.CacheTTL"}},
		{"./portal/portaltest.(*Store).SetError: changed from func(error) to func(error, bool)",
			[]string{"portaltest.(*Store).SetError", "portaltest.Store.SetError"}},
		// Type parameters are dropped from the plain name.
		{"./jwt.(*Cache[K]).Get: removed", []string{"jwt.(*Cache[K]).Get", "jwt.Cache.Get"}},
		// A method removed through embedding names the method itself.
		{"./oauth.(*Base).Close, method set of *Server: removed", []string{"oauth.(*Base).Close", "oauth.Base.Close"}},
		{"package github.com/audexum/auth/oauth/oauthtest: removed", []string{"github.com/audexum/auth/oauth/oauthtest"}},
		// An object of another package, by its full path.
		{"golang.org/x/time/rate.Limit: changed from float64 to int", []string{"rate.Limit"}},
	} {
		if got := changeNames(tc.change, mod); !slices.Equal(got, tc.want) {
			t.Errorf("changeNames(%q): got %q, want %q", tc.change, got, tc.want)
		}
	}
}

const changelog = `# Changelog

Text above the sections names ` + "`auth.Above`" + `: it does not count.

## Unreleased

### Breaking

<!-- A placeholder naming ` + "`auth.InComment`" + ` does not count. -->
- ` + "`apikey.VerifierConfig.CacheTTL`" + ` is now ` + "`apikey.VerifierConfig.RememberFor`" + `.
- auth.ErrOld, at the end of a sentence: auth.Ends.

### Added

- ` + "`auth.OnlyAdded`" + `

### Removed

- ` + "`github.com/audexum/auth/oauth/oauthtest`" + `
- apikey.Config

## Before

### Breaking

- ` + "`auth.Released`" + `
`

func TestAcknowledged(t *testing.T) {
	text := unreleasedLists(changelog)
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"apikey.VerifierConfig.CacheTTL", true},
		{"auth.ErrOld", true},
		{"auth.Ends", true}, // a full stop is not a selector
		{"github.com/audexum/auth/oauth/oauthtest", true},
		{"apikey.Config", true},
		{"apikey.VerifierConfig", false},   // only a longer name mentions it
		{"VerifierConfig.CacheTTL", false}, // part of a longer name
		{"auth.Err", false},                // a prefix of a name
		{"auth.InComment", false},          // in an HTML comment
		{"auth.OnlyAdded", false},          // listed under Added
		{"auth.Above", false},              // outside Unreleased
		{"auth.Released", false},           // in an earlier section
		{"apikey.Config.Field", false},     // the type is named, not its field
	} {
		if got := acknowledged(text, []string{tc.name}); got != tc.want {
			t.Errorf("acknowledged(%q): got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseReport(t *testing.T) {
	report := `Incompatible changes:
- ErrOld: removed
- ./apikey.Config.TTL: removed
Compatible changes:
- ErrNew: added
`
	inc, comp := parseReport(report)
	if want := []string{"ErrOld: removed", "./apikey.Config.TTL: removed"}; !slices.Equal(inc, want) {
		t.Errorf("incompatible: got %q, want %q", inc, want)
	}
	if want := []string{"ErrNew: added"}; !slices.Equal(comp, want) {
		t.Errorf("compatible: got %q, want %q", comp, want)
	}
	// A line apidiff's format does not explain is not dropped.
	if inc, _ := parseReport("! second, different message\n"); len(inc) != 1 {
		t.Errorf("unknown line: got %q, want it as incompatible", inc)
	}
}
