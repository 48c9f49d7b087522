package dpop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/forwarded"
	"github.com/audexum/auth/internal/jws"
)

// Defaults and limits of [Config].
const (
	// DefaultWindow is how far a proof's "iat" may be from now, in the
	// past or the future, when Config.Window is zero.
	DefaultWindow = time.Minute
	// MaxWindow is the largest Config.Window accepted.
	MaxWindow = 5 * time.Minute
	// DefaultMaxProofSize is the longest proof accepted, in bytes, when
	// Config.MaxProofSize is zero: a proof with an RSA-4096 key and a
	// long URI fits.
	DefaultMaxProofSize = 4 << 10
)

// Algorithm names accepted in Config.Algorithms: asymmetric JWS
// algorithms only (RFC 9449 §4.2: "MUST NOT be none or an identifier for
// a symmetric algorithm").
const (
	ES256 = jws.ES256
	ES384 = jws.ES384
	ES512 = jws.ES512
	EdDSA = jws.EdDSA
	RS256 = jws.RS256
	PS256 = jws.PS256
)

// defaultAlgorithms are the proof algorithms when Config.Algorithms is
// empty: what mobile platforms' key stores make (ES256 in the Secure
// Enclave and Android Keystore), Ed25519, and RSA for older clients.
var defaultAlgorithms = []string{ES256, EdDSA, RS256, PS256}

