package auth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// authorizationSeeds are the Authorization values of the hostile table.
var authorizationSeeds = []string{
	"", "Basic dXNlcjpwYXNz", "bearer k_good", "Bearer", "Bearer ", "Bearer  k_good",
	"Bearer\tk_good", `Bearer k_go"od`, "Bearer k_go,od", `Bearer k_go\od`, "Bearer k_gööd",
	"Bearer k_go\x00od", "Bearer k_good==", "Bearer ==", "Bearer a=b", "Bearerk_good",
	"Bearer k_good  ", "Bearer eyJhbGciOi.x.y", "Bearer " + strings.Repeat("a", 4097),
	`Bearer k, realm="x"`, "BEARER X", "Bearer\x00x",
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		values []string
		want   string
		err    error
	}{
		{nil, "", ErrNoCredential},
		{[]string{""}, "", ErrNoCredential},
		{[]string{"a", "b"}, "", ErrMultipleAuthorization},
		{[]string{"Basic x"}, "", ErrUnsupportedScheme},
		{[]string{"Bear"}, "", ErrUnsupportedScheme},
		{[]string{"Bearerx y"}, "", ErrUnsupportedScheme},
		{[]string{"Bearer"}, "", ErrMalformedCredential},
		{[]string{"Bearer\tx"}, "", ErrMalformedCredential},
		{[]string{"bEaReR   abc+/=="}, "abc+/==", nil},
		{[]string{"Bearer " + strings.Repeat("a", 100)}, strings.Repeat("a", 100), nil},
		{[]string{"Bearer " + strings.Repeat("a", 101)}, "", ErrCredentialTooLong},
		{[]string{"Bearer " + strings.Repeat(" ", 200) + "a"}, "", ErrCredentialTooLong},
	}
	for _, tt := range tests {
		got, err := parseAuthorization(tt.values, 100)
		if got != tt.want || err != tt.err {
			t.Errorf("parseAuthorization(%.30q) = %q, %v; want %q, %v", tt.values, got, err, tt.want, tt.err)
		}
	}
}

func TestParseAuthorizationAllocs(t *testing.T) {
	for _, v := range authorizationSeeds {
		vals := []string{v}
		if n := testing.AllocsPerRun(100, func() { parseAuthorization(vals, DefaultMaxCredentialLength) }); n != 0 {
			t.Errorf("%.20q: %v allocs, want 0", v, n)
		}
	}
}

func TestQueryHasAccessToken(t *testing.T) {
	for raw, want := range map[string]bool{
		"access_token=x":           true,
		"a=1&access_token=":        true,
		"access_token":             true,
		"access%5Ftoken=x":         true,
		"access%5ftoken=x":         true,
		"%61ccess_token=x":         true,
		"access_tokens=x":          false,
		"xaccess_token=x":          false,
		"q=access_token":           false,
		"access%5Gtoken=x":         false,
		"access+token=x":           false,
		"":                         false,
		"&&&":                      false,
		"a=%zz&access%5Ftoken=1&b": true,
	} {
		if got := queryHasAccessToken(raw); got != want {
			t.Errorf("queryHasAccessToken(%q) = %v, want %v", raw, got, want)
		}
	}
}

// FuzzParseAuthorization checks that no header value panics the parser,
// that every error is one of its sentinels, and that an accepted credential
// is a non-empty b64token within the cap taken from the value's end.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range authorizationSeeds {
		f.Add(s)
	}
	sentinels := []error{ErrNoCredential, ErrUnsupportedScheme, ErrMultipleAuthorization, ErrCredentialTooLong, ErrMalformedCredential}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := parseAuthorization([]string{v}, 256)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %v is not a sentinel", err)
		}
		if tok == "" || len(tok) > 256 || !isB64token(tok) || !strings.HasSuffix(v, tok) {
			t.Fatalf("accepted %q from %q", tok, v)
		}
		if !strings.EqualFold(v[:6], "bearer") || v[6] != ' ' {
			t.Fatalf("accepted %q without a Bearer scheme", v)
		}
	})
}

// FuzzQueryHasAccessToken checks the query scan against net/url: whenever
// url.ParseQuery finds an access_token parameter, the scan must too (a
// miss would let a credential in the URL go unreported), and it never
// panics.
func FuzzQueryHasAccessToken(f *testing.F) {
	for _, s := range []string{"access_token=x", "a=1&access%5Ftoken=y", "%61ccess_token", "access_tokens=1", "q=access_token", "a=%zz&access_token=1", "&&", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := queryHasAccessToken(raw)
		if q, err := url.ParseQuery(raw); err == nil && q.Has("access_token") && !got {
			t.Fatalf("url.ParseQuery finds access_token in %q, the scan does not", raw)
		}
	})
}
