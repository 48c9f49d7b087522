package jwt

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/cache"
)

// Verifier verifies OAuth 2.0 JWT access tokens (RFC 9068) as an
// [auth.Verifier]. Create one with [NewVerifier] and give it to
// [auth.Config.Verifiers]; it claims credentials shaped like a compact JWS
// (see [Verifier.MatchShape]).
//
// A Verifier is safe for concurrent use. One with JWKSURLs or Keyfunc runs
// a background refresh; call [Verifier.Close] to stop it.
type Verifier struct {
	issuer    string
	audiences []string
	allowed   []*algorithm
	sources   []*keySource // in lookup order: given keys, key set, remotes, keyfunc
	keyfunc   *keySource   // Config.Keyfunc's keys; nil without it
	remotes   []*keySource
	leeway    float64 // seconds
	lifetime  float64 // seconds: the longest exp - iat
	maxSize   int
	required  uint16 // tokenClaims bits that must be present
	anyType   bool
	cache     *cache.Map[string, *cacheEntry] // nil: no cache
	revoked   func(ctx context.Context, jti string) (bool, error)
	now       func() time.Time

	refresher
}

// b64 decodes JWS segments: base64url without padding (RFC 7515 §2),
// refusing non-canonical encodings so one token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Limits checked before a segment is decoded.
const (
	maxHeaderLength    = 1024 // base64url characters; real headers are under 300
	maxSignatureLength = 683  // base64url of 512 bytes: RSA-4096
	maxKidlessTries    = 3    // keys tried for a token without "kid"
)

// NewVerifier returns a Verifier for cfg. It fails with an error wrapping
// [ErrInvalidConfig] (and [auth.ErrInvalidConfig]) when the issuer, the
// audiences, the algorithm allow-list or every key source is missing,
// when an algorithm is unknown, "none" or HMAC, when a given key is
// unusable, or when a limit is out of range. Remote JWKS are fetched, and
// Config.Keyfunc's storage read, in the background: NewVerifier does no
// I/O, and [Verifier.Ready] tells when their keys are loaded.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{
		issuer:   cfg.Issuer,
		maxSize:  cfg.MaxTokenSize,
		anyType:  cfg.InsecureAllowAnyType,
		revoked:  cfg.Revoked,
		now:      cfg.Now,
		required: hasSub | hasClientID | hasIat | hasJti,
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.Issuer == "" {
		return nil, configError("Issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, configError("at least one audience is required")
	}
	for _, a := range cfg.Audiences {
		if a == "" {
			return nil, configError("empty audience")
		}
	}
	v.audiences = append([]string(nil), cfg.Audiences...)
	if len(cfg.Algorithms) == 0 {
		return nil, configError("an algorithm allow-list is required")
	}
	for _, name := range cfg.Algorithms {
		a := lookupAlgorithm(name)
		if a == nil {
			// "none", "HS256" and misspellings all end here: RFC 8725
			// §3.1, a verifier uses only algorithms it was told to.
			return nil, configError("algorithm %q is not supported", name)
		}
		v.allowed = append(v.allowed, a)
	}
	switch {
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return nil, configError("Leeway must be between 0 and %v", MaxLeeway)
	case cfg.Leeway == 0:
		v.leeway = DefaultLeeway.Seconds()
	default:
		v.leeway = cfg.Leeway.Seconds()
	}
	switch {
	case cfg.MaxTokenLifetime < 0:
		return nil, configError("negative MaxTokenLifetime")
	case cfg.MaxTokenLifetime == 0:
		v.lifetime = DefaultMaxTokenLifetime.Seconds()
	default:
		v.lifetime = cfg.MaxTokenLifetime.Seconds()
	}
	switch {
	case cfg.MaxTokenSize < 0:
		return nil, configError("negative MaxTokenSize")
	case cfg.MaxTokenSize == 0:
		v.maxSize = DefaultMaxTokenSize
	}
	if cfg.CacheSize < 0 {
		return nil, configError("negative CacheSize")
	}
	if cfg.CacheSize > 0 {
		v.cache = cache.New[string, *cacheEntry](cfg.CacheSize)
	}
	for _, name := range cfg.InsecureOptionalClaims {
		switch name {
		case ClaimSubject, ClaimClientID, ClaimIssuedAt, ClaimID:
			v.required &^= claimBit(name)
		default:
			return nil, configError("claim %q cannot be made optional", name)
		}
	}
	if err := v.addGivenKeys(cfg); err != nil {
		return nil, err
	}
	if cfg.KeyManager != nil {
		if v.allowedAlgorithm(cfg.KeyManager.alg.Name) == nil {
			return nil, configError("the key set's algorithm %s is not in Algorithms", cfg.KeyManager.alg.Name)
		}
		if longest := cfg.KeyManager.maxLifetime; longest.Seconds() > v.lifetime {
			// Fail now rather than refuse the set's longer tokens later.
			return nil, configError("the key set's MaxTokenLifetime %v exceeds MaxTokenLifetime %v", longest, orDefault(cfg.MaxTokenLifetime, DefaultMaxTokenLifetime))
		}
		src := newLoadedSource(cfg.KeyManager.public)
		src.keySet = cfg.KeyManager
		v.sources = append(v.sources, src)
	}
	if err := v.addRemotes(cfg); err != nil {
		return nil, err
	}
	if err := v.addKeyfunc(cfg); err != nil {
		return nil, err
	}
	if len(v.sources) == 0 {
		return nil, configError("a key source is required (JWKSURLs, JWKS, Keys, KeyManager or Keyfunc)")
	}
	v.start()
	return v, nil
}

