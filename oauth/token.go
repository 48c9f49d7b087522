package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// tokenRequest is a parsed token request (RFC 6749 §4.1.3, §4.4.2, §6).
type tokenRequest struct {
	grantType    string
	code         string
	redirectURI  string
	codeVerifier string
	refreshToken string
	scope        string
	hasScope     bool
	// jkt is the thumbprint of the request's DPoP proof key, "" without
	// a proof.
	jkt string
}

// parseTokenRequest reads the grant parameters from p. RFC 6749 §5.2:
// grant types other than the three supported, password and implicit
// included (RFC 9700 §2.4), are unsupported_grant_type.
func parseTokenRequest(p params) (tokenRequest, error) {
	tr := tokenRequest{
		grantType:    p.get("grant_type"),
		code:         p.get("code"),
		redirectURI:  p.get("redirect_uri"),
		codeVerifier: p.get("code_verifier"),
		refreshToken: p.get("refresh_token"),
		scope:        p.get("scope"),
	}
	tr.hasScope = tr.scope != ""
	for _, v := range p {
		if len(v) > maxParamLength {
			return tr, fmt.Errorf("%w: parameter too long", ErrMalformedRequest)
		}
	}
	switch tr.grantType {
	case "":
		return tr, fmt.Errorf("%w: grant_type missing", ErrMalformedRequest)
	case GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken:
		return tr, nil
	}
	return tr, ErrUnsupportedGrantType
}

// tokenResponse is the RFC 6749 §5.1 success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// TokenHandler returns the token endpoint (RFC 6749 §3.2): POST with a
// form body, client_secret_basic or client_secret_post (or client_id
// alone for public clients), and grant types client_credentials,
// authorization_code (with PKCE) and refresh_token. With [Config.DPoP],
// a request with a DPoP proof gets tokens bound to its key (token_type
// "DPoP"). Responses are as the package documentation says (Endpoints).
func (s *Server) TokenHandler() http.Handler { return http.HandlerFunc(s.serveToken) }

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		// RFC 6749 §3.2: "The client MUST use the HTTP "POST" method".
		writeMethodNotAllowed(w, http.MethodPost)
		s.emit(Event{Kind: EventTokenRefused, Request: r, Err: errMethod})
		return
	}
	ev := Event{Kind: EventTokenRefused, Request: r}
	refuse := func(f failure) {
		s.writeError(w, f)
		ev.Err = f.err
		s.emit(ev)
	}
	p, err := readForm(r)
	if err != nil {
		refuse(failure{err: err})
		return
	}
	tr, err := parseTokenRequest(p)
	if err != nil {
		refuse(failure{err: err})
		return
	}
	ev.GrantType = tr.grantType
	cc, err := readClientCredentials(r.Header, p)
	ev.ClientID = cc.id
	if err != nil {
		refuse(failure{err: err, basic: cc.basic})
		return
	}
	// The client is authenticated before any code or token is looked
	// at, so nothing about them leaks to an unauthenticated caller.
	client, f := s.authenticateClient(r, cc)
	if f.err != nil {
		refuse(f)
		return
	}
	if !client.HasGrantType(tr.grantType) {
		refuse(failure{err: ErrUnauthorizedClient})
		return
	}
	// The proof after the client, so an unauthenticated caller learns
	// nothing, and before any code or token is looked at.
	if tr.jkt, err = s.tokenProof(r, client); err != nil {
		refuse(failure{err: err})
		return
	}
	var resp *tokenResponse
	switch tr.grantType {
	case GrantClientCredentials:
		resp, err = s.clientCredentials(r.Context(), client, tr, &ev)
	case GrantAuthorizationCode:
		resp, err = s.exchangeCode(r.Context(), client, tr, &ev)
	case GrantRefreshToken:
		resp, err = s.refresh(r.Context(), client, tr, &ev)
	}
	if err != nil {
		refuse(failure{err: err})
		return
	}
	body, err := json.Marshal(resp)
	if err != nil {
		refuse(failure{err: fmt.Errorf("%w: %v", ErrUnavailable, err)})
		return
	}
	noStore(w.Header())
	s.setDPoPNonce(w.Header())
	writeJSON(w, http.StatusOK, body)
	ev.Kind = EventTokenIssued
	s.emit(ev)
}

// clientCredentials implements RFC 6749 §4.4: a confidential client
// obtains a token for itself; "sub" is the client ID and no refresh token
// is issued (§4.4.3: "A refresh token SHOULD NOT be included").
func (s *Server) clientCredentials(ctx context.Context, c *Client, tr tokenRequest, ev *Event) (*tokenResponse, error) {
	if !c.Type.Confidential() {
		return nil, ErrUnauthorizedClient
	}
	scopes, err := s.requestedScopes(tr, c.Scopes, c.defaultScopes())
	if err != nil {
		return nil, err
	}
	ev.Subject = c.ID
	tok, err := s.sign(ctx, c.ID, c.ID, scopes, tr.jkt)
	if err != nil {
		return nil, err
	}
	ev.TokenID = tok.ID
	resp := s.response(tok, tr.jkt)
	// RFC 6749 §5.1: scope is "OPTIONAL, if identical to the scope
	// requested by the client; otherwise, REQUIRED". A request without
	// scope gets the client's default set, and the response stays as in
	// the product's documented example.
	if tr.hasScope && scopes.String() != tr.scope {
		resp.Scope = scopes.String()
	}
	return resp, nil
}

// requestedScopes returns the scopes of tr, which must be within allowed
// (RFC 6749 §3.3), or def when tr names none.
func (s *Server) requestedScopes(tr tokenRequest, allowed, def auth.Scopes) (auth.Scopes, error) {
	if !tr.hasScope {
		return def, nil
	}
	req, err := auth.ParseScopes(tr.scope)
	if err != nil {
		return auth.Scopes{}, fmt.Errorf("%w: malformed scope", ErrInvalidScope)
	}
	if !allowed.Includes(req) {
		return auth.Scopes{}, fmt.Errorf("%w: scope not allowed", ErrInvalidScope)
	}
	return req, nil
}

// sign mints an access token, bound to the DPoP key jkt unless it is ""
// (RFC 9449 §6). A signer failure is 503: no token, and no verdict on the
// request.
//
// Every grant mints through here, so this is where the scope catalog is
// enforced on tokens: whatever a client row, a code or a grant says, no
// token carries a scope outside the catalog (invalid_scope).
func (s *Server) sign(ctx context.Context, subject, clientID string, scopes auth.Scopes, jkt string) (jwt.Token, error) {
	if !s.inCatalog(scopes) {
		return jwt.Token{}, errOutsideCatalog
	}
	tok, err := s.signer.Sign(ctx, jwt.Claims{
		Subject:       subject,
		ClientID:      clientID,
		Audience:      s.audience,
		Scopes:        scopes,
		Lifetime:      s.accessTTL,
		KeyThumbprint: jkt,
	})
	if err != nil {
		return jwt.Token{}, fmt.Errorf("%w: signer: %w", ErrUnavailable, err)
	}
	return tok, nil
}

// response is the success body for tok, whose token_type is "DPoP" when
// it is bound to the key jkt (RFC 9449 §5).
func (s *Server) response(tok jwt.Token, jkt string) *tokenResponse {
	typ := "Bearer"
	if jkt != "" {
		typ = "DPoP"
	}
	// expires_in is the configured lifetime, so it is exactly 3600 by
	// default whatever the sub-second timing of the signer's clock.
	return &tokenResponse{
		AccessToken: tok.Value,
		TokenType:   typ,
		ExpiresIn:   int64(s.accessTTL / time.Second),
	}
}