// Config configures a [Checker]. The zero value of every field is the
// secure choice, and the zero Config is usable: every check of RFC 9449
// §4.3 is always made; the fields tune their limits.
type Config struct {
	// Algorithms is the allow-list of proof algorithms (ES256, ES384,
	// ES512, EdDSA, RS256, PS256, …; "none" and HMAC cannot be listed).
	// A proof's key must fit its algorithm: a P-256 key for ES256, an
	// Ed25519 key for EdDSA, RSA of 2048 bits or more for RS256 and
	// PS256. If empty, ES256, EdDSA, RS256 and PS256. They are listed in
	// the challenges' algs parameter.
	Algorithms []string

	// Window is how far a proof's "iat" may be from the server's clock,
	// in the past (how long a proof stays usable) or in the future (clock
	// skew). If zero, [DefaultWindow] (one minute); at most [MaxWindow].
	// Accepted proofs are remembered for as long as they could be
	// accepted, so a longer window also means a larger replay cache.
	Window time.Duration

	// TrustedProxies lists the networks of reverse proxies in front of
	// the server (as for [auth.ClientNetwork]; use the networks given to
	// [auth.RequireHTTPS] and the Throttle). A proof from behind one of
	// them names the scheme and host of its X-Forwarded-Proto and
	// X-Forwarded-Host, each believed only as exactly one header with
	// one value (https or http; a host with an optional port): a list,
	// or any other value, refuses the proof. From any other peer both
	// headers are ignored and the request's own scheme (TLS or not) and
	// Host count.
	TrustedProxies []netip.Prefix

	// Replay remembers accepted proofs, so each is accepted once. If nil,
	// a [MemoryReplayCache] of [DefaultReplayCacheSize]. A fleet shares
	// one store (see [ReplayStore]).
	Replay ReplayStore

	// RequireNonce makes every proof carry a nonce this server issued
	// (RFC 9449 §8, §9): a proof without one, or with a stale one, is
	// answered use_dpop_nonce with a fresh nonce in DPoP-Nonce, and the
	// client signs a new proof with it. It costs each client one extra
	// round trip every NonceLifetime, and it stops proofs made in
	// advance: whoever briefly had use of the client's key (malware on
	// the device, a compromised signing service) cannot have prepared
	// proofs for later. Without it, proofs are bounded by Window alone.
	RequireNonce bool

	// NonceKey derives the nonces: instances of a fleet given the same
	// [NonceKeySize] random bytes issue and accept the same nonces. If
	// nil, a random key of this process (nonces it issued stop working
	// when it restarts, which costs clients one retry). Keep it secret:
	// whoever has it can make nonces for any time.
	NonceKey []byte

	// NonceLifetime is how long a nonce is current; it is accepted for
	// one lifetime more. If zero, [DefaultNonceLifetime].
	NonceLifetime time.Duration

	// MaxProofSize is the longest proof accepted, in bytes, checked
	// before anything is decoded. If zero, [DefaultMaxProofSize]; at
	// most [auth.MaxProofLength].
	MaxProofSize int

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Checker checks DPoP proofs (RFC 9449 §4.3). It is the [auth.ProofChecker]
// of an [auth.Authenticator] (put it in auth.Config.DPoP) and checks the
// proofs of token requests for the authorization server
// ([Checker.CheckTokenRequest]). Create one with [NewChecker]; it is safe
// for concurrent use.
type Checker struct {
	allowed  []*jws.Algorithm
	algNames []string
	window   float64 // seconds
	windowD  time.Duration
	proxies  []netip.Prefix
	replay   ReplayStore
	nonces   *nonces
	maxSize  int
	now      func() time.Time
}

var _ auth.ProofChecker = (*Checker)(nil)

// NewChecker returns a Checker for cfg. It fails with an error wrapping
// [ErrInvalidConfig] when an algorithm is unknown, "none" or HMAC, a
// trusted proxy prefix is invalid, the nonce key is not [NonceKeySize]
// bytes, or a limit is out of range.
func NewChecker(cfg Config) (*Checker, error) {
	c := &Checker{replay: cfg.Replay, now: cfg.Now, maxSize: cfg.MaxProofSize}
	if c.now == nil {
		c.now = time.Now
	}
	names := cfg.Algorithms
	if len(names) == 0 {
		names = defaultAlgorithms
	}
	for _, name := range names {
		a := jws.Lookup(name)
		if a == nil {
			return nil, configError("algorithm %q is not supported", name)
		}
		c.allowed = append(c.allowed, a)
		c.algNames = append(c.algNames, a.Name)
	}
	switch {
	case cfg.Window < 0 || cfg.Window > MaxWindow:
		return nil, configError("Window must be between 0 and %v", MaxWindow)
	case cfg.Window == 0:
		c.windowD = DefaultWindow
	default:
		c.windowD = cfg.Window
	}
	c.window = c.windowD.Seconds()
	switch {
	case c.maxSize < 0 || c.maxSize > auth.MaxProofLength:
		return nil, configError("MaxProofSize must be between 0 and %d", auth.MaxProofLength)
	case c.maxSize == 0:
		c.maxSize = DefaultMaxProofSize
	}
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, configError("TrustedProxies[%d] is not a valid prefix", i)
		}
		c.proxies = append(c.proxies, p.Masked())
	}
	if c.replay == nil {
		c.replay, _ = NewMemoryReplayCache(0)
	}
	if cfg.NonceLifetime < 0 {
		return nil, configError("negative NonceLifetime")
	}
	if cfg.RequireNonce {
		key := cfg.NonceKey
		switch {
		case key == nil:
			key = make([]byte, NonceKeySize)
			rand.Read(key)
		case len(key) != NonceKeySize:
			return nil, configError("NonceKey must be %d bytes", NonceKeySize)
		}
		c.nonces = &nonces{key: append([]byte(nil), key...), period: cfg.NonceLifetime}
		if c.nonces.period == 0 {
			c.nonces.period = DefaultNonceLifetime
		}
	}
	return c, nil
}

// Algorithms returns the allowed proof algorithms, for the algs parameter
// of the challenges (RFC 9449 §7.1) and the authorization server's
// dpop_signing_alg_values_supported metadata (§5.1).
func (c *Checker) Algorithms() []string { return append([]string(nil), c.algNames...) }

// Nonce returns the nonce clients must put in their proofs now, for the
// DPoP-Nonce header, or "" when Config.RequireNonce is off.
func (c *Checker) Nonce() string {
	if c.nonces == nil {
		return ""
	}
	return c.nonces.slot(c.now()).current
}

// target is what a proof must have been made for.
type target struct {
	method, scheme, host, path string
	// token is the access token presented with the proof ("" at the
	// token endpoint): "ath" must be its hash.
	token string
	// jkt is the thumbprint of the key the token (or grant) is bound
	// to; "" accepts any key (a token request that binds a new one).
	jkt string
}

