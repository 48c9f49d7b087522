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
	"DPoP eyJhbGciOi.x.y", "dpop k_good", "DPoPk_good", "DPoP", "DPoP\tk", "DPo k",
}

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		values []string
		want   string
		scheme uint8
		err    error
	}{
		{nil, "", 0, ErrNoCredential},
		{[]string{""}, "", 0, ErrNoCredential},
		{[]string{"a", "b"}, "", 0, ErrMultipleAuthorization},
		{[]string{"Basic x"}, "", 0, ErrUnsupportedScheme},
		{[]string{"Bear"}, "", 0, ErrUnsupportedScheme},
		{[]string{"Bearerx y"}, "", 0, ErrUnsupportedScheme},
		{[]string{"Bearer"}, "", 0, ErrMalformedCredential},
		{[]string{"Bearer\tx"}, "", 0, ErrMalformedCredential},
		{[]string{"bEaReR   abc+/=="}, "abc+/==", schemeBearer, nil},
		{[]string{"Bearer " + strings.Repeat("a", 100)}, strings.Repeat("a", 100), schemeBearer, nil},
		{[]string{"Bearer " + strings.Repeat("a", 101)}, "", 0, ErrCredentialTooLong},
		{[]string{"Bearer " + strings.Repeat(" ", 200) + "a"}, "", 0, ErrCredentialTooLong},
		// RFC 9449 §7.1: the DPoP scheme, case-insensitive like any.
		{[]string{"DPoP abc.def.ghi"}, "abc.def.ghi", schemeDPoP, nil},
		{[]string{"dpop  abc"}, "abc", schemeDPoP, nil},
		{[]string{"DPoPx abc"}, "", 0, ErrUnsupportedScheme},
		{[]string{"DPoP"}, "", 0, ErrMalformedCredential},
		{[]string{"DPoP\tabc"}, "", 0, ErrMalformedCredential},
		{[]string{"DPoP a,b"}, "", 0, ErrMalformedCredential},
	}
	for _, tt := range tests {
		got, scheme, err := parseAuthorization(tt.values, 100, true)
		if got != tt.want || scheme != tt.scheme || err != tt.err {
			t.Errorf("parseAuthorization(%.30q) = %q, %d, %v; want %q, %d, %v", tt.values, got, scheme, err, tt.want, tt.scheme, tt.err)
		}
	}
	// Without DPoP configured the scheme is just another one.
	if _, _, err := parseAuthorization([]string{"DPoP abc"}, 100, false); err != ErrUnsupportedScheme {
		t.Errorf("DPoP without DPoP configured: got %v, want ErrUnsupportedScheme", err)
	}
}

func TestParseAuthorizationAllocs(t *testing.T) {
	for _, v := range authorizationSeeds {
		vals := []string{v}
		if n := testing.AllocsPerRun(100, func() { parseAuthorization(vals, DefaultMaxCredentialLength, true) }); n != 0 {
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
		tok, scheme, err := parseAuthorization([]string{v}, 256, true)
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
		switch scheme {
		case schemeBearer:
			if !strings.EqualFold(v[:6], "bearer") || v[6] != ' ' {
				t.Fatalf("accepted %q as Bearer without the Bearer scheme", v)
			}
		case schemeDPoP:
			if !strings.EqualFold(v[:4], "dpop") || v[4] != ' ' {
				t.Fatalf("accepted %q as DPoP without the DPoP scheme", v)
			}
		default:
			t.Fatalf("accepted %q with scheme %d", v, scheme)
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
