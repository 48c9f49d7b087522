package jwt

import "github.com/audexum/auth/internal/jws"

// Algorithm names (RFC 7518 §3.1, RFC 8037 §3.1) accepted in
// [Config.Algorithms] and [KeyManagerConfig.Algorithm]. "none" and the HMAC
// algorithms are not among them: an access token is verified with a public
// key, never with a shared secret (RFC 8725 §3.1, §3.2).
const (
	RS256 = jws.RS256
	RS384 = jws.RS384
	RS512 = jws.RS512
	PS256 = jws.PS256
	PS384 = jws.PS384
	PS512 = jws.PS512
	ES256 = jws.ES256
	ES384 = jws.ES384
	ES512 = jws.ES512
	EdDSA = jws.EdDSA
)

// algorithm is one JWS signature algorithm; the table and the signature
// checks are shared with package dpop in internal/jose.
type algorithm = jws.Algorithm

// lookupAlgorithm returns the algorithm named name, or nil.
func lookupAlgorithm(name string) *algorithm { return jws.Lookup(name) }

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3, §3.5).
const minRSABits = jws.MinRSABits
