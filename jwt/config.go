package jwt

import (
	"context"
	"crypto"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
)

// Defaults and limits of [Config].
const (
	// DefaultLeeway is the clock skew allowed on "exp", "nbf" and "iat"
	// when Config.Leeway is zero.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest Config.Leeway accepted.
	MaxLeeway = 5 * time.Minute
	// DefaultMaxTokenLifetime is the longest token lifetime ("exp" minus
	// "iat") a Verifier accepts when Config.MaxTokenLifetime is zero, and
	// the longest a Signer may give a token of a key set when
	// KeyManagerConfig.MaxTokenLifetime is zero. It is well above the hour
	// package oauth gives its access tokens by default.
	DefaultMaxTokenLifetime = 24 * time.Hour
	// DefaultMaxTokenSize is the longest token accepted, in bytes, when
	// Config.MaxTokenSize is zero.
	DefaultMaxTokenSize = 8 << 10
	// DefaultRefreshInterval is how often remote JWKS are fetched when
	// Config.RefreshInterval is zero.
	DefaultRefreshInterval = time.Hour
	// DefaultRefreshRateLimit is the shortest time between two fetches
	// caused by tokens with an unknown "kid", when Config.RefreshRateLimit
	// is zero.
	DefaultRefreshRateLimit = 5 * time.Minute
	// DefaultRefreshWait is the longest a request waits for a fetch caused
	// by its unknown "kid", when Config.RefreshWait is zero.
	DefaultRefreshWait = time.Second
	// DefaultFetchTimeout bounds one JWKS fetch, when Config.FetchTimeout
	// is zero.
	DefaultFetchTimeout = 10 * time.Second
	// MaxJWKSSize is the largest JWKS response body read; a longer one is
	// refused and the previous keys stay in use.
	MaxJWKSSize = 1 << 20
)

// Names of the claims [Config.InsecureOptionalClaims] may make optional.
const (
	ClaimSubject  = "sub"
	ClaimClientID = "client_id"
	ClaimIssuedAt = "iat"
	ClaimID       = "jti"
)