// allowedAlgorithm returns the allowed algorithm named name, or nil.
func (v *Verifier) allowedAlgorithm(name string) *algorithm {
	for _, a := range v.allowed {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// MatchShape reports whether credential looks like a compact JWS: a JSON
// header (base64url "eyJ") and exactly two dots. It is cheap and does no
// I/O, for [auth.Authenticator] to route credentials.
func (v *Verifier) MatchShape(credential string) bool {
	return len(credential) <= v.maxSize && strings.HasPrefix(credential, "eyJ") && strings.Count(credential, ".") == 2
}

// Verify verifies the access token and returns its principal. The checks
// run in this order, and the first that fails decides the error:
//
//  1. shape: a compact JWS no longer than MaxTokenSize, two dots;
//  2. header: "alg" in the allow-list, "typ" "at+jwt", no "crit";
//  3. the unverified "iss" equals the issuer, before any key is looked up;
//  4. the key: by "kid" from the configured sources, bound to "alg",
//     fetching the JWKS again (rate limited) when the "kid" is unknown;
//  5. the signature, then the claims: "exp", "nbf", "iat" with leeway,
//     "aud", the required "sub", "client_id", "iat" and "jti", and the
//     lifetime, "exp" minus "iat", within MaxTokenLifetime; a "cnf"
//     claim must bind the token to a DPoP key ("jkt", RFC 9449 §6.1),
//     which goes to Principal.KeyThumbprint;
//  6. for a key of Config.KeyManager, "iat" no later than the key's
//     retirement plus leeway;
//  7. Config.Revoked.
//
// Errors are, or wrap, a sentinel of this package. The principal is shared with later requests for the same token when the
// cache is on: treat it as read-only.
func (v *Verifier) Verify(ctx context.Context, token string) (*auth.Principal, error) {
	if len(token) > v.maxSize {
		return nil, ErrMalformed
	}
	var now time.Time
	if v.cache != nil {
		now = v.now()
		if e, ok := v.cache.Get(token, now); ok {
			if err := v.checkTimes(now, e.exp, e.nbf, e.iat, e.has); err != nil {
				return nil, err
			}
			// The key may have been retired or dropped since, by
			// this process or, seen at the last Reload, by another
			// sharing the store.
			if e.by.keySet != nil {
				if err := v.checkRetired(&e.by, e.iat, e.has); err != nil {
					return nil, err
				}
			}
			if err := v.checkRevoked(ctx, e.p.CredentialID); err != nil {
				return nil, err
			}
			return e.p, nil
		}
	}
	var c tokenClaims
	var by signingKey
	p, err := v.verify(ctx, token, &c, &by)
	if err != nil {
		return nil, err
	}
	if err := v.checkRevoked(ctx, p.CredentialID); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.Put(token, &cacheEntry{p: p, exp: c.exp, nbf: c.nbf, iat: c.iat, has: c.has, by: by}, v.cacheUntil(c.exp), now)
	}
	return p, nil
}

// verify checks token and returns its principal; the claims, read into c,
// and the key that verified, into by, are kept for the cache.
func (v *Verifier) verify(ctx context.Context, token string, c *tokenClaims, by *signingKey) (*auth.Principal, error) {
	// 1. Exactly two dots, found before anything is decoded: a JWE (four
	// dots), the JSON serialisation (none) and 100 000 dots stop here.
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return nil, ErrMalformed
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return nil, ErrMalformed
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return nil, ErrMalformed
	}
	hlen, plen, slen := d1, d2-d1-1, len(token)-d2-1
	if hlen == 0 || plen == 0 || slen == 0 || hlen > maxHeaderLength || slen > maxSignatureLength {
		return nil, ErrMalformed
	}

	// One copy of the token as bytes serves every decoder and the
	// signature check.
	tb := []byte(token)

	// 2. The header.
	var hbuf [maxHeaderLength * 3 / 4]byte
	n, err := b64.Decode(hbuf[:], tb[:d1])
	if err != nil {
		return nil, ErrMalformed
	}
	var h header
	if err := parseHeader(string(hbuf[:n]), &h); err != nil {
		return nil, err
	}
	alg := v.allowedAlgorithm(h.alg)
	if alg == nil {
		return nil, ErrAlgorithm
	}
	if !v.anyType && !(h.hasTyp && isAccessTokenType(h.typ)) {
		return nil, ErrType
	}

	// The claims, decoded once: the issuer is needed before the key.
	payload := make([]byte, b64.DecodedLen(plen))
	n, err = b64.Decode(payload, tb[d1+1:d2])
	if err != nil {
		return nil, ErrMalformed
	}
	payload = payload[:n]
	if err := parseClaims(string(payload), c); err != nil {
		return nil, err
	}
	// 3. RFC 9068 §4: the issuer must match exactly, and is checked
	// before any key lookup, so tokens of other issuers never cause a
	// JWKS fetch.
	if c.has&hasIss == 0 || c.iss != v.issuer {
		return nil, ErrIssuer
	}

	// 4 and 5. The key and the signature.
	var sbuf [512]byte
	n, err = b64.Decode(sbuf[:], tb[d2+1:])
	if err != nil {
		return nil, ErrMalformed
	}
	if err := v.checkSignature(ctx, &h, alg, tb[:d2], sbuf[:n], by); err != nil {
		return nil, err
	}
	if err := v.checkClaims(c); err != nil {
		return nil, err
	}
	if by.keySet != nil {
		if err := v.checkRetired(by, c.iat, c.has); err != nil {
			return nil, err
		}
	}
	scopes, err := c.scopes()
	if err != nil {
		return nil, err
	}
	jkt, err := c.keyThumbprint()
	if err != nil {
		return nil, err
	}
	// RFC 9068 §2.2: a token a client got for itself carries its own
	// client_id as "sub"; any other subject is a user the client acts for.
	method := auth.MethodAuthorizationCode
	if c.sub == c.client {
		method = auth.MethodClientCredentials
	}
	return &auth.Principal{
		Subject:       c.sub,
		ClientID:      c.client,
		Scopes:        scopes,
		Method:        method,
		CredentialID:  c.jti,
		ExpiresAt:     dateTime(c.exp),
		Issuer:        c.iss,
		Claims:        json.RawMessage(payload),
		KeyThumbprint: jkt,
	}, nil
}