// CheckProof checks proof for a request to a protected resource made with
// accessToken, a token bound to the key whose thumbprint is jkt. It
// implements [auth.ProofChecker]; the Authenticator calls it with the
// request's one DPoP header. The checks, in order, the first failure
// deciding the error (see the sentinels):
//
//  1. size (MaxProofSize), then a compact JWS of three parts;
//  2. header: "typ" "dpop+jwt", "alg" in the allow-list, "jwk" a public
//     key that fits it (never private, never "none" or HMAC), no "crit";
//  3. claims: "jti", "htm", "htu", "iat" and "ath" present, of their types;
//  4. "htm" is the method, "htu" the URI without query and fragment
//     (normalized, behind TrustedProxies the client's scheme and host);
//  5. "iat" within Window of now;
//  6. "ath" the base64url SHA-256 of accessToken;
//  7. the nonce, with RequireNonce;
//  8. the signature, with the jwk;
//  9. the jwk's RFC 7638 thumbprint equals jkt;
//  10. the proof (its key and "jti") was not accepted before: it is
//     claimed in the ReplayStore until it can no longer pass check 5.
func (c *Checker) CheckProof(r *http.Request, proof, accessToken, jkt string) error {
	if jkt == "" || accessToken == "" {
		// A proof never makes a bearer token sender-constrained: without
		// the token's binding there is nothing to check the key against.
		return ErrKeyMismatch
	}
	scheme, host, ok := forwarded.Origin(r, c.proxies)
	if !ok {
		return ErrURI
	}
	t := target{method: r.Method, scheme: scheme, host: host, path: requestPath(r), token: accessToken, jkt: jkt}
	_, err := c.check(r.Context(), proof, &t)
	return err
}

// requestPath returns the escaped path of r, as the client sent it.
func requestPath(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	return r.URL.EscapedPath()
}

// CheckTokenRequest checks the DPoP proof of a request to the
// authorization server's token endpoint (RFC 9449 §5) and returns the
// RFC 7638 thumbprint of its key, to bind the tokens issued. endpoint is
// the token endpoint's URL as the server publishes it ("htu" is compared
// with it, not with what the request says about itself). It checks what
// CheckProof does, less "ath" (there is no access token) and less the
// binding, which is the caller's to compare: the key of a code's
// dpop_jkt or of a bound refresh token.
//
// A request with no DPoP header gets [ErrNoProof], one with several
// [ErrMalformed]; both match [auth.ErrInvalidProof].
func (c *Checker) CheckTokenRequest(r *http.Request, endpoint string) (string, error) {
	proofs := r.Header["Dpop"]
	switch len(proofs) {
	case 0:
		return "", ErrNoProof
	case 1:
	default:
		return "", errMultipleProof
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", ErrURI
	}
	t := target{method: r.Method, scheme: u.Scheme, host: u.Host, path: u.EscapedPath()}
	return c.check(r.Context(), proofs[0], &t)
}

// Limits of the parts of a proof, checked before anything is decoded.
const (
	maxHeaderChars    = 2048 // base64url: an RSA-8192 jwk fits
	maxPayloadChars   = 3072 // base64url: a 2 KB htu fits
	maxSignatureChars = 1366 // base64url of 1024 bytes: RSA-8192
	maxJTILength      = 256
)

// proofClaims are the claims a proof must carry (RFC 9449 §4.2).
type proofClaims struct {
	jti, htm, htu, ath, nonce string
	iat                       float64
	has                       uint8
}

const (
	hasJTI uint8 = 1 << iota
	hasHTM
	hasHTU
	hasIAT
	hasATH
	hasNonce
)

