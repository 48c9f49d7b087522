package oauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
)

// tokenProof checks the DPoP proof of a token request (RFC 9449 §5) and
// returns the thumbprint of its key, or "" when the request has none and
// the client does not require one. A server without a checker ignores the
// header (§5: the token is then a bearer token), but cannot serve a client
// that requires DPoP.
func (s *Server) tokenProof(r *http.Request, c *Client) (string, error) {
	if s.dpop == nil {
		if c.RequireDPoP {
			return "", fmt.Errorf("%w: the server has no DPoP checker", ErrDPoPRequired)
		}
		return "", nil
	}
	jkt, err := s.dpop.CheckTokenRequest(r, s.endpoint(TokenPath))
	switch {
	case errors.Is(err, dpop.ErrNoProof):
		if c.RequireDPoP {
			return "", fmt.Errorf("%w: client requires DPoP", ErrDPoPRequired)
		}
		return "", nil
	case errors.Is(err, auth.ErrUnavailable):
		// The replay store could not answer: neither a token nor a
		// verdict on the proof.
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return "", err
	}
	return jkt, nil
}

// checkBinding enforces a code's or a grant's key binding on a token
// request whose proof had the key jkt ("" for none). Nothing is changed
// by a refusal: whoever holds a copy without the key can neither use nor
// spend it.
func checkBinding(bound, jkt, what string) error {
	switch {
	case bound == "" || bound == jkt:
		return nil
	case jkt == "":
		return fmt.Errorf("%w: %s is bound to a DPoP key", ErrDPoPRequired, what)
	}
	return fmt.Errorf("%w: %w: %s", ErrInvalidGrant, ErrDPoPKey, what)
}

// setDPoPNonce sets the nonce clients must use next (RFC 9449 §8), when
// the checker requires nonces.
func (s *Server) setDPoPNonce(h http.Header) {
	if s.dpop == nil {
		return
	}
	if n := s.dpop.Nonce(); n != "" {
		h["Dpop-Nonce"] = []string{n}
	}
}

// validJKT reports whether v is a base64url SHA-256 thumbprint, as the
// dpop_jkt parameter must be (RFC 9449 §10).
func validJKT(v string) bool {
	if len(v) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil && len(b) == 32
}

// confirmation is the "cnf" member of an introspection answer for a
// bound token (RFC 9449 §6.2).
type confirmation struct {
	JKT string `json:"jkt"`
}
