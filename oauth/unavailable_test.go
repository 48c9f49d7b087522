package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

var errDown = errors.New("store down")

// brokenClients fails every lookup once broken is set.
type brokenClients struct {
	oauth.ClientStore
	broken bool
}

func (b *brokenClients) Client(ctx context.Context, id string) (*oauth.Client, error) {
	if b.broken {
		return nil, errDown
	}
	return b.ClientStore.Client(ctx, id)
}

// brokenGrants fails the methods named in fail.
type brokenGrants struct {
	oauth.GrantStore
	fail map[string]bool
}

func (b *brokenGrants) CreateCode(ctx context.Context, c *oauth.Code) error {
	if b.fail["CreateCode"] {
		return errDown
	}
	return b.GrantStore.CreateCode(ctx, c)
}

func (b *brokenGrants) ClaimCode(ctx context.Context, h oauth.Hash, now time.Time) (*oauth.Code, error) {
	if b.fail["ClaimCode"] {
		return nil, errDown
	}
	return b.GrantStore.ClaimCode(ctx, h, now)
}

func (b *brokenGrants) CreateGrant(ctx context.Context, g *oauth.Grant, head *oauth.RefreshToken) error {
	if b.fail["CreateGrant"] {
		return errDown
	}
	return b.GrantStore.CreateGrant(ctx, g, head)
}

func (b *brokenGrants) RefreshToken(ctx context.Context, h oauth.Hash) (*oauth.Grant, *oauth.RefreshToken, error) {
	if b.fail["RefreshToken"] {
		return nil, nil, errDown
	}
	return b.GrantStore.RefreshToken(ctx, h)
}

func (b *brokenGrants) RotateRefreshToken(ctx context.Context, old oauth.Hash, next *oauth.RefreshToken, now, graceFrom time.Time) error {
	if b.fail["RotateRefreshToken"] {
		return errDown
	}
	return b.GrantStore.RotateRefreshToken(ctx, old, next, now, graceFrom)
}

func (b *brokenGrants) RevokeGrant(ctx context.Context, id string, now time.Time) error {
	if b.fail["RevokeGrant"] {
		return errDown
	}
	return b.GrantStore.RevokeGrant(ctx, id, now)
}

// brokenSigner fails when broken is set.
type brokenSigner struct {
	oauth.Signer
	broken bool
}

func (b *brokenSigner) Sign(ctx context.Context, c jwt.Claims) (jwt.Token, error) {
	if b.broken {
		return jwt.Token{}, errDown
	}
	return b.Signer.Sign(ctx, c)
}

// TestUnavailable: a store or signer failure is 503 temporarily_unavailable
// with Retry-After: never a token, and never a verdict on the request
// (invalid_client, invalid_grant) that would make a client discard good
// credentials.
func TestUnavailable(t *testing.T) {
	type env struct {
		f       *fixture
		clients *brokenClients
		grants  *brokenGrants
		signer  *brokenSigner
	}
	setup := func(t *testing.T) *env {
		e := &env{grants: &brokenGrants{fail: map[string]bool{}}}
		e.f = newFixture(t, func(c *oauth.Config) {
			e.clients = &brokenClients{ClientStore: c.Clients}
			e.grants.GrantStore = c.Grants
			e.signer = &brokenSigner{Signer: c.Signer}
			c.Clients, c.Grants, c.Signer = e.clients, e.grants, e.signer
		})
		return e
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *env) *http.Request
	}{
		{"client store on client_credentials", func(t *testing.T, e *env) *http.Request {
			e.clients.broken = true
			return basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), e.f.svcID, e.f.svcSecret)
		}},
		{"signer on client_credentials", func(t *testing.T, e *env) *http.Request {
			e.signer.broken = true
			return basic(form("/oauth/token", url.Values{"grant_type": {"client_credentials"}}), e.f.svcID, e.f.svcSecret)
		}},
		{"claiming a code", func(t *testing.T, e *env) *http.Request {
			code := e.f.webCode(t)
			e.grants.fail["ClaimCode"] = true
			return basic(form("/oauth/token", e.f.exchangeValues(code)), e.f.webID, e.f.webSecret)
		}},
		{"creating the grant", func(t *testing.T, e *env) *http.Request {
			code := e.f.webCode(t)
			e.grants.fail["CreateGrant"] = true
			return basic(form("/oauth/token", e.f.exchangeValues(code)), e.f.webID, e.f.webSecret)
		}},
		{"looking up a refresh token", func(t *testing.T, e *env) *http.Request {
			tb := e.f.tokens(t)
			e.grants.fail["RefreshToken"] = true
			return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), e.f.webID, e.f.webSecret)
		}},
		{"rotating a refresh token", func(t *testing.T, e *env) *http.Request {
			tb := e.f.tokens(t)
			e.grants.fail["RotateRefreshToken"] = true
			return basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), e.f.webID, e.f.webSecret)
		}},
		{"revoking a refresh token", func(t *testing.T, e *env) *http.Request {
			tb := e.f.tokens(t)
			e.grants.fail["RevokeGrant"] = true
			return basic(form("/oauth/revoke", url.Values{"token": {tb.RefreshToken}}), e.f.webID, e.f.webSecret)
		}},
		{"introspecting a refresh token", func(t *testing.T, e *env) *http.Request {
			tb := e.f.tokens(t)
			e.grants.fail["RefreshToken"] = true
			return basic(form("/oauth/introspect", url.Values{"token": {tb.RefreshToken}}), e.f.webID, e.f.webSecret)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			w := e.f.serve(tt.run(t, e))
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("status: got %d, want 503 (%s)", w.Code, w.Body)
			}
			if got := w.Header().Get("Retry-After"); got == "" {
				t.Errorf("Retry-After missing")
			}
			if got := decodeToken(t, w).Error; got != "temporarily_unavailable" {
				t.Errorf("error: got %q, want temporarily_unavailable", got)
			}
			if !slicesContainsErr(e.f.eventErrs(), oauth.ErrUnavailable) || !slicesContainsErr(e.f.eventErrs(), errDown) {
				t.Errorf("hook: got %v, want ErrUnavailable wrapping the store's error", e.f.eventErrs())
			}
		})
	}

	t.Run("authorize with the client store down", func(t *testing.T) {
		e := setup(t)
		e.clients.broken = true
		w := e.f.serve(authorizeRequest(e.f.authorizeValues()))
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Location") != "" {
			t.Errorf("got %d, Location %q; want a 503 page without redirect", w.Code, w.Header().Get("Location"))
		}
	})

	t.Run("Approve with the grant store down", func(t *testing.T) {
		e := setup(t)
		e.grants.fail["CreateCode"] = true
		w := e.f.serve(authorizeRequest(e.f.authorizeValues()))
		loc, _ := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusSeeOther || loc.Query().Get("error") != "temporarily_unavailable" || loc.Query().Get("code") != "" {
			t.Errorf("got %d, Location %q; want 303 with error=temporarily_unavailable and no code", w.Code, w.Header().Get("Location"))
		}
	})
}