// check runs every check of a proof against t and returns its key's
// thumbprint.
func (c *Checker) check(ctx context.Context, proof string, t *target) (string, error) {
	// 1. Size and shape, before anything is decoded.
	if len(proof) > c.maxSize {
		return "", ErrTooLarge
	}
	d1 := strings.IndexByte(proof, '.')
	if d1 < 0 {
		return "", ErrMalformed
	}
	d2 := strings.IndexByte(proof[d1+1:], '.')
	if d2 < 0 {
		return "", ErrMalformed
	}
	d2 += d1 + 1
	if strings.IndexByte(proof[d2+1:], '.') >= 0 {
		return "", ErrMalformed
	}
	hlen, plen, slen := d1, d2-d1-1, len(proof)-d2-1
	switch {
	case hlen == 0 || plen == 0 || slen == 0:
		return "", ErrMalformed
	case hlen > maxHeaderChars || plen > maxPayloadChars || slen > maxSignatureChars:
		return "", ErrTooLarge
	}

	// 2. The header and its key.
	var hbuf [maxHeaderChars * 3 / 4]byte
	n, err := b64.Decode(hbuf[:], []byte(proof[:d1]))
	if err != nil {
		return "", ErrMalformed
	}
	alg, jwk, err := c.parseHeader(string(hbuf[:n]))
	if err != nil {
		return "", err
	}
	key, err := parseJWK(jwk, alg)
	if err != nil {
		return "", err
	}

	// 3. The claims.
	var pbuf [maxPayloadChars * 3 / 4]byte
	n, err = b64.Decode(pbuf[:], []byte(proof[d1+1:d2]))
	if err != nil {
		return "", ErrMalformed
	}
	var pc proofClaims
	if err := parseProofClaims(string(pbuf[:n]), &pc); err != nil {
		return "", err
	}
	if pc.has&(hasJTI|hasHTM|hasHTU|hasIAT) != hasJTI|hasHTM|hasHTU|hasIAT {
		return "", ErrMissingClaim
	}

	// 4. The request it was made for. Methods are case-sensitive (RFC
	// 9110 §9.1).
	if pc.htm != t.method {
		return "", ErrMethod
	}
	if !matchURI(pc.htu, t.scheme, t.host, t.path) {
		return "", ErrURI
	}

	// 5. Fresh: RFC 9449 §11.1 bounds replays by time first.
	now := c.now()
	nowS := float64(now.UnixNano()) / 1e9
	if math.Abs(nowS-pc.iat) > c.window {
		return "", ErrIssuedAt
	}

	// 6. RFC 9449 §4.3, check 11: with an access token, "ath" is its
	// hash, so the proof cannot be moved to another token.
	if t.token != "" {
		if pc.has&hasATH == 0 {
			return "", ErrMissingClaim
		}
		sum := sha256.Sum256([]byte(t.token))
		var enc [43]byte
		base64.RawURLEncoding.Encode(enc[:], sum[:])
		if pc.ath != string(enc[:]) {
			return "", ErrTokenHash
		}
	}

	// 7. The server's nonce (§9), checked before the signature is paid
	// for: the nonce is public, so answering without a signature tells
	// nothing.
	if c.nonces != nil && !c.nonces.valid(pc.nonce, now) {
		return "", ErrNonce
	}

	// 8. The signature, with the key in the header.
	var sbuf [maxSignatureChars * 3 / 4]byte
	n, err = b64.Decode(sbuf[:], []byte(proof[d2+1:]))
	if err != nil {
		return "", ErrMalformed
	}
	if !alg.Verify(key.key, []byte(proof[:d2]), sbuf[:n]) {
		return "", ErrSignature
	}

	// 9. The binding: the token's cnf.jkt (RFC 9449 §4.3, check 12).
	var jkt [43]byte
	base64.RawURLEncoding.Encode(jkt[:], key.thumbprintSum[:])
	if t.jkt != "" && t.jkt != string(jkt[:]) {
		return "", ErrKeyMismatch
	}

	// 10. Once: claimed last, so only proofs that passed everything
	// else take room in the store.
	var kb [len(jkt) + 1 + maxJTILength]byte
	rk := ReplayKey(sha256.Sum256(append(append(append(kb[:0], jkt[:]...), 0), pc.jti...)))
	// Remembered as long as check 5 could pass it; a second more covers
	// the rounding of fractional times.
	expires := time.Unix(0, int64((pc.iat+c.window)*1e9)).Add(time.Second)
	fresh, err := c.replay.ClaimProof(ctx, rk, now, expires)
	switch {
	case err != nil:
		return "", ErrReplayCheck
	case !fresh:
		return "", ErrReplay
	}
	return string(jkt[:]), nil
}

