package oauth

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/audexum/auth"
)

// Hash is the SHA-256 of a secret value: a client secret, an authorization
// code or a refresh token. Stores keep only hashes, never the values, so a
// leaked database does not hand out working credentials.
type Hash [sha256.Size]byte

// HashSecret returns the SHA-256 of s. Every value hashed is a
// high-entropy random string (at least 256 bits), so a fast hash is as
// safe as a slow one, and a slow password hash on the token endpoint would
// only give attackers a denial-of-service lever.
func HashSecret(s string) Hash { return sha256.Sum256([]byte(s)) }

// ClientSecret is one stored secret of a confidential client.
type ClientSecret struct {
	// Hash is the SHA-256 of the secret.
	Hash Hash
	// CreatedAt is when the secret was issued.
	CreatedAt time.Time
	// ExpiresAt is when the secret stops working; zero for never. A
	// rotation sets it on the previous secrets to the end of the grace
	// period.
	ExpiresAt time.Time
}

// Active reports whether the secret is valid at now.
func (s *ClientSecret) Active(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}

// ClientStore keeps registered clients. Implementations must be safe for
// concurrent use and pass oauthtest.RunClientStore.
//
// Each method is one atomic step (one statement or transaction in SQL).
// Errors other than the sentinels named mean the store could not answer;
// the server answers 503 temporarily_unavailable, never a verdict.
// Returned records belong to the caller: a store must not keep or share
// them. Times may come back rounded to the microsecond, in any location.
//
// A store keeps every field of a Client, Owner included. Listing one
// owner's clients is not required (stores written before owners existed
// still fit); this module's stores have ListClientsByOwner for the code
// that needs it (portal.ClientLister).
type ClientStore interface {
	// CreateClient adds c. It fails with ErrAlreadyExists if c.ID is
	// taken.
	CreateClient(ctx context.Context, c *Client) error

	// Client returns the client with the given ID, or ErrNotFound.
	Client(ctx context.Context, id string) (*Client, error)

	// ListClients returns every client, ordered by ID.
	ListClients(ctx context.Context) ([]*Client, error)

	// RotateClientSecret atomically adds secret to the client and sets the
	// ExpiresAt of each of its other secrets to oldUntil if that is
	// earlier (or the secret had none). Secrets that had expired at
	// secret.CreatedAt may be dropped. It fails with ErrNotFound.
	RotateClientSecret(ctx context.Context, id string, secret ClientSecret, oldUntil time.Time) error

	// DeleteClient removes the client. It fails with ErrNotFound. Grants
	// already issued to the client are not touched: revoke them in the
	// GrantStore if needed.
	DeleteClient(ctx context.Context, id string) error
}

// Code is a stored authorization code (RFC 6749 §4.1.2): everything the
// token endpoint must check when the client redeems it.
type Code struct {
	// Hash is the SHA-256 of the code; the store's key.
	Hash Hash
	// ClientID is the client the code was issued to.
	ClientID string
	// Subject is the user who approved the request.
	Subject string
	// RedirectURI is the redirect_uri of the authorization request, which
	// the token request must repeat byte for byte (RFC 6749 §4.1.3).
	RedirectURI string
	// Scopes are the scopes the user granted.
	Scopes auth.Scopes
	// CodeChallenge is the S256 PKCE challenge (RFC 7636 §4.3).
	CodeChallenge string
	// DPoPJKT is the dpop_jkt of the authorization request (RFC 9449
	// §10): the thumbprint of the key whose proof must come with the
	// redemption. Empty when the request named none.
	DPoPJKT string
	// GrantID is the grant the redemption creates. If the code is
	// presented again, this grant is revoked.
	GrantID string
	// CreatedAt is when the code was issued; ExpiresAt when it stops being
	// redeemable.
	CreatedAt, ExpiresAt time.Time
	// UsedAt is when the code was claimed; zero while unused.
	UsedAt time.Time
}

// Grant is one authorization grant: the refresh-token family created when
// a code is redeemed. Its client, subject and scopes never change; every
// refresh token of the family carries them.
type Grant struct {
	// ID identifies the grant.
	ID string
	// ClientID is the client the grant belongs to.
	ClientID string
	// Subject is the user who approved it.
	Subject string
	// Scopes are the scopes the user granted: a refresh may narrow them,
	// never widen them (RFC 6749 §6).
	Scopes auth.Scopes
	// CreatedAt is when the grant was created; ExpiresAt is the absolute
	// end of its refresh tokens (zero for never).
	CreatedAt, ExpiresAt time.Time
	// RevokedAt is when the grant was revoked; zero if it was not.
	RevokedAt time.Time
	// DPoPJKT is the thumbprint of the key the grant's refresh tokens
	// are bound to (RFC 9449 §5): each refresh needs a DPoP proof by that
	// key. Set for public clients that redeemed their code with a proof;
	// empty otherwise (a confidential client's refresh tokens are bound
	// to its authentication already).
	DPoPJKT string
}

