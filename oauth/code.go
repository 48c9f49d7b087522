package oauth

import (
	"context"
	"errors"
	"fmt"
)

// exchangeCode implements the authorization_code grant (RFC 6749 §4.1.3
// with RFC 7636 §4.5-4.6). The code is claimed first, in one atomic store
// step, so of concurrent redemptions exactly one can succeed; every later
// check failing leaves it used. A second presentation of a used code
// revokes the grant its first redemption created (RFC 6749 §4.1.2: "If an
// authorization code is used more than once, the authorization server MUST
// deny the request and SHOULD revoke (when possible) all tokens previously
// issued based on that authorization code").
func (s *Server) exchangeCode(ctx context.Context, c *Client, tr tokenRequest, ev *Event) (*tokenResponse, error) {
	if tr.code == "" {
		return nil, fmt.Errorf("%w: code missing", ErrMalformedRequest)
	}
	if tr.redirectURI == "" {
		// Every authorization request carries redirect_uri, so RFC 6749
		// §4.1.3 makes it required here.
		return nil, fmt.Errorf("%w: redirect_uri missing", ErrMalformedRequest)
	}
	if !validValue(tr.code, CodePrefix) {
		return nil, fmt.Errorf("%w: malformed code", ErrInvalidGrant)
	}
	now := s.now()
	code, err := s.grants.ClaimCode(ctx, HashSecret(tr.code), now)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("%w: unknown code", ErrInvalidGrant)
	case errors.Is(err, ErrCodeUsed):
		ev.GrantID = code.GrantID
		if rerr := s.grants.RevokeGrant(ctx, code.GrantID, now); rerr != nil {
			return nil, fmt.Errorf("%w: revoking the grant of a reused code: %w", ErrUnavailable, rerr)
		}
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
	}
	ev.GrantID = code.GrantID
	switch {
	case code.ClientID != c.ID:
		// RFC 6749 §4.1.3: "ensure that the authorization code was
		// issued to the authenticated confidential client".
		return nil, fmt.Errorf("%w: code issued to another client", ErrInvalidGrant)
	case !now.Before(code.ExpiresAt):
		return nil, fmt.Errorf("%w: code expired", ErrInvalidGrant)
	case tr.redirectURI != code.RedirectURI:
		// Byte for byte: "ensure that the "redirect_uri" parameter is
		// present … and … their values are identical."
		return nil, fmt.Errorf("%w: redirect_uri differs", ErrInvalidGrant)
	case !verifyPKCE(tr.codeVerifier, code.CodeChallenge):
		// RFC 7636 §4.6: "If the values are not equal, an error response
		// indicating "invalid_grant" … MUST be returned."
		return nil, fmt.Errorf("%w: PKCE verification failed", ErrInvalidGrant)
	}
	// RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a
	// proof by that key.
	if err := checkBinding(code.DPoPJKT, tr.jkt, "the code"); err != nil {
		return nil, err
	}
	ev.Subject = code.Subject
	tok, err := s.sign(ctx, code.Subject, c.ID, code.Scopes, tr.jkt)
	if err != nil {
		return nil, err
	}
	ev.TokenID = tok.ID
	// The grant is created even for a client without the refresh_token
	// grant (its refresh token is then never handed out), so the access
	// token is recorded and a replay of the code can revoke it.
	refresh := newValue(RefreshTokenPrefix)
	g := &Grant{
		ID:        code.GrantID,
		ClientID:  c.ID,
		Subject:   code.Subject,
		Scopes:    code.Scopes,
		CreatedAt: now,
		ExpiresAt: now.Add(s.refreshTTL),
	}
	if !c.Type.Confidential() {
		// RFC 9449 §5: a public client's refresh tokens are bound to the
		// key of the proof it redeemed the code with. A confidential
		// client's are bound to its authentication already.
		g.DPoPJKT = tr.jkt
	}
	head := &RefreshToken{
		Hash:                 HashSecret(refresh),
		GrantID:              g.ID,
		IssuedAt:             now,
		AccessTokenID:        tok.ID,
		AccessTokenExpiresAt: tok.ExpiresAt,
	}
	resp := s.response(tok, tr.jkt)
	switch err := s.grants.CreateGrant(ctx, g, head); {
	case errors.Is(err, ErrAlreadyExists):
		// A concurrent replay of the code revoked the grant while this
		// redemption, the one that claimed the code, was signing. This
		// request still is the single successful redemption, but what it
		// issues is dead on arrival, exactly as if the replay had come a
		// moment later: the access token is revoked and no refresh token
		// is handed out.
		if err := s.grants.RevokeAccessToken(ctx, tok.ID, tok.ExpiresAt); err != nil {
			return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
		}
	case err != nil:
		return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
	case c.HasGrantType(GrantRefreshToken):
		resp.RefreshToken = refresh
	}
	// The token request names no scope, so the granted scope always
	// "differs from the request" and is returned (RFC 6749 §5.1).
	resp.Scope = code.Scopes.String()
	return resp, nil
}