// checkSignature finds the key for the token, checks the signature with
// it, and reports the key in by.
func (v *Verifier) checkSignature(ctx context.Context, h *header, alg *algorithm, signed, sig []byte, by *signingKey) error {
	if !h.hasKid {
		return v.checkKidless(ctx, alg, signed, sig, by)
	}
	key, ks, err := v.key(ctx, h.kid, alg)
	if err != nil {
		return err
	}
	if !alg.Verify(key, signed, sig) {
		return ErrBadSignature
	}
	*by = signingKey{keySet: ks, kid: h.kid}
	return nil
}

// key returns the key named kid, bound to alg. An unknown kid makes the
// JWKS be fetched again, rate limited, and the request waits for the fetch
// at most RefreshWait. A fetch already running may have started before the
// key was published, so after it one more may start, within the same
// rate limit.
func (v *Verifier) key(ctx context.Context, kid string, alg *algorithm) (crypto.PublicKey, *KeyManager, error) {
	key, ks, err := v.lookup(ctx, kid, alg)
	if err != ErrUnknownKey || !v.refreshable() {
		return key, ks, err
	}
	var t *time.Timer // made only when there is a fetch to wait for
wait:
	for range 2 {
		run := v.runForUnknownKey(kid)
		if run == nil {
			break
		}
		if t == nil {
			t = time.NewTimer(v.wait)
			defer t.Stop()
		}
		select {
		case <-run.done:
		case <-t.C:
			break wait
		case <-ctx.Done():
			break wait
		}
		if key, ks, err = v.lookup(ctx, kid, alg); err != ErrUnknownKey {
			return key, ks, err
		}
		v.mu.Lock()
		ours := run.forUnknownKey
		v.mu.Unlock()
		if ours {
			break
		}
	}
	if !v.allLoaded() {
		// The key may be in a source that never loaded: neither
		// accept nor refuse (fail closed with 503).
		return nil, nil, ErrNoKeys
	}
	return nil, nil, ErrUnknownKey
}

