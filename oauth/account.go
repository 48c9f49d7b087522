package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/audexum/auth"
)

// AccountResolverConfig configures an [AccountResolver].
type AccountResolverConfig struct {
	// Clients is the store of registered clients: a client-credentials
	// token acts for its client's Owner. Required.
	Clients ClientStore

	// IsAccount reports whether id is an existing account's ID, asked of
	// every account a principal would act for: a key whose owner is a
	// free-form label or a deleted account acts for nobody. An error means
	// it could not tell. Required (with sqlstore, Store.Users().IsAccount).
	IsAccount func(ctx context.Context, id string) (bool, error)
}

// AccountResolver says which account a principal acts for, for
// [auth.RequireAccount] (pass its Account method):
//
//   - an authorization-code token acts for the user who consented (its
//     subject);
//   - an API key acts for the account that owns it (the key's owner, the
//     principal's subject);
//   - a client-credentials token acts for the account that owns the client
//     ([Client.Owner]); a client without one, which the operator manages,
//     acts for nobody, and so does its token.
//
// In every case the account must exist ([AccountResolverConfig.IsAccount]).
// Create one with [NewAccountResolver]; it is safe for concurrent use.
//
// Each call costs one or two store reads: put [auth.RequireScopes] in
// front, so only credentials with the route's scope pay for them.
type AccountResolver struct {
	clients   ClientStore
	isAccount func(ctx context.Context, id string) (bool, error)
}

// NewAccountResolver returns an AccountResolver for cfg. It fails with an
// error wrapping [ErrInvalidConfig] if Clients or IsAccount is nil.
func NewAccountResolver(cfg AccountResolverConfig) (*AccountResolver, error) {
	switch {
	case cfg.Clients == nil:
		return nil, fmt.Errorf("%w: AccountResolver needs a ClientStore", ErrInvalidConfig)
	case cfg.IsAccount == nil:
		return nil, fmt.Errorf("%w: AccountResolver needs IsAccount", ErrInvalidConfig)
	}
	return &AccountResolver{clients: cfg.Clients, isAccount: cfg.IsAccount}, nil
}

// Account returns the ID of the account p acts for. It fails with an
// error wrapping [auth.ErrNoAccount] and the reason when p acts for none,
// and with one wrapping [ErrUnavailable] (which matches
// [auth.ErrUnavailable]) when a store could not answer. It has the shape of an [auth.AccountFunc].
func (r *AccountResolver) Account(ctx context.Context, p *auth.Principal) (string, error) {
	if p == nil {
		return "", fmt.Errorf("%w: no principal", auth.ErrNoAccount)
	}
	var id string
	switch p.Method {
	case auth.MethodAuthorizationCode, auth.MethodAPIKey:
		id = p.Subject
	case auth.MethodClientCredentials:
		c, err := r.clients.Client(ctx, p.ClientID)
		switch {
		case errors.Is(err, ErrNotFound):
			// Deleted since the token was checked: its owner no longer
			// vouches for it.
			return "", fmt.Errorf("%w: client %s does not exist", auth.ErrNoAccount, p.ClientID)
		case err != nil:
			return "", fmt.Errorf("%w: client store: %w", ErrUnavailable, err)
		}
		if c.Owner == "" {
			return "", fmt.Errorf("%w: client %s is operator-managed (no owner)", auth.ErrNoAccount, p.ClientID)
		}
		id = c.Owner
	default:
		return "", fmt.Errorf("%w: unknown method %v", auth.ErrNoAccount, p.Method)
	}
	if id == "" {
		return "", fmt.Errorf("%w: %v credential with no subject", auth.ErrNoAccount, p.Method)
	}
	ok, err := r.isAccount(ctx, id)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: account lookup: %w", ErrUnavailable, err)
	case !ok:
		// The ID is not echoed: an API key's owner may be any label.
		return "", fmt.Errorf("%w: the %v credential's owner is not an account", auth.ErrNoAccount, p.Method)
	}
	return id, nil
}
