package oauth

import (
	"errors"
	"fmt"
	b62 "github.com/audexum/auth/internal/base62"
	"strings"
	"testing"
)

// TestValidateRedirectURI is the registration table: what a client may
// register as a redirect URI.
func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		uri  string
		rule string // "" when accepted; else a word of the error naming the rule
	}{
		{"https://app.example/cb", ""},
		{"https://app.example:8443/cb?tenant=a", ""},
		{"http://127.0.0.1/cb", ""},                  // native app, RFC 8252 §7.3
		{"http://[::1]:8080/cb", ""},                 // IPv6 loopback
		{"http://localhost:8080/cb", ""},             // tolerated, compared exactly
		{"http://app.example/cb", "not loopback"},    // clear text off loopback
		{"https://app.example/cb#frag", "fragment"},  // RFC 6749 §3.1.2: no fragment
		{"https://app.example/cb#", "fragment"},      // empty fragment is still one
		{"https://user@app.example/cb", "userinfo"},  // userinfo hides the real host
		{"https://good@evil", "userinfo"},            //
		{"https://*.app.example/cb", "wildcard"},     // exact matching: no patterns
		{"https://app.*/cb", "wildcard"},             //
		{"/relative/cb", "relative"},                 // not absolute
		{"app.example/cb", "relative"},               // no scheme
		{"com.example.app:/cb", "relative"},          // private-use schemes are not offered
		{"javascript:alert(1)", "relative"},          // never
		{"ftp://app.example/cb", "scheme ftp"},       //
		{"HTTPS://app.example/cb", "lower-case"},     // compared byte for byte: one spelling only
		{"https:///cb", "absolute URI with a host"},  // no host
		{"https://:443/cb", "no host"},               //
		{"https://app.example/c b", "space"},         // space
		{"https://app.example/\u00e9", "non-ASCII"},  // non-ASCII: register it percent-encoded
		{"https://app.example\\@evil/", "backslash"}, //
		{"", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			err := validateRedirectURI(tt.uri)
			if (err == nil) != (tt.rule == "") {
				t.Fatalf("validateRedirectURI(%q): got %v, want rule %q", tt.uri, err, tt.rule)
			}
			if err != nil && !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("validateRedirectURI(%q): error %q does not name the rule %q", tt.uri, err, tt.rule)
			}
			if err != nil && !errors.Is(err, ErrInvalidRedirectURI) {
				t.Errorf("error %v does not wrap ErrInvalidRedirectURI", err)
			}
			// The exported rule is the registry's, word for word.
			if got := ValidateRedirectURI(tt.uri); fmt.Sprint(got) != fmt.Sprint(err) {
				t.Errorf("ValidateRedirectURI(%q): got %v, want %v", tt.uri, got, err)
			}
		})
	}
}

// TestMatchRedirectURI: exact string matching, port included, for every
// client; for native (mobile) clients also any port for http on loopback
// IP literals (RFC 8252 §7.3), and nothing else.
func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"https://app.example/cb", "http://127.0.0.1/cb", "http://[::1]:3000/cb?x=1", "http://localhost/cb"}
	tests := []struct {
		got         string
		web, native bool
	}{
		{"https://app.example/cb", true, true},
		{"https://app.example/cb/", false, false},
		{"https://app.example:443/cb", false, false},
		{"https://app.example/CB", false, false},
		{"https://app.example/%63b", false, false},
		{"http://127.0.0.1/cb", true, true},
		// Any port on loopback: native apps only (RFC 8252 §7.3); a web
		// app's URI matches exactly, port included (RFC 9700 §4.1.3).
		{"http://127.0.0.1:1/cb", false, true},
		{"http://127.0.0.1:65535/cb", false, true},
		{"http://127.0.0.1:123456/cb", false, false},
		{"http://127.0.0.1:80a/cb", false, false},
		{"http://127.0.0.1:8080/cb/", false, false},
		{"http://127.0.0.1:8080/cb?x", false, false},
		{"http://127.0.0.1:8080/cb#x", false, false},
		{"https://127.0.0.1:8080/cb", false, false},
		{"http://127.0.0.1.evil:8080/cb", false, false},
		{"http://127.0.0.1@evil:8080/cb", false, false},
		{"http://[::1]:3000/cb?x=1", true, true},
		{"http://[::1]:4000/cb?x=1", false, true},
		{"http://[::1]/cb?x=1", false, true},
		{"http://[::1]:4000/cb?x=2", false, false},
		{"http://localhost:8080/cb", false, false}, // port freedom is for IP literals only
		{"http://localhost/cb", true, true},
		{"", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.got, func(t *testing.T) {
			if _, ok := matchRedirectURI(registered, tt.got, false); ok != tt.web {
				t.Errorf("web client: matchRedirectURI(%q): got %v, want %v", tt.got, ok, tt.web)
			}
			if _, ok := matchRedirectURI(registered, tt.got, true); ok != tt.native {
				t.Errorf("mobile client: matchRedirectURI(%q): got %v, want %v", tt.got, ok, tt.native)
			}
		})
	}
}

func TestRedirectWith(t *testing.T) {
	tests := []struct {
		base string
		want string
	}{
		{"https://app.example/cb", "https://app.example/cb?code=a+b&state=%26x"},
		{"https://app.example/cb?tenant=1", "https://app.example/cb?tenant=1&code=a+b&state=%26x"},
		{"https://app.example/cb?", "https://app.example/cb?code=a+b&state=%26x"},
	}
	for _, tt := range tests {
		if got := redirectWith(tt.base, [][2]string{{"code", "a b"}, {"state", "&x"}}); got != tt.want {
			t.Errorf("redirectWith(%q): got %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !validChallenge(challenge) {
		t.Errorf("validChallenge(RFC 7636 example): got false")
	}
	if !verifyPKCE(verifier, challenge) {
		t.Errorf("verifyPKCE(RFC 7636 example): got false")
	}
	for _, tt := range []struct{ name, verifier, challenge string }{
		{"wrong verifier", verifier[:42] + "Y", challenge},
		{"no challenge", verifier, ""},
		{"verifier too short", verifier[:42], challenge},
		{"verifier with a bad character", verifier[:42] + "+", challenge},
		{"plain: verifier equals challenge", challenge, challenge},
	} {
		if verifyPKCE(tt.verifier, tt.challenge) {
			t.Errorf("%s: verifyPKCE got true", tt.name)
		}
	}
	for _, c := range []string{challenge[:42], challenge + "A", challenge[:42] + "=", challenge[:42] + "+", challenge[:42] + "N"} {
		if validChallenge(c) {
			t.Errorf("validChallenge(%q): got true", c)
		}
	}
}

func TestValues(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := newValue(SecretPrefix)
		if !validValue(v, SecretPrefix) {
			t.Fatalf("validValue(%q): got false", v)
		}
		if validValue(v, RefreshTokenPrefix) {
			t.Errorf("a secret passes as a refresh token")
		}
		if seen[v] {
			t.Fatalf("duplicate value")
		}
		seen[v] = true
		for i := len(SecretPrefix) + 1; i < len(v); i += 7 {
			b := []byte(v)
			d, _ := b62.Value(b[i])
			b[i] = b62.Alphabet[(d+1)%62]
			if validValue(string(b), SecretPrefix) {
				t.Errorf("changed character %d still valid", i)
			}
		}
		for _, c := range v {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
				t.Fatalf("value %q holds %q, which may need URL encoding", v, c)
			}
		}
	}
	if id := newClientID(); len(id) != len(ClientIDPrefix)+1+clientIDLength {
		t.Errorf("client ID %q has the wrong length", id)
	}
}
