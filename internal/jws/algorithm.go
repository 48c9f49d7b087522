package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
)

// Algorithm names (RFC 7518 §3.1, RFC 8037 §3.1). "none" and the HMAC
// algorithms are not among them: a JWS is verified with a public key,
// never with a shared secret (RFC 8725 §3.1, §3.2).
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

// Family is a kind of signature algorithm.
type Family uint8

// The families.
const (
	FamilyRSA Family = iota + 1 // RSASSA-PKCS1-v1_5
	FamilyPSS                   // RSASSA-PSS
	FamilyEC                    // ECDSA
	FamilyEd                    // Ed25519
)

// Algorithm is one JWS signature algorithm with everything needed to check
// a signature with it. The values Lookup returns are shared: read only.
type Algorithm struct {
	Name   string
	Family Family
	Hash   crypto.Hash    // not for EdDSA
	Curve  elliptic.Curve // ECDSA only
	Size   int            // ECDSA: bytes of r and of s
}

var algorithms = [...]Algorithm{
	{Name: RS256, Family: FamilyRSA, Hash: crypto.SHA256},
	{Name: RS384, Family: FamilyRSA, Hash: crypto.SHA384},
	{Name: RS512, Family: FamilyRSA, Hash: crypto.SHA512},
	{Name: PS256, Family: FamilyPSS, Hash: crypto.SHA256},
	{Name: PS384, Family: FamilyPSS, Hash: crypto.SHA384},
	{Name: PS512, Family: FamilyPSS, Hash: crypto.SHA512},
	{Name: ES256, Family: FamilyEC, Hash: crypto.SHA256, Curve: elliptic.P256(), Size: 32},
	{Name: ES384, Family: FamilyEC, Hash: crypto.SHA384, Curve: elliptic.P384(), Size: 48},
	{Name: ES512, Family: FamilyEC, Hash: crypto.SHA512, Curve: elliptic.P521(), Size: 66},
	{Name: EdDSA, Family: FamilyEd},
}

// Lookup returns the algorithm named name (case-sensitive, as JWS
// requires: "none", "None" and "rs256" are all unknown).
func Lookup(name string) *Algorithm {
	for i := range algorithms {
		if algorithms[i].Name == name {
			return &algorithms[i]
		}
	}
	return nil
}

// Fits reports whether key can be used with a: the right type, and for
// ECDSA the curve that the algorithm names.
func (a *Algorithm) Fits(key crypto.PublicKey) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return a.Family == FamilyRSA || a.Family == FamilyPSS
	case *ecdsa.PublicKey:
		return a.Family == FamilyEC && k.Curve == a.Curve
	case ed25519.PublicKey:
		return a.Family == FamilyEd && len(k) == ed25519.PublicKeySize
	}
	return false
}

// MinRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3, §3.5).
const MinRSABits = 2048

// Verify reports whether sig is a signature by key over signed. The key
// must fit a (checked when the key was bound); a key of another type fails.
// The hashing is done here, not by the caller, so the hash is always the
// one the bound algorithm names.
func (a *Algorithm) Verify(key crypto.PublicKey, signed, sig []byte) bool {
	switch a.Family {
	case FamilyEd:
		k, ok := key.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(k, signed, sig)
	case FamilyRSA, FamilyPSS:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		var buf [64]byte
		digest := hashInto(a.Hash, buf[:0], signed)
		if a.Family == FamilyRSA {
			return rsa.VerifyPKCS1v15(k, a.Hash, digest, sig) == nil
		}
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.VerifyPSS(k, a.Hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case FamilyEC:
		k, ok := key.(*ecdsa.PublicKey)
		// RFC 7518 §3.4: the JWS signature is R and S as fixed-size
		// big-endian octets, never DER; any other length is refused.
		if !ok || k.Curve != a.Curve || len(sig) != 2*a.Size {
			return false
		}
		r, s := sig[:a.Size], sig[a.Size:]
		if isZero(r) || isZero(s) {
			// The "psychic signature" (CVE-2022-21449): r = s = 0
			// verifies everything in a broken implementation.
			return false
		}
		var buf [64]byte
		digest := hashInto(a.Hash, buf[:0], signed)
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