// Config configures a [Verifier]. The zero value of every field is the
// secure choice; Issuer, Audiences, Algorithms and at least one key source
// (JWKSURLs, JWKS, Keys, KeyManager or Keyfunc) must be set. Key sources
// combine: a "kid" is looked up in JWKS and Keys, then KeyManager, JWKSURLs
// and Keyfunc, and the first source that has it decides.
type Config struct {
	// Issuer is the exact "iss" every token must carry: the authorization
	// server's issuer identifier (RFC 9068 §4). It is compared byte for
	// byte, before any key is looked up: "https://as.example/" and
	// "https://as.example" are different issuers. Required.
	Issuer string

	// Audiences are the identifiers of this resource server. A token's
	// "aud" (a string or an array) must contain at least one of them
	// (RFC 9068 §4). Required.
	Audiences []string

	// Algorithms is the allow-list of JWS algorithms ([RS256], [ES256],
	// [EdDSA], …). A token whose "alg" is not listed is refused before any
	// key is looked up, and a key is only used with the one algorithm it is
	// bound to (RFC 8725 §3.1). "none" and HMAC algorithms cannot be listed.
	// Required.
	Algorithms []string

	// JWKSURLs are JWK Set endpoints of the issuer (its "jwks_uri"). They
	// are fetched in the background when the Verifier is created, then
	// every RefreshInterval, and when a token names an unknown "kid" (at
	// most once per RefreshRateLimit). They must be https URLs; http is
	// accepted only for loopback hosts (a sidecar, a test server), since
	// whoever can alter the response can mint tokens. A response that is
	// not a JWK Set with at least one usable key counts as a failed fetch:
	// the previous keys stay.
	JWKSURLs []string

	// JWKS is a JWK Set document (RFC 7517 §5) of trusted public keys.
	// Unsupported keys in it are skipped; a set with no usable key is an
	// error.
	JWKS []byte

	// Keys are trusted public keys, each bound to one algorithm.
	Keys []PublicKey

	// KeyManager, if set, is a key set of this process (the authorization
	// server verifying its own tokens): its published public keys are used
	// directly, rotations included, without HTTP. A token signed with a
	// retired key of the set is refused if its "iat" is later than the
	// key's retirement ([StoredKey.RetiredAt]) plus Leeway: whoever kept
	// the key can still sign, but not new tokens. Tokens issued before the
	// retirement verify until they expire. Keys from JWKSURLs, JWKS and
	// Keys carry no retirement time, so the rule does not apply to them:
	// their issuer ends a key's use by no longer publishing it.
	KeyManager *KeyManager

	// Keyfunc, if set, is a keyfunc (github.com/MicahParks/keyfunc/v3)
	// the service already runs, from keyfunc.NewDefaultCtx, keyfunc.New
	// or keyfunc.NewJWKSetJSON: the keys of its JWK Set storage
	// (Keyfunc.Storage) are used with this package's rules, not
	// keyfunc's. Each is bound to one algorithm as a JWKS key is: its
	// "alg", or without one the first of Algorithms its type and curve
	// fit. RSA keys under 2048 bits, HMAC secrets, encryption keys, keys
	// of no allowed algorithm and unsupported keys are skipped; a private
	// key counts as its public half. Its Keyfunc method is never called,
	// and "jku", "x5u" and "jwk" headers are ignored as with every source.
	//
	// The storage is read in the background into a copy that requests
	// use (a request never calls it, nor waits on keyfunc's rate
	// limiter): at once, then every minute (every RefreshInterval if
	// shorter), and when a token names a "kid" no source has, at most
	// once per RefreshRateLimit (shared with JWKSURLs). For that "kid" the
	// storage is first asked for it, so keyfunc's default storage fetches
	// its URLs, under keyfunc's own rate limit, within FetchTimeout and
	// not on the request's context; the request waits at most RefreshWait.
	// Fetching stays keyfunc's job (its interval, HTTP client and rate
	// limit, without the MaxJWKSSize cap: prefer JWKSURLs where no
	// keyfunc runs already), and Close does not stop it.
	//
	// A read that finds no usable key fails (OnRefreshError gets url
	// "keyfunc") and the previous keys stay. Until a read has found keys
	// the Verifier is not Ready, and a token whose key is in no source is
	// unavailable (503), not invalid. Keys the storage no longer holds
	// stop verifying at the next read, cached tokens included.
	Keyfunc keyfunc.Keyfunc

	// HTTPClient fetches JWKSURLs. If nil, a client with a FetchTimeout
	// timeout. Responses are read up to [MaxJWKSSize] whatever the client.
	HTTPClient *http.Client

	// FetchTimeout bounds each JWKS fetch. If zero, [DefaultFetchTimeout].
	FetchTimeout time.Duration

	// RefreshInterval is how often JWKSURLs are fetched. If zero,
	// [DefaultRefreshInterval]. Until a first fetch succeeds, the Verifier
	// retries sooner, backing off from one second. Keyfunc's storage is
	// read every minute, or every RefreshInterval if shorter.
	RefreshInterval time.Duration

	// RefreshRateLimit is the shortest time between two fetches caused by
	// tokens with an unknown "kid", for the whole Verifier: a flood of
	// tokens with made-up key IDs causes at most one fetch per window. If
	// zero, [DefaultRefreshRateLimit].
	RefreshRateLimit time.Duration

	// RefreshWait is the longest a request waits for the fetch its unknown
	// "kid" caused; after it the request is refused and the fetch goes on
	// for later requests. If zero, [DefaultRefreshWait].
	RefreshWait time.Duration

	// Leeway is the clock skew allowed when checking "exp", "nbf" and
	// "iat". If zero, [DefaultLeeway]; at most [MaxLeeway].
	Leeway time.Duration

	// MaxTokenLifetime is the longest lifetime a token may claim: "exp"
	// minus "iat" must not exceed it. As "iat" cannot be later than now
	// plus Leeway, a stolen token, or one minted with a stolen key, is then
	// good for at most MaxTokenLifetime and twice Leeway from any moment
	// it is accepted, not for as long as its "exp" says. No leeway is
	// added to the limit itself: both times come from the issuer's clock.
	// Set it to the longest lifetime the issuer mints (package oauth: an
	// hour by default), not more. If zero, [DefaultMaxTokenLifetime];
	// negative is an error, and so is a KeyManager whose MaxTokenLifetime is
	// longer. The limit cannot be turned off: an issuer of longer tokens
	// needs a larger value.
	//
	// "iat" is required (RFC 9068 §2.2). Where InsecureOptionalClaims lets
	// a token lack it, the limit applies to what remains measurable: such
	// a token's "exp" may be at most MaxTokenLifetime (plus Leeway) from
	// now.
	MaxTokenLifetime time.Duration

	// MaxTokenSize is the longest token accepted, in bytes, checked before
	// anything else. If zero, [DefaultMaxTokenSize].
	MaxTokenSize int

	// CacheSize is the number of verified tokens kept, keyed by the whole
	// token, so a repeated token costs a map lookup instead of a signature
	// check. Only tokens that passed every check enter it; the time claims
	// and, for a KeyManager's key, its retirement are re-checked and Revoked
	// is called on every hit. The cache is bounded: at most CacheSize
	// tokens; when it is full, a new token takes the place of one expired
	// for a minute or else of the least used of 8 drawn at random, so a
	// flood of new tokens does not push out the ones clients repeat. If
	// zero, no cache.
	CacheSize int

	// Revoked, if set, is called with the "jti" of every token that
	// otherwise verifies, cached or not. Returning true refuses the token;
	// returning an error makes the request fail as unavailable (503): a
	// failed revocation check never lets a token through.
	Revoked func(ctx context.Context, jti string) (bool, error)

	// Now returns the current time, for the time claims and the
	// RefreshRateLimit window. If nil, time.Now.
	Now func() time.Time

	// OnRefreshError, if set, is called from a background goroutine with
	// the reason each time a JWKS fetch fails, or a read of Keyfunc's
	// storage (url "keyfunc") finds no usable key; the previous keys stay
	// in use. The package never logs on its own.
	OnRefreshError func(url string, err error)

	// InsecureAllowAnyType accepts tokens whose "typ" header is not
	// "at+jwt" (RFC 9068 §2.1), such as "JWT" or none. Set it only for an
	// identity provider that does not mark its access tokens, and only when
	// that issuer signs no other JWTs (ID tokens, logout tokens) with the
	// same keys for the same audience: "typ" is what keeps an ID token from
	// being replayed as an access token (RFC 8725 §3.11).
	InsecureAllowAnyType bool

	// InsecureOptionalClaims names required claims ([ClaimSubject],
	// [ClaimClientID], [ClaimIssuedAt], [ClaimID]) that tokens may lack,
	// for identity providers that do not send them. Without "jti" there is
	// nothing to revoke by and Principal.CredentialID is empty; without
	// "client_id" a token with a "sub" is taken as a user's; without "iat"
	// a token's lifetime cannot be measured, only how long it has left
	// (see MaxTokenLifetime).
	InsecureOptionalClaims []string
}

// PublicKey is a trusted public key bound to one algorithm.
type PublicKey struct {
	// KeyID is the "kid" tokens signed with the key carry. Empty: the key
	// is tried for tokens without a "kid".
	KeyID string
	// Algorithm is the one algorithm the key verifies, such as [ES256].
	Algorithm string
	// Key is an *rsa.PublicKey (2048 bits or more), an *ecdsa.PublicKey
	// on the curve Algorithm names, or an ed25519.PublicKey.
	Key crypto.PublicKey
}
