package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	"github.com/audexum/auth/internal/jws"
)

// b64 decodes base64url without padding (RFC 7515 §2), refusing
// non-canonical encodings, so one key has one spelling and one thumbprint.
var b64 = base64.RawURLEncoding.Strict()

// publicKey is a proof's "jwk", read and checked: the key, and the
// members RFC 7638 §3.2 hashes for its thumbprint, as they were written.
type publicKey struct {
	key           crypto.PublicKey
	kty, crv      string
	x, y          string // EC and OKP
	n, e          string // RSA
	thumbprintSum [sha256.Size]byte
}

// privateMembers are the JWK members that hold private or secret key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2). A proof's key
// must be public: one with any of these is refused, whatever the rest
// says (RFC 9449 §4.3, check 7).
var privateMembers = [...]string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// maxRSABytes bounds the modulus read from a jwk: RSA-8192.
const maxRSABytes = 1024

// parseJWK reads the JWK object raw and returns the public key it holds,
// checked to be usable with alg. It allocates only for the key itself.
func parseJWK(raw string, alg *jws.Algorithm) (*publicKey, error) {
	m, ok := jws.NewMembers(raw)
	if !ok {
		return nil, ErrKey
	}
	var k publicKey
	var seen uint16
	for {
		name, val, ok := m.Next()
		if !ok {
			break
		}
		var dst *string
		var bit uint16
		switch name {
		case "kty":
			dst, bit = &k.kty, 1
		case "crv":
			dst, bit = &k.crv, 2
		case "x":
			dst, bit = &k.x, 4
		case "y":
			dst, bit = &k.y, 8
		case "n":
			dst, bit = &k.n, 16
		case "e":
			dst, bit = &k.e, 32
		default:
			for _, p := range privateMembers {
				if name == p {
					return nil, ErrKey
				}
			}
			continue // "kid", "use", "alg", "key_ops" and the like
		}
		if seen&bit != 0 {
			return nil, ErrKey
		}
		seen |= bit
		s, ok := jws.JSONString(val)
		if !ok {
			return nil, ErrKey
		}
		*dst = s
	}
	if !m.End() {
		return nil, ErrKey
	}
	var err error
	switch {
	case k.kty == "EC" && alg.Family == jws.FamilyEC && seen&(16|32) == 0:
		k.key, err = ecKey(&k, alg.Curve)
	case k.kty == "OKP" && alg.Family == jws.FamilyEd && seen&(8|16|32) == 0:
		k.key, err = edKey(&k)
	case k.kty == "RSA" && (alg.Family == jws.FamilyRSA || alg.Family == jws.FamilyPSS) && seen&(2|4|8) == 0:
		k.key, err = rsaKey(&k)
	default:
		// A key type the algorithm cannot use, or members of another
		// type mixed in: refused, never guessed at.
		return nil, ErrKey
	}
	if err != nil || !alg.Fits(k.key) {
		return nil, ErrKey
	}
	k.thumbprintSum = k.thumbprint()
	return &k, nil
}

// curveName is the JWK "crv" of an ECDSA curve (RFC 7518 §6.2.1.1).
func curveName(c elliptic.Curve) string {
	switch c {
	case elliptic.P256():
		return "P-256"
	case elliptic.P384():
		return "P-384"
	case elliptic.P521():
		return "P-521"
	}
	return ""
}

// ecKey builds the ECDSA key of k on curve. RFC 7518 §6.2.1.2: "x" and
// "y" are the full coordinate length, so each key has one spelling; the
// point must be on the curve.
func ecKey(k *publicKey, curve elliptic.Curve) (crypto.PublicKey, error) {
	if k.crv != curveName(curve) {
		return nil, ErrKey
	}
	size := (curve.Params().BitSize + 7) / 8
	var buf [1 + 2*66]byte
	buf[0] = 4 // uncompressed point (SEC 1 §2.3.3)
	if n, err := b64.Decode(buf[1:], []byte(k.x)); err != nil || n != size || len(k.x) != b64.EncodedLen(size) {
		return nil, ErrKey
	}
	if n, err := b64.Decode(buf[1+size:], []byte(k.y)); err != nil || n != size || len(k.y) != b64.EncodedLen(size) {
		return nil, ErrKey
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, buf[:1+2*size])
	if err != nil {
		return nil, ErrKey
	}
	return pub, nil
}

// edKey builds the Ed25519 key of k (RFC 8037 §2).
func edKey(k *publicKey) (crypto.PublicKey, error) {
	if k.crv != "Ed25519" || len(k.x) != b64.EncodedLen(ed25519.PublicKeySize) {
		return nil, ErrKey
	}
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	if n, err := b64.Decode(pub, []byte(k.x)); err != nil || n != ed25519.PublicKeySize {
		return nil, ErrKey
	}
	return pub, nil
}

