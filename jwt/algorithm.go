package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
)

// Algorithm names (RFC 7518 §3.1, RFC 8037 §3.1) accepted in
// [Config.Algorithms] and [KeySetConfig.Algorithm]. "none" and the HMAC
// algorithms are not among them: an access token is verified with a public
// key, never with a shared secret (RFC 8725 §3.1, §3.2).
const (
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	PS384 = "PS384"
	PS512 = "PS512"
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
	EdDSA = "EdDSA"
)

type family uint8

const (
	famRSA family = iota + 1 // RSASSA-PKCS1-v1_5
	famPSS                   // RSASSA-PSS
	famEC                    // ECDSA
	famEd                    // Ed25519
)

// algorithm is one JWS signature algorithm with everything needed to check
// a signature with it.
type algorithm struct {
	name   string
	family family
	hash   crypto.Hash    // not for EdDSA
	curve  elliptic.Curve // ECDSA only
	size   int            // ECDSA: bytes of r and of s
}

var algorithms = [...]algorithm{
	{name: RS256, family: famRSA, hash: crypto.SHA256},
	{name: RS384, family: famRSA, hash: crypto.SHA384},
	{name: RS512, family: famRSA, hash: crypto.SHA512},
	{name: PS256, family: famPSS, hash: crypto.SHA256},
	{name: PS384, family: famPSS, hash: crypto.SHA384},
	{name: PS512, family: famPSS, hash: crypto.SHA512},
	{name: ES256, family: famEC, hash: crypto.SHA256, curve: elliptic.P256(), size: 32},
	{name: ES384, family: famEC, hash: crypto.SHA384, curve: elliptic.P384(), size: 48},
	{name: ES512, family: famEC, hash: crypto.SHA512, curve: elliptic.P521(), size: 66},
	{name: EdDSA, family: famEd},
}

// lookupAlgorithm returns the algorithm named name (case-sensitive, as JWS
// requires: "none", "None" and "rs256" are all unknown).
func lookupAlgorithm(name string) *algorithm {
	for i := range algorithms {
		if algorithms[i].name == name {
			return &algorithms[i]
		}
	}
	return nil
}

// fits reports whether key can be used with a: the right type, and for
// ECDSA the curve that the algorithm names.
func (a *algorithm) fits(key crypto.PublicKey) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return a.family == famRSA || a.family == famPSS
	case *ecdsa.PublicKey:
		return a.family == famEC && k.Curve == a.curve
	case ed25519.PublicKey:
		return a.family == famEd && len(k) == ed25519.PublicKeySize
	}
	return false
}

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3, §3.5).
const minRSABits = 2048

// verify reports whether sig is a signature by key over signed. The key
// must fit a (checked when the key was bound); a key of another type fails.
// The hashing is done here, not by the caller, so the hash is always the
// one the bound algorithm names.
func (a *algorithm) verify(key crypto.PublicKey, signed, sig []byte) bool {
	switch a.family {
	case famEd:
		k, ok := key.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(k, signed, sig)
	case famRSA, famPSS:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		var buf [64]byte
		digest := hashInto(a.hash, buf[:0], signed)
		if a.family == famRSA {
			return rsa.VerifyPKCS1v15(k, a.hash, digest, sig) == nil
		}
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.VerifyPSS(k, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case famEC:
		k, ok := key.(*ecdsa.PublicKey)
		// RFC 7518 §3.4: the JWS signature is R and S as fixed-size
		// big-endian octets, never DER; any other length is refused.
		if !ok || k.Curve != a.curve || len(sig) != 2*a.size {
			return false
		}
		r, s := sig[:a.size], sig[a.size:]
		if isZero(r) || isZero(s) {
			// The "psychic signature" (CVE-2022-21449): r = s = 0
			// verifies everything in a broken implementation.
			return false
		}
		var buf [64]byte
		digest := hashInto(a.hash, buf[:0], signed)
		var der [2*66 + 16]byte
		return ecdsa.VerifyASN1(k, digest, asn1Signature(der[:0], r, s))
	}
	return false
}

// hashInto appends the digest of data with h to dst, without allocating.
func hashInto(h crypto.Hash, dst, data []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(data)
		return append(dst, d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(data)
		return append(dst, d[:]...)
	case crypto.SHA512:
		d := sha512.Sum512(data)
		return append(dst, d[:]...)
	}
	return nil
}

func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// asn1Signature appends the DER encoding of the ECDSA signature (r, s),
// given as unsigned big-endian integers of at most 66 bytes:
//
//	SEQUENCE { INTEGER r, INTEGER s }
//
// ecdsa.VerifyASN1 is the standard library's cheapest entry point; going
// through big.Int for ecdsa.Verify costs a dozen more allocations.
func asn1Signature(dst, r, s []byte) []byte {
	r, s = trimInt(r), trimInt(s)
	rl, sl := intLen(r), intLen(s)
	body := 2 + rl + 2 + sl
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	dst = appendInt(dst, r, rl)
	return appendInt(dst, s, sl)
}

func trimInt(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// intLen is the length of the DER INTEGER content for the unsigned b: a
// leading zero keeps a high first bit from reading as negative.
func intLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

func appendInt(dst, b []byte, n int) []byte {
	dst = append(dst, 0x02, byte(n))
	if n > len(b) {
		dst = append(dst, 0)
	}
	return append(dst, b...)
}
