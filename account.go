package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// AccountFunc says which account a principal acts for: an account ID, or
// an error wrapping [ErrNoAccount] when it acts for none (an application
// that belongs to nobody), or any other error when it cannot tell (a store
// that does not answer). It must not return an empty ID with a nil error.
//
// Which credentials act for whom is the server's decision; the oauth
// package's AccountResolver is the usual one: an authorization-code token
// acts for the user who consented, an API key or a client-credentials
// token for the account that owns the key or the client.
type AccountFunc func(ctx context.Context, p *Principal) (accountID string, err error)

// accountKey is the context key of the account RequireAccount resolved.
type accountKey struct{}

// AccountFromContext returns the account ID that [RequireAccount] put in
// ctx, and whether there was one.
func AccountFromContext(ctx context.Context) (string, bool) {
	id, _ := ctx.Value(accountKey{}).(string)
	return id, id != ""
}

// RequireAccount returns middleware for routes that act for a person's
// account (a profile, the account's data): it asks resolve which account
// the request's principal acts for, puts that account's ID in the request
// context ([AccountFromContext]) and calls next.
//
// A principal that acts for no account gets 403 insufficient_scope, as
// from [RequireUser]: the caller never learns why. A resolve that cannot
// tell gets 503 (fail closed, no verdict on the credential); no principal
// gets 401. The reason, resolve's error or [ErrUnavailable] wrapping it,
// is reported with the principal as [RequireScopes] reports. Put
// RequireScopes first, so a credential without the route's scope costs no
// account lookup.
//
// RequireAccount panics if resolve is nil, and the middleware if next is.
func RequireAccount(resolve AccountFunc) func(http.Handler) http.Handler {
	if resolve == nil {
		panic("auth: RequireAccount: nil AccountFunc")
	}
	fallback := newResponder(DefaultRealm, 0, nil, nil)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("auth: RequireAccount: nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, _ := FromContext(ctx)
			resp, _ := ctx.Value(responderKey{}).(*responder)
			if resp == nil {
				resp = fallback
			}
			if p == nil {
				resp.fail(w, r, failNoCredential, ErrNoPrincipal, nil)
				return
			}
			id, err := resolve(ctx, p)
			if err == nil && id == "" {
				// Fail closed on a resolver that breaks its contract.
				err = fmt.Errorf("%w: resolver returned no account", ErrNoAccount)
			}
			switch {
			case errors.Is(err, ErrNoAccount):
				h := w.Header()
				h["Www-Authenticate"] = []string{resp.realmPrefix + `, error="insufficient_scope"`}
				writeBody(w, http.StatusForbidden, bodyInsufficientScope)
				resp.report(r, err, &Event{Request: r, Principal: p})
			case err != nil:
				if !errors.Is(err, ErrUnavailable) {
					err = fmt.Errorf("%w: %w", ErrUnavailable, err)
				}
				resp.fail(w, r, failUnavailable, err, &Event{Request: r, Principal: p})
			default:
				next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, accountKey{}, id)))
			}
		})
	}
}
