package jwt

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/jws"
)

// header is the part of a JWS protected header the verifier reads.
type header struct {
	alg, kid, typ string
	hasKid        bool
	hasTyp        bool
}

// maxKeyIDLength bounds "kid". Key IDs are thumbprints or short names; a
// longer one is refused before it is looked up or can cause a fetch.
const maxKeyIDLength = 256

// parseHeader reads the JOSE header h. Names are compared
// exactly; a duplicated name is refused, as RFC 7515 §4 allows.
//
// "jku", "x5u", "jwk" and "x5c" are ignored, never followed: the key is
// always chosen from the configured sources (RFC 8725 §3.10). "crit" is
// refused because the verifier implements no extension, which RFC 7515
// §4.1.11 requires; that also refuses unencoded payloads (RFC 7797).
func parseHeader(h string, out *header) error {
	m, ok := jws.NewMembers(h)
	if !ok {
		return ErrMalformed
	}
	var seenAlg bool
	for {
		name, val, ok := m.Next()
		if !ok {
			break
		}
		var dst *string
		switch name {
		case "alg":
			if seenAlg {
				return ErrMalformed
			}
			seenAlg, dst = true, &out.alg
		case "kid":
			if out.hasKid {
				return ErrMalformed
			}
			out.hasKid, dst = true, &out.kid
		case "typ":
			if out.hasTyp {
				return ErrMalformed
			}
			out.hasTyp, dst = true, &out.typ
		case "crit", "b64":
			return ErrMalformed
		default:
			continue
		}
		s, ok := jws.JSONString(val)
		if !ok {
			return ErrMalformed
		}
		*dst = s
	}
	if !m.End() || !seenAlg || len(out.kid) > maxKeyIDLength {
		return ErrMalformed
	}
	return nil
}

// isAccessTokenType reports whether typ is "at+jwt" as RFC 9068 §2.1 asks,
// with or without the "application/" prefix, in any case (RFC 7515 §4.1.9).
func isAccessTokenType(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, "at+jwt")
}

// Bits of tokenClaims.has: which claims the payload carried.
const (
	hasIss uint16 = 1 << iota
	hasSub
	hasAud
	hasExp
	hasNbf
	hasIat
	hasJti
	hasClientID
	hasScope
	hasScp
	hasCnf
)

// claimNames are the claims the verifier reads, in the order of the bits.
var claimNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "scp", "cnf"}

// tokenClaims are the claims the verifier checks, read once from the
// payload. Strings are substrings of the payload.
type tokenClaims struct {
	has                   uint16
	iss, sub, jti, client string
	scope                 string
	aud, scp, cnf         string // raw JSON: checked after the signature
	exp, nbf, iat         float64
}

// maxNumericDate is 9999-12-31T23:59:59Z. A later date (1e300) is not a
// date a token can mean, and does not fit a time.Time.
const maxNumericDate = 253402300799

// parseClaims reads the claims set p into c. The syntax and the types are
// checked here; the values after the signature.
func parseClaims(p string, c *tokenClaims) error {
	m, ok := jws.NewMembers(p)
	if !ok {
		return ErrMalformed
	}
	for {
		name, val, ok := m.Next()
		if !ok {
			if !m.End() {
				return ErrMalformed
			}
			return nil
		}
		bit := claimBit(name)
		if bit == 0 {
			if isCaseVariant(name) {
				// "ISS" or "Exp": a decoder that folds case would
				// read it as the claim we checked.
				return ErrInvalidClaim
			}
			continue
		}
		if c.has&bit != 0 {
			return ErrInvalidClaim // RFC 7519 §4: names must be unique
		}
		c.has |= bit
		var err error
		switch bit {
		case hasIss:
			c.iss, err = claimString(val)
		case hasSub:
			c.sub, err = claimString(val)
		case hasJti:
			c.jti, err = claimString(val)
		case hasClientID:
			c.client, err = claimString(val)
		case hasScope:
			c.scope, err = claimString(val)
		case hasExp:
			c.exp, err = numericDate(val)
		case hasNbf:
			c.nbf, err = numericDate(val)
		case hasIat:
			c.iat, err = numericDate(val)
		case hasAud:
			c.aud = val
		case hasScp:
			c.scp = val
		case hasCnf:
			c.cnf = val
		}
		if err != nil {
			return err
		}
	}
}