func (v *Verifier) checkClaims(c *tokenClaims) error {
	if c.has&hasExp == 0 {
		return ErrMissingClaim
	}
	if err := v.checkTimes(v.now(), c.exp, c.nbf, c.iat, c.has); err != nil {
		return err
	}
	if c.has&hasAud == 0 {
		return ErrMissingClaim
	}
	if err := audienceMatches(c.aud, v.audiences); err != nil {
		return err
	}
	if c.has&v.required != v.required {
		return ErrMissingClaim
	}
	return v.checkLifetime(c)
}

// checkLifetime bounds how long a token is good for (issue 12): "exp"
// minus "iat" at most MaxTokenLifetime, without leeway since both come
// from the issuer's clock. A token without "iat" (allowed only by
// InsecureOptionalClaims) has no lifetime to measure, so its remaining
// time is bounded instead: "exp" at most MaxTokenLifetime and leeway from
// now. The result depends only on the token and the clock moving forward,
// so a cached token needs no second check.
func (v *Verifier) checkLifetime(c *tokenClaims) error {
	if c.has&hasIat != 0 {
		if c.exp-c.iat > v.lifetime {
			return ErrLifetimeTooLong
		}
		return nil
	}
	if now := float64(v.now().UnixNano()) / 1e9; c.exp-now > v.lifetime+v.leeway {
		return ErrLifetimeTooLong
	}
	return nil
}

// checkTimes checks "exp", "nbf" and "iat" against the time at, with
// leeway (RFC 7519 §4.1.4, §4.1.5; RFC 9068 §4 for "iat").
func (v *Verifier) checkTimes(at time.Time, exp, nbf, iat float64, has uint16) error {
	now := float64(at.UnixNano()) / 1e9
	if now >= exp+v.leeway {
		return ErrExpired
	}
	if has&hasNbf != 0 && nbf > now+v.leeway {
		return ErrNotYetValid
	}
	if has&hasIat != 0 && iat > now+v.leeway {
		return ErrNotYetValid
	}
	return nil
}

// checkRetired refuses a token whose key, of a KeyManager, was retired
// before the token's "iat" by more than the leeway (issue 12): whoever
// holds a retired key's private material can still sign, but not with a
// fresh "iat". Tokens issued before the retirement verify until they
// expire; without "iat" (InsecureOptionalClaims) nothing shows that, so a
// retired key's token is refused. A key the set no longer publishes is
// unknown. Keys of other sources carry no retirement time.
func (v *Verifier) checkRetired(by *signingKey, iat float64, has uint16) error {
	retired, ok := by.keySet.retiredAt(by.kid)
	switch {
	case !ok:
		return ErrUnknownKey
	case math.IsInf(retired, 1):
		return nil
	case has&hasIat == 0 || iat > retired+v.leeway:
		return ErrRetiredKey
	}
	return nil
}

func (v *Verifier) checkRevoked(ctx context.Context, jti string) error {
	if v.revoked == nil {
		return nil
	}
	revoked, err := v.revoked(ctx, jti)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRevocationCheck, err)
	}
	if revoked {
		return ErrRevoked
	}
	return nil
}
