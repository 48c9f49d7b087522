package auth

import (
	"net/url"
	"strings"
)

// DefaultMaxCredentialLength is the longest credential accepted when
// Config.MaxCredentialLength is zero. Real access tokens are well under it;
// anything longer is refused before any parsing or verification.
const DefaultMaxCredentialLength = 4096

// maxSchemeSlack bounds the bytes an Authorization value may hold beyond
// the credential itself (the scheme and the spaces after it), so the
// length check runs before the header is scanned.
const maxSchemeSlack = 32

// b64token marks the bytes of an RFC 6750 §2.1 b64token:
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
var b64token = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// tchar marks the bytes of an RFC 9110 §5.6.2 token character, to tell a
// different scheme ("Bearerx") from a malformed Bearer header.
var tchar = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
	}
	return t
}()

// Authorization schemes parseAuthorization recognises.
const (
	schemeBearer uint8 = iota + 1
	schemeDPoP
)

// parseAuthorization extracts the credential from the values of the
// Authorization header field (all of them: a request with two is refused,
// never resolved by picking one) and says which scheme carried it. It
// does not allocate.
//
// The grammar is RFC 6750 §2.1 and RFC 9449 §7.1 with RFC 9110 §11.4
// scheme rules:
//
//	credentials = ( "Bearer" / "DPoP" ) 1*SP b64token
//
// with the scheme compared case-insensitively. "DPoP" is recognised only
// when dpop is true; otherwise it is another scheme. Errors are the
// package sentinels ErrNoCredential, ErrUnsupportedScheme,
// ErrMultipleAuthorization, ErrCredentialTooLong and
// ErrMalformedCredential.
func parseAuthorization(values []string, maxLen int, dpop bool) (string, uint8, error) {
	switch len(values) {
	case 0:
		return "", 0, ErrNoCredential
	case 1:
	default:
		return "", 0, ErrMultipleAuthorization
	}
	v := values[0]
	// Length first, before the header is looked at any further.
	if len(v) > maxLen+maxSchemeSlack {
		return "", 0, ErrCredentialTooLong
	}
	if v == "" {
		return "", 0, ErrNoCredential
	}
	var rest string
	var scheme uint8
	switch {
	case len(v) >= len("Bearer") && strings.EqualFold(v[:len("Bearer")], "Bearer"):
		rest, scheme = v[len("Bearer"):], schemeBearer
	case dpop && len(v) >= len("DPoP") && strings.EqualFold(v[:len("DPoP")], "DPoP"):
		rest, scheme = v[len("DPoP"):], schemeDPoP
	default:
		return "", 0, ErrUnsupportedScheme
	}
	if rest == "" {
		return "", 0, ErrMalformedCredential // "Bearer" and nothing else
	}
	if rest[0] != ' ' {
		if tchar[rest[0]] {
			return "", 0, ErrUnsupportedScheme // "Bearerabc" is another scheme
		}
		return "", 0, ErrMalformedCredential // "Bearer\tabc" and the like
	}
	tok := strings.TrimLeft(rest, " ")
	if len(tok) > maxLen {
		return "", 0, ErrCredentialTooLong
	}
	if !isB64token(tok) {
		return "", 0, ErrMalformedCredential
	}
	return tok, scheme, nil
}

// isB64token reports whether s is a non-empty RFC 6750 b64token.
func isB64token(s string) bool {
	i := 0
	for i < len(s) && b64token[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// queryHasAccessToken reports whether a raw query string carries an
// access_token parameter, including percent-encoded spellings of the name
// that url.ParseQuery would decode. It allocates only for names that need
// unescaping.
func queryHasAccessToken(raw string) bool {
	const name = "access_token"
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		key, _, _ := strings.Cut(part, "=")
		if key == name {
			return true
		}
		if strings.ContainsAny(key, "%+") && len(key) <= 3*len(name) {
			if k, err := url.QueryUnescape(key); err == nil && k == name {
				return true
			}
		}
	}
	return false
}
