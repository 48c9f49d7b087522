package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/audexum/auth/internal/jws"
)

// SignerConfig configures a [Signer].
type SignerConfig struct {
	// Key is the client's private key, which its proofs prove it holds:
	// an *ecdsa.PrivateKey (P-256, P-384 or P-521), an
	// ed25519.PrivateKey, an *rsa.PrivateKey of 2048 bits or more, or any
	// crypto.Signer with such a public key (a key in a hardware store).
	// Keep it for as long as the tokens and refresh tokens bound to it
	// are used. Required.
	Key crypto.Signer

	// Algorithm is the JWS algorithm of the proofs. If empty, the one the
	// key's type calls for: ES256, ES384 or ES512 by curve, EdDSA, or
	// PS256 for RSA. It must be one the servers accept (their
	// dpop_signing_alg_values_supported metadata, the algs of their
	// challenges).
	Algorithm string

	// Now returns the current time, the proofs' "iat". If nil, time.Now.
	Now func() time.Time
}

// Signer makes DPoP proofs (RFC 9449 §4) with one key: the client side of
// a [Checker]. Use it directly, or through a [Transport] that puts a proof
// on every request. Create one with [NewSigner]; it is safe for
// concurrent use.
type Signer struct {
	key    crypto.Signer
	alg    *jws.Algorithm
	header string // base64url of the JOSE header, the same for every proof
	jkt    string
	now    func() time.Time
}

// NewSigner returns a Signer for cfg. It fails with an error wrapping
// [ErrInvalidConfig] without a key, for a key of a type or size proofs
// cannot use, or an algorithm that does not fit the key.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Key == nil {
		return nil, configError("a Key is required")
	}
	pub, err := publicJWK(cfg.Key.Public())
	if err != nil {
		return nil, configError("%v", err)
	}
	name := cfg.Algorithm
	if name == "" {
		switch k := pub.key.(type) {
		case *ecdsa.PublicKey:
			name = map[string]string{"P-256": ES256, "P-384": ES384, "P-521": ES512}[curveName(k.Curve)]
		case ed25519.PublicKey:
			name = EdDSA
		case *rsa.PublicKey:
			name = PS256
		}
	}
	alg := jws.Lookup(name)
	if alg == nil || !alg.Fits(pub.key) {
		return nil, configError("algorithm %q cannot sign with a %T", name, pub.key)
	}
	hdr := `{"typ":"dpop+jwt","alg":"` + alg.Name + `","jwk":` + pub.json() + `}`
	sum := pub.thumbprint()
	s := &Signer{
		key:    cfg.Key,
		alg:    alg,
		header: base64.RawURLEncoding.EncodeToString([]byte(hdr)),
		jkt:    base64.RawURLEncoding.EncodeToString(sum[:]),
		now:    cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Thumbprint returns the RFC 7638 thumbprint of the signer's key: the
// dpop_jkt of an authorization request (RFC 9449 §10), and the "jkt" the
// server puts in tokens bound to it.
func (s *Signer) Thumbprint() string { return s.jkt }

// Algorithm returns the JWS algorithm of the proofs.
func (s *Signer) Algorithm() string { return s.alg.Name }

// proofClaimsJSON are the claims of a proof (RFC 9449 §4.2).
type proofClaimsJSON struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a new proof for a request with the given method and URI
// (its query and fragment are left out of "htu", as RFC 9449 §4.2 says).
// With an access token (to present with the DPoP scheme) the proof
// carries its hash, "ath"; at the token endpoint pass "". nonce is the
// server's last DPoP-Nonce, or "". Every proof has a new random "jti"
// and the current time: make one per request, never reuse one.
func (s *Signer) Proof(method, uri, accessToken, nonce string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", fmt.Errorf("dpop: proof URI %q is not absolute", uri)
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	var id [16]byte
	rand.Read(id[:])
	c := proofClaimsJSON{
		JTI:   base64.RawURLEncoding.EncodeToString(id[:]),
		HTM:   method,
		HTU:   u.String(),
		IAT:   s.now().Unix(),
		Nonce: nonce,
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := s.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := s.sign([]byte(input))
	if err != nil {
		return "", fmt.Errorf("dpop: signing a proof: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// sign returns the JWS signature of input (RFC 7518 §3, RFC 8037 §3.1).
func (s *Signer) sign(input []byte) ([]byte, error) {
	if s.alg.Family == jws.FamilyEd {
		return s.key.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := s.alg.Hash.New()
	h.Write(input)
	digest := h.Sum(nil)
	switch s.alg.Family {
	case jws.FamilyRSA:
		return s.key.Sign(rand.Reader, digest, s.alg.Hash)
	case jws.FamilyPSS:
		return s.key.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: s.alg.Hash})
	}
	der, err := s.key.Sign(rand.Reader, digest, s.alg.Hash)
	if err != nil {
		return nil, err
	}
	// RFC 7518 §3.4: R and S as fixed-size big-endian octets, not DER.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*s.alg.Size || rs.S.BitLen() > 8*s.alg.Size {
		return nil, fmt.Errorf("dpop: the key returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*s.alg.Size)
	rs.R.FillBytes(out[:s.alg.Size])
	rs.S.FillBytes(out[s.alg.Size:])
	return out, nil
}
