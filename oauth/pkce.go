package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636) is required for every authorization request, with the
// S256 method only (RFC 9700 §2.1.1: "plain" offers no protection if the
// authorization request leaks).

// methodS256 is the only code_challenge_method accepted.
const methodS256 = "S256"

// challengeLength is the length of an S256 code_challenge: RFC 7636 §4.2,
// "code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))", 32
// bytes in unpadded base64url.
const challengeLength = 43

// validChallenge reports whether s is a well-formed S256 code challenge:
// 43 base64url characters that decode to 32 bytes.
func validChallenge(s string) bool {
	if len(s) != challengeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isBase64URL(s[i]) {
			return false
		}
	}
	// The last character carries 2 bits of padding that must be zero
	// for a canonical encoding of 32 bytes.
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// validVerifier reports whether v follows RFC 7636 §4.1:
//
//	code-verifier = 43*128unreserved
//	unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// verifyPKCE reports whether verifier matches the S256 challenge. RFC
// 7636 §4.6: "BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge".
// The comparison is constant-time. A missing challenge never matches: a
// verifier without a challenge is refused (RFC 9700 §2.1.1, PKCE downgrade).
func verifyPKCE(verifier, challenge string) bool {
	if challenge == "" || !validVerifier(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	var enc [challengeLength]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare(enc[:], []byte(challenge)) == 1
}
