package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// inactive is the whole answer for any token that is not active. RFC 7662
// §2.2: "If the introspection call is properly authorized but the token is
// not active, does not exist on this server, or the protected resource is
// not allowed to introspect this particular token, then the authorization
// server MUST return an introspection response with the "active" field set
// to "false"", and it "SHOULD NOT include any additional information".
var inactive = []byte(`{"active":false}`)

// introspection is an RFC 7662 §2.2 answer for an active token.
type introspection struct {
	Active    bool          `json:"active"`
	Scope     string        `json:"scope,omitempty"`
	ClientID  string        `json:"client_id"`
	Subject   string        `json:"sub"`
	TokenType string        `json:"token_type"`
	Expiry    int64         `json:"exp,omitempty"`
	IssuedAt  int64         `json:"iat,omitempty"`
	Audience  []string      `json:"aud,omitempty"`
	Issuer    string        `json:"iss"`
	ID        string        `json:"jti,omitempty"`
	Cnf       *confirmation `json:"cnf,omitempty"`
}

// IntrospectionHandler returns the introspection endpoint (RFC 7662). Only
// confidential clients may call it (§2.1: "the endpoint MUST also require
// some form of authorization"); a public client gets invalid_client. An
// access token is recognised with Config.AccessTokenVerifier and is active
// when it verifies and is not revoked; a refresh token is active when it
// is its grant's current token, unexpired and unrevoked, and only for the
// client it was issued to. Everything else is exactly {"active":false}.
func (s *Server) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := Event{Kind: EventIntrospectionRefused, Request: r}
		p, c, ok := s.clientRequest(w, r, &ev)
		if !ok {
			return
		}
		if !c.Type.Confidential() {
			err := fmt.Errorf("%w: public clients may not introspect", ErrClientAuth)
			s.writeError(w, failure{err: err})
			ev.Err = err
			s.emit(ev)
			return
		}
		body, err := s.introspect(r.Context(), c, p.get("token"), &ev)
		if err != nil {
			s.writeError(w, failure{err: err})
			ev.Err = err
			s.emit(ev)
			return
		}
		noStore(w.Header())
		writeJSON(w, http.StatusOK, body)
		ev.Kind = EventIntrospected
		s.emit(ev)
	})
}

func (s *Server) introspect(ctx context.Context, c *Client, token string, ev *Event) ([]byte, error) {
	now := s.now()
	if validValue(token, RefreshTokenPrefix) {
		g, t, err := s.grants.RefreshToken(ctx, HashSecret(token))
		switch {
		case errors.Is(err, ErrNotFound):
			return inactive, nil
		case err != nil:
			return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
		}
		ev.GrantID = g.ID
		idleEnd := t.IssuedAt.Add(s.refreshIdle)
		exp := idleEnd
		if !g.ExpiresAt.IsZero() && g.ExpiresAt.Before(exp) {
			exp = g.ExpiresAt
		}
		if g.ClientID != c.ID || g.Revoked() || !t.RotatedAt.IsZero() || !now.Before(exp) {
			return inactive, nil
		}
		out := introspection{
			Active:    true,
			Scope:     g.Scopes.String(),
			ClientID:  g.ClientID,
			Subject:   g.Subject,
			TokenType: "refresh_token",
			Expiry:    exp.Unix(),
			IssuedAt:  t.IssuedAt.Unix(),
			Issuer:    s.issuer,
		}
		if g.DPoPJKT != "" {
			out.Cnf = &confirmation{JKT: g.DPoPJKT}
		}
		return json.Marshal(out)
	}
	p, err := s.verifyAccessToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return inactive, nil
	}
	ev.TokenID = p.CredentialID
	if p.CredentialID != "" {
		revoked, err := s.grants.IsRevoked(ctx, p.CredentialID)
		if err != nil {
			return nil, fmt.Errorf("%w: grant store: %w", ErrUnavailable, err)
		}
		if revoked {
			return inactive, nil
		}
	}
	var claims struct {
		IssuedAt float64         `json:"iat"`
		Audience json.RawMessage `json:"aud"`
	}
	_ = p.DecodeClaims(&claims)
	out := introspection{
		Active:    true,
		Scope:     p.Scopes.String(),
		ClientID:  p.ClientID,
		Subject:   p.Subject,
		TokenType: "Bearer",
		IssuedAt:  int64(claims.IssuedAt),
		Audience:  audienceList(claims.Audience),
		Issuer:    p.Issuer,
		ID:        p.CredentialID,
	}
	if !p.ExpiresAt.IsZero() {
		out.Expiry = p.ExpiresAt.Unix()
	}
	if p.KeyThumbprint != "" {
		// RFC 9449 §6.2: the binding, for a resource server that
		// checks the proof itself.
		out.TokenType = "DPoP"
		out.Cnf = &confirmation{JKT: p.KeyThumbprint}
	}
	return json.Marshal(out)
}

// audienceList reads "aud", a string or an array of strings.
func audienceList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}
