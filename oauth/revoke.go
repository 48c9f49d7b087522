package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/audexum/auth"
)

// clientRequest reads the form of a POST to a client-authenticated
// endpoint (revocation, introspection) and authenticates the client. On
// failure it has answered and returns ok false.
func (s *Server) clientRequest(w http.ResponseWriter, r *http.Request, ev *Event) (params, *Client, bool) {
	if r.Method != http.MethodPost {
		writeMethodNotAllowed(w, http.MethodPost)
		ev.Err = errMethod
		s.emit(*ev)
		return nil, nil, false
	}
	refuse := func(f failure) (params, *Client, bool) {
		s.writeError(w, f)
		ev.Err = f.err
		s.emit(*ev)
		return nil, nil, false
	}
	p, err := readForm(r)
	if err != nil {
		return refuse(failure{err: err})
	}
	cc, err := readClientCredentials(r.Header, p)
	ev.ClientID = cc.id
	if err != nil {
		return refuse(failure{err: err, basic: cc.basic})
	}
	c, f := s.authenticateClient(r, cc)
	if f.err != nil {
		return refuse(f)
	}
	if p.get("token") == "" {
		return refuse(failure{err: fmt.Errorf("%w: token missing", ErrMalformedRequest)})
	}
	if len(p.get("token")) > maxParamLength {
		return refuse(failure{err: fmt.Errorf("%w: token too long", ErrMalformedRequest)})
	}
	return p, c, true
}

// RevocationHandler returns the revocation endpoint (RFC 7009). The client
// authenticates as at the token endpoint (a public client by client_id).
// Revoking a refresh token revokes its whole grant, the access tokens
// issued with it included (RFC 7009 §2.1: "If the token passed to the
// request is a refresh token and the authorization server supports the
// revocation of access tokens, then the authorization server SHOULD also
// invalidate all access tokens based on the same authorization grant").
// Revoking an access token needs Config.AccessTokenVerifier.
//
// RFC 7009 §2.2: "The authorization server responds with HTTP status code
// 200 if the token has been revoked successfully or if the client
// submitted an invalid token." So an unknown token, or another client's
// token, gets 200 and nothing is revoked. A store failure is 503, so the
// client retries (§2.2.1).
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := Event{Kind: EventRevocationRefused, Request: r}
		p, c, ok := s.clientRequest(w, r, &ev)
		if !ok {
			return
		}
		// token_type_hint is only a hint (RFC 7009 §2.1): both kinds are
		// recognised by shape, so it is not needed.
		revoked, err := s.revoke(r.Context(), c, p.get("token"), &ev)
		if err != nil {
			s.writeError(w, failure{err: err})
			ev.Err = err
			s.emit(ev)
			return
		}
		h := w.Header()
		noStore(h)
		h["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusOK)
		if revoked {
			ev.Kind = EventRevoked
			s.emit(ev)
		}
	})
}

// revoke revokes token if it belongs to c, and reports whether it did.
// Only store failures are errors.
func (s *Server) revoke(ctx context.Context, c *Client, token string, ev *Event) (bool, error) {
	if validValue(token, RefreshTokenPrefix) {
		g, _, err := s.grants.RefreshToken(ctx, HashSecret(token))
		switch {
		case errors.Is(err, ErrNotFound):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
		}
		ev.GrantID = g.ID
		if g.ClientID != c.ID {
			// RFC 7009 §2.1: the server "verifies whether the token was
			// issued to the client making the revocation request".
			return false, nil
		}
		if err := s.grants.RevokeGrant(ctx, g.ID, s.now()); err != nil {
			return false, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
		}
		return true, nil
	}
	p, err := s.verifyAccessToken(ctx, token)
	if err != nil || p == nil {
		return false, err
	}
	ev.TokenID = p.CredentialID
	if p.ClientID != c.ID || p.CredentialID == "" {
		return false, nil
	}
	if err := s.grants.RevokeAccessToken(ctx, p.CredentialID, p.ExpiresAt); err != nil {
		return false, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
	}
	return true, nil
}

// verifyAccessToken returns the principal of a valid access token of this
// server, or nil for anything else. Only an unavailable verifier is an
// error.
func (s *Server) verifyAccessToken(ctx context.Context, token string) (*auth.Principal, error) {
	if s.verifier == nil {
		return nil, nil
	}
	if m, ok := s.verifier.(auth.ShapeMatcher); ok && !m.MatchShape(token) {
		return nil, nil
	}
	p, err := s.verifier.Verify(ctx, token)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return nil, fmt.Errorf("%w: verifier: %w", ErrUnavailable, err)
	case err != nil:
		return nil, nil
	}
	return p, nil
}
