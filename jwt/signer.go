package jwt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/audexum/auth"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// DefaultLifetime is the lifetime of a signed token when neither
// Claims.Lifetime nor SignerConfig.DefaultLifetime is set.
const DefaultLifetime = time.Hour

// SignerConfig configures a [Signer].
type SignerConfig struct {
	// Issuer is the "iss" of every token: the authorization server's
	// issuer identifier, exactly as verifiers are configured with it.
	// Required.
	Issuer string
	// Keys signs the tokens with its active key. Required.
	Keys *KeyManager
	// DefaultLifetime is the lifetime of tokens whose Claims.Lifetime is
	// zero. If zero, [DefaultLifetime]. At most the key set's
	// MaxTokenLifetime.
	DefaultLifetime time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Claims are what a [Signer] puts in an access token besides what it
// sets itself ("iss", "exp", "iat", "jti").
type Claims struct {
	// Subject is "sub": the user, or for a client-credentials token the
	// client itself (then equal to ClientID). Required.
	Subject string
	// ClientID is "client_id": the client the token was issued to.
	// Required.
	ClientID string
	// Audience is "aud": the resource servers the token is for. At least
	// one is required.
	Audience []string
	// Scopes is "scope", a space-delimited string; omitted when empty.
	Scopes auth.Scopes
	// Lifetime is how long the token is valid. If zero, the signer's
	// default.
	Lifetime time.Duration
	// KeyThumbprint, if set, binds the token to a DPoP key (RFC 9449
	// §6.1): the base64url RFC 7638 SHA-256 thumbprint of the client's
	// public key, put in the "cnf" claim as "jkt". A resource server then
	// accepts the token only with a proof signed by that key.
	KeyThumbprint string
	// Extra are further claims ("auth_time", "acr", …). They may not
	// override a claim the signer sets or one named above ("cnf"
	// included: set KeyThumbprint).
	Extra map[string]any
}

// Token is a signed access token.
type Token struct {
	// Value is the compact JWS to hand to the client.
	Value string
	// ID is its "jti", the handle for revocation and logs.
	ID string
	// IssuedAt and ExpiresAt are its "iat" and "exp".
	IssuedAt, ExpiresAt time.Time
}

// Signer mints RFC 9068 access tokens. Create one with [NewSigner]; it is
// safe for concurrent use.
type Signer struct {
	issuer   string
	keys     *KeyManager
	lifetime time.Duration
	now      func() time.Time
}

// NewSigner returns a Signer for cfg. It fails with an error wrapping
// [ErrInvalidConfig] without an issuer or keys, or with a default lifetime
// out of range.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	s := &Signer{issuer: cfg.Issuer, keys: cfg.Keys, lifetime: orDefault(cfg.DefaultLifetime, DefaultLifetime), now: cfg.Now}
	switch {
	case s.issuer == "":
		return nil, configError("Issuer is required")
	case s.keys == nil:
		return nil, configError("Keys is required")
	case s.lifetime < 0 || s.lifetime > s.keys.maxLifetime:
		return nil, configError("DefaultLifetime must be between 0 and the key set's MaxTokenLifetime (%v)", s.keys.maxLifetime)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// registeredClaims are set by the signer and may not come from Extra.
var registeredClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "scp", "cnf"}

// accessTokenClaims are the RFC 9068 §2.2 claims beyond the registered
// JWT ones.
type accessTokenClaims struct {
	ClientID string        `json:"client_id"`
	Scope    string        `json:"scope,omitempty"`
	Cnf      *confirmation `json:"cnf,omitempty"`
}

// confirmation is the "cnf" claim of a DPoP-bound token (RFC 9449 §6.1).
type confirmation struct {
	JKT string `json:"jkt"`
}

// Sign mints an access token for c, signed with the key set's active key:
// header "typ" "at+jwt" and "kid"; claims "iss", "sub", "aud", "exp",
// "iat", "jti" (128 random bits), "client_id", "scope", "cnf" when
// c.KeyThumbprint is set, and c.Extra. It fails with an error wrapping
// [ErrInvalidClaims] when c lacks a subject, client or audience, when its
// lifetime exceeds the key set's MaxTokenLifetime, when KeyThumbprint is
// not a base64url SHA-256 thumbprint, or when Extra would override a
// registered claim.
func (s *Signer) Sign(ctx context.Context, c Claims) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	lifetime := c.Lifetime
	if lifetime == 0 {
		lifetime = s.lifetime
	}
	switch {
	case c.Subject == "":
		return Token{}, fmt.Errorf("%w: Subject is required", ErrInvalidClaims)
	case c.ClientID == "":
		return Token{}, fmt.Errorf("%w: ClientID is required", ErrInvalidClaims)
	case len(c.Audience) == 0 || slices.Contains(c.Audience, ""):
		return Token{}, fmt.Errorf("%w: at least one non-empty Audience is required", ErrInvalidClaims)
	case lifetime < time.Second || lifetime > s.keys.maxLifetime:
		return Token{}, fmt.Errorf("%w: Lifetime must be between 1s and %v", ErrInvalidClaims, s.keys.maxLifetime)
	case c.KeyThumbprint != "" && !isThumbprint(c.KeyThumbprint):
		return Token{}, fmt.Errorf("%w: KeyThumbprint is not a base64url SHA-256 thumbprint", ErrInvalidClaims)
	}
	for _, name := range registeredClaims {
		if _, ok := c.Extra[name]; ok {
			return Token{}, fmt.Errorf("%w: Extra may not set %q", ErrInvalidClaims, name)
		}
	}
	var id [16]byte // RFC 9068 §2.2 via RFC 7519 §4.1.7: collision-resistant
	if _, err := rand.Read(id[:]); err != nil {
		return Token{}, err
	}
	jti := base64.RawURLEncoding.EncodeToString(id[:])
	iat := s.now().Truncate(time.Second)
	exp := iat.Add(lifetime)
	var cnf *confirmation
	if c.KeyThumbprint != "" {
		cnf = &confirmation{JKT: c.KeyThumbprint}
	}
	key := s.keys.active.Load()
	b := josejwt.Signed(key.signer).
		Claims(josejwt.Claims{
			Issuer:   s.issuer,
			Subject:  c.Subject,
			Audience: josejwt.Audience(c.Audience),
			Expiry:   josejwt.NewNumericDate(exp),
			IssuedAt: josejwt.NewNumericDate(iat),
			ID:       jti,
		}).
		Claims(accessTokenClaims{ClientID: c.ClientID, Scope: c.Scopes.String(), Cnf: cnf})
	if len(c.Extra) > 0 {
		b = b.Claims(c.Extra)
	}
	v, err := b.Serialize()
	if err != nil {
		return Token{}, fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	return Token{Value: v, ID: jti, IssuedAt: iat, ExpiresAt: exp}, nil
}