// parseHeader reads a proof's JOSE header: "typ" must be "dpop+jwt",
// "alg" allowed, "jwk" present (its raw JSON is returned). Names compare
// exactly and may not repeat; "crit" and "b64" are refused (no extension
// is implemented, RFC 7515 §4.1.11). "kid", "jku", "x5u" and "x5c" are
// ignored: the key is the jwk, always.
func (c *Checker) parseHeader(h string) (*jws.Algorithm, string, error) {
	m, ok := jws.NewMembers(h)
	if !ok {
		return nil, "", ErrMalformed
	}
	var algName, typ, jwk string
	var seen uint8
	for {
		name, val, ok := m.Next()
		if !ok {
			break
		}
		var bit uint8
		switch name {
		case "alg":
			bit = 1
		case "typ":
			bit = 2
		case "jwk":
			bit = 4
		case "crit", "b64":
			return nil, "", ErrMalformed
		default:
			continue
		}
		if seen&bit != 0 {
			return nil, "", ErrMalformed
		}
		seen |= bit
		if bit == 4 {
			jwk = val
			continue
		}
		s, ok := jws.JSONString(val)
		if !ok {
			return nil, "", ErrMalformed
		}
		if bit == 1 {
			algName = s
		} else {
			typ = s
		}
	}
	if !m.End() || seen&1 == 0 {
		return nil, "", ErrMalformed
	}
	// RFC 9449 §4.3, check 4 (with RFC 7515 §4.1.9's optional prefix).
	if !isProofType(typ) {
		return nil, "", ErrType
	}
	// Check 5: "none" and HMAC are never in the list.
	var alg *jws.Algorithm
	for _, a := range c.allowed {
		if a.Name == algName {
			alg = a
			break
		}
	}
	if alg == nil {
		return nil, "", ErrAlgorithm
	}
	if seen&4 == 0 {
		return nil, "", ErrKey
	}
	return alg, jwk, nil
}

func isProofType(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, "dpop+jwt")
}

// proofClaimNames are the claims read, by their bits.
var proofClaimNames = [...]string{"jti", "htm", "htu", "iat", "ath", "nonce"}

// parseProofClaims reads the claims set p into pc. A repeated claim, or a
// case variant of one (which other decoders would merge), is refused.
func parseProofClaims(p string, pc *proofClaims) error {
	m, ok := jws.NewMembers(p)
	if !ok {
		return ErrMalformed
	}
	for {
		name, val, ok := m.Next()
		if !ok {
			break
		}
		var bit uint8
		for i, n := range proofClaimNames {
			if n == name {
				bit = 1 << i
				break
			}
		}
		if bit == 0 {
			if len(name) <= len("nonce") {
				for _, n := range proofClaimNames {
					if strings.EqualFold(n, name) {
						return ErrMalformed
					}
				}
			}
			continue
		}
		if pc.has&bit != 0 {
			return ErrMalformed
		}
		pc.has |= bit
		if bit == hasIAT {
			// RFC 7519 §2 NumericDate: a JSON number, never a string.
			if val == "" || (val[0] != '-' && (val[0] < '0' || val[0] > '9')) {
				return ErrMalformed
			}
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsInf(f, 0) || math.Abs(f) > 253402300799 {
				return ErrMalformed
			}
			pc.iat = f
			continue
		}
		s, ok := jws.JSONString(val)
		if !ok {
			return ErrMalformed
		}
		switch bit {
		case hasJTI:
			if s == "" || len(s) > maxJTILength {
				return ErrMalformed
			}
			pc.jti = s
		case hasHTM:
			pc.htm = s
		case hasHTU:
			pc.htu = s
		case hasATH:
			pc.ath = s
		case hasNonce:
			pc.nonce = s
		}
	}
	if !m.End() {
		return ErrMalformed
	}
	return nil
}
