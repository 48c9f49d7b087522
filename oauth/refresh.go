package oauth

import (
	"context"
	"errors"
	"fmt"
)

// refresh implements the refresh_token grant (RFC 6749 §6) with rotation
// (RFC 9700 §4.14.2): every use returns a new refresh token and retires the
// presented one. Presenting a retired token after the grace window is
// treated as theft: the whole grant is revoked, the attacker's and the
// legitimate client's tokens alike.
func (s *Server) refresh(ctx context.Context, c *Client, tr tokenRequest, ev *Event) (*tokenResponse, error) {
	if tr.refreshToken == "" {
		return nil, fmt.Errorf("%w: refresh_token missing", ErrMalformedRequest)
	}
	if !validValue(tr.refreshToken, RefreshTokenPrefix) {
		return nil, fmt.Errorf("%w: malformed refresh token", ErrInvalidGrant)
	}
	old := HashSecret(tr.refreshToken)
	g, tok, err := s.grants.RefreshToken(ctx, old)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: unknown refresh token", ErrInvalidGrant)
	case err != nil:
		return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
	}
	ev.GrantID = g.ID
	now := s.now()
	graceFrom := now.Add(-s.grace)
	switch {
	case g.ClientID != c.ID:
		// RFC 6749 §6: "validate the refresh token and ensure that it
		// was issued to the authenticated client". Nothing is changed:
		// another client must not be able to burn or revoke it.
		return nil, fmt.Errorf("%w: refresh token issued to another client", ErrInvalidGrant)
	case g.DPoPJKT != "" && g.DPoPJKT != tr.jkt:
		// RFC 9449 §5: a bound refresh token needs a proof by its key.
		// Checked before the replay rule, so whoever copied a rotated
		// token without the key cannot make it revoke the grant either.
		return nil, checkBinding(g.DPoPJKT, tr.jkt, "the refresh token")
	case g.Revoked():
		return nil, ErrGrantRevoked
	case !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt):
		return nil, fmt.Errorf("%w: grant expired", ErrInvalidGrant)
	case !tok.RotatedAt.IsZero() && tok.RotatedAt.Before(graceFrom):
		// A replay, caught before spending a signature on it.
		if err := s.grants.RevokeGrant(ctx, g.ID, now); err != nil {
			return nil, fmt.Errorf("%w: revoking a replayed grant: %w", ErrUnavailable, err)
		}
		return nil, ErrRefreshReused
	case tok.RotatedAt.IsZero() && !now.Before(tok.IssuedAt.Add(s.refreshIdle)):
		return nil, fmt.Errorf("%w: refresh token idle too long", ErrInvalidGrant)
	}
	// RFC 6749 §6: "The requested scope MUST NOT include any scope not
	// originally granted by the resource owner, and if omitted is treated
	// as equal to the scope originally granted".
	scopes, err := s.requestedScopes(tr, g.Scopes, g.Scopes)
	if err != nil {
		return nil, err
	}
	ev.Subject = g.Subject
	at, err := s.sign(ctx, g.Subject, c.ID, scopes, tr.jkt)
	if err != nil {
		return nil, err
	}
	refresh := newValue(RefreshTokenPrefix)
	next := &RefreshToken{
		Hash:                 HashSecret(refresh),
		GrantID:              g.ID,
		IssuedAt:             now,
		AccessTokenID:        at.ID,
		AccessTokenExpiresAt: at.ExpiresAt,
	}
	switch err := s.grants.RotateRefreshToken(ctx, old, next, now, graceFrom); {
	case errors.Is(err, ErrRefreshReused), errors.Is(err, ErrGrantRevoked):
		return nil, err
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: refresh token gone", ErrInvalidGrant)
	case err != nil:
		return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
	}
	ev.TokenID = at.ID
	resp := s.response(at, tr.jkt)
	resp.RefreshToken = refresh
	// The scope is returned only when it differs from what was asked:
	// the original grant's when the request names none (RFC 6749 §5.1).
	if tr.hasScope && scopes.String() != tr.scope {
		resp.Scope = scopes.String()
	}
	return resp, nil
}
