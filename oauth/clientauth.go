package oauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/audexum/auth"
)

// maxClientIDLength bounds a client ID presented by a request; longer ones
// cannot exist and are refused before any lookup or counter.
const maxClientIDLength = 128

// clientCredentials are what a request presented to identify its client.
type clientCredentials struct {
	id, secret string
	// basic: the credentials came in an Authorization: Basic header.
	basic bool
}

// readClientCredentials extracts the client's credentials from the
// Authorization header or the body, for every client-authenticated
// endpoint. RFC 6749 §2.3.1: client_secret_basic (preferred) or
// client_secret_post; "The client MUST NOT use more than one
// authentication method in each request", so both at once is
// invalid_request. A public client sends only client_id (RFC 6749 §3.2.1,
// "none").
//
// The returned credentials have basic set whenever a Basic header was
// tried, also on error, so a 401 can carry the challenge.
func readClientCredentials(h http.Header, p params) (clientCredentials, error) {
	authz := h["Authorization"]
	switch len(authz) {
	case 0:
	case 1:
		cc := clientCredentials{basic: true}
		id, secret, ok := parseBasic(authz[0])
		if !ok {
			return cc, fmt.Errorf("%w: malformed Basic credentials", ErrClientAuth)
		}
		if _, both := p["client_secret"]; both {
			return cc, fmt.Errorf("%w: client_secret_basic and client_secret_post together", ErrMalformedRequest)
		}
		if bid, ok := p["client_id"]; ok && bid != id {
			return cc, fmt.Errorf("%w: client_id differs from the Basic credentials", ErrMalformedRequest)
		}
		cc.id, cc.secret = id, secret
		return cc, nil
	default:
		return clientCredentials{basic: true}, fmt.Errorf("%w: more than one Authorization header", ErrMalformedRequest)
	}
	id := p.get("client_id")
	if id == "" {
		return clientCredentials{}, fmt.Errorf("%w: no client credentials", ErrClientAuth)
	}
	return clientCredentials{id: id, secret: p.get("client_secret")}, nil
}

// parseBasic decodes an RFC 7617 Basic credential. RFC 6749 §2.3.1: "The
// client identifier is encoded using the "application/x-www-form-urlencoded"
// encoding algorithm … and the encoded value is used as the username; the
// client password is encoded using the same algorithm and used as the
// password." So "+" decodes to a space and "%2B" to "+".
func parseBasic(v string) (id, secret string, ok bool) {
	const scheme = "Basic "
	if len(v) > 1024 || len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(v[len(scheme):], " "))
	if err != nil {
		return "", "", false
	}
	user, pass, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(user); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(pass); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// authenticateClient returns the client cc identifies, after checking its
// secret. Confidential clients must present an active secret; public
// clients must present none. Every attempt is reserved with the server's
// attempt counter before the store is asked: failures count per client
// network and per (client ID, network), never per client ID alone, since
// client IDs are public and a per-ID lock would let anyone lock a client
// out while protecting nothing (secrets are 256-bit).
func (s *Server) authenticateClient(r *http.Request, cc clientCredentials) (*Client, failure) {
	fail := func(err error) (*Client, failure) { return nil, failure{err: err, basic: cc.basic} }
	ctx := r.Context()
	id := cc.id
	malformed := len(id) > maxClientIDLength || !printableASCII(id)
	if malformed {
		id = "" // counted against the network alone
	}
	at, err := s.attempts.Reserve(ctx, auth.ClientNetwork(r, s.proxies), id)
	if err != nil {
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			return nil, failure{err: ErrTooManyFailures, basic: cc.basic, retryAfter: te.RetryAfter}
		}
		return fail(fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	if malformed {
		at.Fail(ctx)
		return fail(fmt.Errorf("%w: malformed client ID", ErrClientAuth))
	}
	c, err := s.clients.Client(ctx, cc.id)
	switch {
	case errors.Is(err, ErrNotFound):
		at.Fail(ctx)
		return fail(fmt.Errorf("%w: unknown client", ErrClientAuth))
	case err != nil:
		at.Release()
		return fail(fmt.Errorf("%w: client store: %w", ErrUnavailable, err))
	}
	if c.Type.Confidential() {
		if !verifySecret(c, cc.secret, s.now()) {
			at.Fail(ctx)
			return fail(fmt.Errorf("%w: wrong, expired or missing secret", ErrClientAuth))
		}
	} else if cc.secret != "" {
		// A public client has no secret; one that sends a secret is
		// misconfigured or not who it claims to be.
		at.Fail(ctx)
		return fail(fmt.Errorf("%w: public client sent a secret", ErrClientAuth))
	}
	at.Release()
	return c, failure{}
}
