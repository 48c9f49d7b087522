package portal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
)

// The adapters below fit this module's own key manager and client
// registry to the portal, whatever store is under them: a server gives
// the portal the Manager and ClientManager its API and authorization server
// use, so the portal's changes follow every rule of theirs (the scope
// catalog, the name rules, the audit trail and change log of the store).

// ManagerKeys is the [Keys] of an apikey.Manager. Its zero value is not
// usable: set Manager. It is safe for concurrent use.
//
// Give the API's apikey.Verifier the same Manager (apikey.Config.Manager),
// so a key revoked or rotated in the portal is refused on the very next
// request in this process; other processes learn of it as of any change.
type ManagerKeys struct {
	// Manager manages the keys. Required.
	Manager *apikey.Manager
}

// RevokeReason is the reason ManagerKeys records on a key revoked in the
// portal.
const RevokeReason = "revoked in the developer portal"

// keyFromRecord is what the portal shows of a key record.
func keyFromRecord(r apikey.Record) Key {
	return Key{
		ID: r.ID, Owner: r.Owner, Name: r.Name, Description: r.Description, Scopes: r.Scopes,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt, ReplacedBy: r.ReplacedBy,
	}
}

// keyErr maps the apikey package's errors to the portal's sentinels,
// keeping the cause for OnError.
func keyErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, apikey.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, apikey.ErrNotActive), errors.Is(err, apikey.ErrAlreadyRevoked):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// ListKeys implements [Keys]: the Manager's List with the owner as filter.
func (k ManagerKeys) ListKeys(ctx context.Context, owner string) ([]Key, error) {
	recs, err := k.Manager.List(ctx, apikey.Filter{Owner: owner})
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(recs))
	for i, r := range recs {
		out[i] = keyFromRecord(r)
	}
	return out, nil
}

// Key implements [Keys].
func (k ManagerKeys) Key(ctx context.Context, id string) (Key, error) {
	r, err := k.Manager.Get(ctx, id)
	if err != nil {
		return Key{}, keyErr(err)
	}
	return keyFromRecord(r), nil
}

// CreateKey implements [Keys].
func (k ManagerKeys) CreateKey(ctx context.Context, p KeyParams) (string, Key, error) {
	key, r, err := k.Manager.Create(ctx, apikey.CreateParams{
		Name: p.Name, Description: p.Description, Owner: p.Owner, Scopes: p.Scopes, TTL: p.TTL,
	})
	if err != nil {
		return "", Key{}, keyErr(err)
	}
	return key, keyFromRecord(r), nil
}

// RotateKey implements [Keys]: the Manager's RotateWithGrace.
func (k ManagerKeys) RotateKey(ctx context.Context, id string, grace time.Duration) (string, Key, error) {
	key, r, err := k.Manager.RotateWithGrace(ctx, id, grace)
	if err != nil {
		return "", Key{}, keyErr(err)
	}
	return key, keyFromRecord(r), nil
}

// RevokeKey implements [Keys], with [RevokeReason] as the reason.
func (k ManagerKeys) RevokeKey(ctx context.Context, id string) error {
	return keyErr(k.Manager.Revoke(ctx, id, RevokeReason))
}

// ClientLister lists the OAuth 2.0 clients of one owner, ordered by ID, as
// oauth.MemoryClientStore and sqlstore's Clients do (oauth.ClientStore
// does not require it).
type ClientLister interface {
	ListClientsByOwner(ctx context.Context, owner string) ([]*oauth.Client, error)
}

// ClientManagerApps is the [Applications] of an oauth.ClientManager. Its zero value
// is not usable: set both fields. It is safe for concurrent use.
//
// Give the authorization server the ClientManager's store, and wrap the
// API's token verifier in an oauth.ClientGate on it, so a deleted
// application's tokens are refused from then on.
type ClientManagerApps struct {
	// Manager registers the applications and issues their secrets, with
	// the server's scope catalog. Required.
	Manager *oauth.ClientManager
	// Clients lists an account's applications: the ClientManager's own
	// ClientStore. Required.
	Clients ClientLister
}

// appFromClient is what the portal shows of a client. It holds no secret
// hash.
func appFromClient(c *oauth.Client) App {
	return App{
		ID: c.ID, Owner: c.Owner, Name: c.Name, Type: c.Type,
		RedirectURIs: slices.Clone(c.RedirectURIs), Scopes: c.Scopes, CreatedAt: c.CreatedAt,
	}
}

// appErr maps the oauth package's "not found" to the portal's.
func appErr(err error) error {
	if errors.Is(err, oauth.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// ListApps implements [Applications]: the Clients' ListClientsByOwner.
func (a ClientManagerApps) ListApps(ctx context.Context, owner string) ([]App, error) {
	cs, err := a.Clients.ListClientsByOwner(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(cs))
	for _, c := range cs {
		if c != nil {
			out = append(out, appFromClient(c))
		}
	}
	return out, nil
}

// App implements [Applications]: the ClientManager's Get.
func (a ClientManagerApps) App(ctx context.Context, id string) (App, error) {
	c, err := a.Manager.Get(ctx, id)
	if err != nil {
		return App{}, appErr(err)
	}
	return appFromClient(c), nil
}

// RegisterApp implements [Applications]: the ClientManager's Register, with the
// grant types that follow from the type (client credentials for a server
// application, authorization code and refresh token for the others).
func (a ClientManagerApps) RegisterApp(ctx context.Context, p AppParams) (App, string, error) {
	c, secret, err := a.Manager.Register(ctx, oauth.Registration{
		Name: p.Name, Type: p.Type, RedirectURIs: p.RedirectURIs, Scopes: p.Scopes, Owner: p.Owner,
	})
	if err != nil {
		return App{}, "", err
	}
	return appFromClient(c), secret, nil
}

// RotateAppSecret implements [Applications]: the ClientManager's RotateSecret,
// whose SecretGrace is how long the previous secret keeps working.
func (a ClientManagerApps) RotateAppSecret(ctx context.Context, id string) (string, error) {
	secret, err := a.Manager.RotateSecret(ctx, id)
	if errors.Is(err, oauth.ErrInvalidClientConfig) {
		// A mobile application has no secret to rotate: as the portal
		// answers for its rotation page, there is no such thing.
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return secret, appErr(err)
}

// DeleteApp implements [Applications]: the ClientManager's Delete.
func (a ClientManagerApps) DeleteApp(ctx context.Context, id string) error {
	return appErr(a.Manager.Delete(ctx, id))
}

// The adapters implement the portal's interfaces.
var (
	_ Keys         = ManagerKeys{}
	_ Applications = ClientManagerApps{}
)