// Revoked reports whether the grant has been revoked.
func (g *Grant) Revoked() bool { return !g.RevokedAt.IsZero() }

// RefreshToken is one stored refresh token of a [Grant].
type RefreshToken struct {
	// Hash is the SHA-256 of the token; the store's key.
	Hash Hash
	// GrantID is the grant (family) the token belongs to.
	GrantID string
	// IssuedAt is when the token was issued; the idle timeout counts from
	// it.
	IssuedAt time.Time
	// RotatedAt is when the token was exchanged for its successor (or
	// superseded); zero while it is the family's head.
	RotatedAt time.Time
	// AccessTokenID and AccessTokenExpiresAt identify the access token
	// issued together with this refresh token, so revoking the grant
	// revokes it too.
	AccessTokenID        string
	AccessTokenExpiresAt time.Time
}

// GrantStore keeps authorization codes, grants with their refresh tokens,
// and revoked access-token IDs. Implementations must be safe for
// concurrent use and pass oauthtest.RunGrantStore.
//
// Each method is one atomic step (one statement or transaction in SQL):
// of many concurrent ClaimCode calls for one code exactly one succeeds, and
// of many concurrent RotateRefreshToken calls a family never ends with two
// heads. Errors other than the sentinels named mean the store could not
// answer; the server answers 503, never a verdict.
type GrantStore interface {
	// CreateCode stores a new authorization code. It fails with
	// ErrAlreadyExists if the hash is taken.
	CreateCode(ctx context.Context, c *Code) error

	// ClaimCode marks the code used at now and returns it. If it was
	// already used, it returns the stored code together with ErrCodeUsed
	// (the caller revokes c.GrantID); if there is no such code,
	// ErrNotFound. Expiry is the caller's check: an expired code is still
	// claimed, so it can never be redeemed later. A store may forget codes
	// that expired long ago.
	ClaimCode(ctx context.Context, hash Hash, now time.Time) (*Code, error)

	// CreateGrant stores g with its first refresh token head
	// (head.GrantID == g.ID). It fails with ErrAlreadyExists if a grant
	// with g.ID exists, including one RevokeGrant created revoked.
	CreateGrant(ctx context.Context, g *Grant, head *RefreshToken) error

	// RefreshToken returns the refresh token with the given hash and its
	// grant, or ErrNotFound. It changes nothing: the caller checks the
	// client, expiry and scopes, then calls RotateRefreshToken.
	RefreshToken(ctx context.Context, hash Hash) (*Grant, *RefreshToken, error)

	// RotateRefreshToken atomically exchanges the token old for next
	// (next.GrantID must be old's grant):
	//
	//   - if old is the head (RotatedAt zero), old.RotatedAt = now and next
	//     becomes the head;
	//   - if old was rotated at or after graceFrom (a concurrent refresh of
	//     the same token), the current head is superseded (RotatedAt =
	//     now) and next becomes the head;
	//   - otherwise the token is being replayed: the grant is revoked as by
	//     RevokeGrant and the call fails with ErrRefreshReused.
	//
	// It fails with ErrNotFound for an unknown token and ErrGrantRevoked if
	// the grant is revoked. On every error no new head is stored, so a
	// grant never has two heads.
	RotateRefreshToken(ctx context.Context, old Hash, next *RefreshToken, now, graceFrom time.Time) error

	// RevokeGrant revokes the grant at now: its refresh tokens stop
	// working and the access tokens recorded with them that have not
	// expired are added to the revoked set. Revoking an unknown ID stores
	// it revoked, so a grant being created concurrently can never become
	// live; revoking twice keeps the first time.
	RevokeGrant(ctx context.Context, id string, now time.Time) error

	// RevokeAccessToken adds the access token ID jti to the revoked set
	// until expiresAt, after which the store may forget it.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error

	// IsRevoked reports whether jti is in the revoked set.
	IsRevoked(ctx context.Context, jti string) (bool, error)
}