func claimBit(name string) uint16 {
	for i, n := range claimNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// isCaseVariant reports whether name folds to a claim name, as
// encoding/json would match it ("Sub", or "ſub" with a long s).
func isCaseVariant(name string) bool {
	if len(name) > 2*len("client_id") {
		return false
	}
	for _, n := range claimNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func claimString(val string) (string, error) {
	s, ok := jws.JSONString(val)
	if !ok {
		return "", ErrInvalidClaim
	}
	return s, nil
}

// numericDate reads an RFC 7519 §2 NumericDate: a JSON number, never a
// string, within year 9999.
func numericDate(val string) (float64, error) {
	if val == "" || (val[0] != '-' && (val[0] < '0' || val[0] > '9')) {
		return 0, ErrInvalidClaim
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.Abs(f) > maxNumericDate {
		return 0, ErrInvalidClaim
	}
	return f, nil
}

func dateTime(f float64) time.Time {
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9))
}

// audienceMatches reports whether the "aud" value raw (a string or an
// array of strings, RFC 7519 §4.1.3) names one of want.
func audienceMatches(raw string, want []string) error {
	if s, ok := jws.JSONString(raw); ok {
		if slices.Contains(want, s) {
			return nil
		}
		return ErrAudience
	}
	e, ok := jws.NewElements(raw)
	if !ok {
		return ErrInvalidClaim
	}
	found := false
	for {
		el, ok := e.Next()
		if !ok {
			break
		}
		s, ok := jws.JSONString(el)
		if !ok {
			return ErrInvalidClaim
		}
		found = found || slices.Contains(want, s)
	}
	if !found {
		return ErrAudience
	}
	return nil
}

// scopes reads the granted scopes: "scope", a space-delimited string (RFC
// 9068 §2.2.3, RFC 8693 §4.2); or, only when it is absent, "scp", an array
// or a string, as some identity providers send.
func (c *tokenClaims) scopes() (auth.Scopes, error) {
	if c.has&hasScope != 0 {
		s, err := auth.ParseScopes(c.scope)
		if err != nil {
			return auth.Scopes{}, ErrInvalidClaim
		}
		return s, nil
	}
	if c.has&hasScp == 0 {
		return auth.Scopes{}, nil
	}
	if s, ok := jws.JSONString(c.scp); ok {
		sc, err := auth.ParseScopes(s)
		if err != nil {
			return auth.Scopes{}, ErrInvalidClaim
		}
		return sc, nil
	}
	e, ok := jws.NewElements(c.scp)
	if !ok {
		return auth.Scopes{}, ErrInvalidClaim
	}
	var toks []string
	for {
		el, ok := e.Next()
		if !ok {
			break
		}
		s, ok := jws.JSONString(el)
		if !ok || len(toks) >= auth.MaxScopes {
			return auth.Scopes{}, ErrInvalidClaim
		}
		toks = append(toks, s)
	}
	sc, err := auth.NewScopes(toks...)
	if err != nil {
		return auth.Scopes{}, ErrInvalidClaim
	}
	return sc, nil
}

// thumbprintLength is the length of a base64url SHA-256 thumbprint.
const thumbprintLength = 43

// keyThumbprint reads the "cnf" claim (RFC 7800 §3.1) of a DPoP-bound
// token: an object whose one member is "jkt", the base64url SHA-256
// thumbprint of the key (RFC 9449 §6.1). It returns "" for a token
// without "cnf". Any other confirmation method (an mTLS certificate's
// "x5t#S256", a "jwk", a "kid") is one this verifier cannot check, so a
// token carrying one is refused rather than accepted as a bearer token:
// the issuer meant it to be bound.
func (c *tokenClaims) keyThumbprint() (string, error) {
	if c.has&hasCnf == 0 {
		return "", nil
	}
	m, ok := jws.NewMembers(c.cnf)
	if !ok {
		return "", ErrInvalidClaim
	}
	var jkt string
	for {
		name, val, ok := m.Next()
		if !ok {
			break
		}
		if name != "jkt" || jkt != "" {
			return "", ErrInvalidClaim
		}
		s, ok := jws.JSONString(val)
		if !ok || !isThumbprint(s) {
			return "", ErrInvalidClaim
		}
		jkt = s
	}
	if !m.End() || jkt == "" {
		return "", ErrInvalidClaim
	}
	return jkt, nil
}

// isThumbprint reports whether s is the canonical base64url (no padding)
// of 32 bytes.
func isThumbprint(s string) bool {
	if len(s) != thumbprintLength {
		return false
	}
	var buf [32]byte
	n, err := b64.Decode(buf[:], []byte(s))
	return err == nil && n == 32
}