// rsaKey builds the RSA key of k (RFC 7518 §6.3.1): "n" at least
// jws.MinRSABits and without leading zeros, "e" an odd number above 1
// that fits an int, without leading zeros.
func rsaKey(k *publicKey) (crypto.PublicKey, error) {
	if len(k.n) > b64.EncodedLen(maxRSABytes) || len(k.e) > b64.EncodedLen(4) {
		return nil, ErrKey
	}
	n, err := b64.DecodeString(k.n)
	if err != nil || len(n) == 0 || n[0] == 0 {
		return nil, ErrKey
	}
	var ebuf [4]byte
	el, err := b64.Decode(ebuf[:], []byte(k.e))
	if err != nil || el == 0 || ebuf[0] == 0 {
		return nil, ErrKey
	}
	e := 0
	for _, c := range ebuf[:el] {
		e = e<<8 | int(c)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: e}
	if pub.N.BitLen() < jws.MinRSABits || e < 3 || e&1 == 0 || e > 1<<31-1 {
		return nil, ErrKey
	}
	return pub, nil
}

// thumbprint returns the RFC 7638 SHA-256 of the key's required members,
// in lexicographic order, without white space (§3.2, §3.3).
func (k *publicKey) thumbprint() [sha256.Size]byte {
	var buf [1500]byte // room for RSA-8192
	b := buf[:0]
	switch k.kty {
	case "EC":
		b = append(b, `{"crv":"`...)
		b = append(b, k.crv...)
		b = append(b, `","kty":"EC","x":"`...)
		b = append(b, k.x...)
		b = append(b, `","y":"`...)
		b = append(b, k.y...)
	case "OKP":
		b = append(b, `{"crv":"`...)
		b = append(b, k.crv...)
		b = append(b, `","kty":"OKP","x":"`...)
		b = append(b, k.x...)
	case "RSA":
		b = append(b, `{"e":"`...)
		b = append(b, k.e...)
		b = append(b, `","kty":"RSA","n":"`...)
		b = append(b, k.n...)
	}
	b = append(b, `"}`...)
	return sha256.Sum256(b)
}

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of key, base64url
// encoded without padding: the "jkt" a DPoP-bound token's "cnf" claim and
// an authorization request's dpop_jkt parameter carry (RFC 9449 §6.1,
// §10). key is an *ecdsa.PublicKey on P-256, P-384 or P-521, an
// ed25519.PublicKey or an *rsa.PublicKey (its private key works too).
func Thumbprint(key crypto.PublicKey) (string, error) {
	j, err := publicJWK(key)
	if err != nil {
		return "", err
	}
	sum := j.thumbprint()
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// errUnsupportedKey is the error for a key Thumbprint and NewSigner
// cannot use.
var errUnsupportedKey = errors.New("dpop: unsupported key type")

// publicJWK returns the JWK members of key's public half.
func publicJWK(key crypto.PublicKey) (*publicKey, error) {
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	enc := base64.RawURLEncoding
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		crv := curveName(k.Curve)
		if crv == "" {
			return nil, fmt.Errorf("%w: ECDSA curve %s", errUnsupportedKey, k.Curve.Params().Name)
		}
		b, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUnsupportedKey, err)
		}
		size := (len(b) - 1) / 2
		return &publicKey{key: k, kty: "EC", crv: crv, x: enc.EncodeToString(b[1 : 1+size]), y: enc.EncodeToString(b[1+size:])}, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", errUnsupportedKey, len(k))
		}
		return &publicKey{key: k, kty: "OKP", crv: "Ed25519", x: enc.EncodeToString(k)}, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < jws.MinRSABits {
			return nil, fmt.Errorf("%w: RSA key under %d bits", errUnsupportedKey, jws.MinRSABits)
		}
		e := big.NewInt(int64(k.E)).Bytes()
		return &publicKey{key: k, kty: "RSA", n: enc.EncodeToString(k.N.Bytes()), e: enc.EncodeToString(e)}, nil
	}
	return nil, fmt.Errorf("%w: %T", errUnsupportedKey, key)
}

// json returns the key as a JWK object with its required members only, as
// a proof's header carries it.
func (k *publicKey) json() string {
	switch k.kty {
	case "EC":
		return `{"crv":"` + k.crv + `","kty":"EC","x":"` + k.x + `","y":"` + k.y + `"}`
	case "OKP":
		return `{"crv":"` + k.crv + `","kty":"OKP","x":"` + k.x + `"}`
	}
	return `{"e":"` + k.e + `","kty":"RSA","n":"` + k.n + `"}`
}
