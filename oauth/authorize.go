package oauth

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/audexum/auth"
)

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1
// with RFC 7636 §4.3). [Server.ParseAuthorizeRequest] returns it; the
// application shows its login and consent page, then answers with
// [Server.Approve] or [Server.Deny].
type AuthorizeRequest struct {
	// Client is the registered client making the request.
	Client *Client
	// RedirectURI is the request's redirect_uri, which matched one of the
	// client's registered URIs. The answer goes there.
	RedirectURI string
	// Scopes are the scopes requested, within the client's; the client's
	// default scopes when the request named none. Show them on the consent
	// page; the user may grant fewer.
	Scopes auth.Scopes
	// State is the client's opaque state value, echoed exactly in the
	// answer.
	State string
	// CodeChallenge is the S256 PKCE challenge.
	CodeChallenge string
	// DPoPJKT is the request's dpop_jkt (RFC 9449 §10): the thumbprint
	// of the key the code is bound to, or "". Approve stores it with the
	// code, and the code is redeemed only with a DPoP proof by that key.
	DPoPJKT string
}

// AuthorizeError is the error [Server.ParseAuthorizeRequest] returns. Pass
// it to [Server.WriteAuthorizeError], which answers with a redirect to the
// client when that is safe ([AuthorizeError.Redirects]) and with a 400
// page otherwise.
type AuthorizeError struct {
	// Code is the RFC 6749 §4.1.2.1 error code sent to the client, or ""
	// when the error is shown as a page.
	Code string
	// Err is the reason, wrapping a sentinel of this package.
	Err error

	status      int // of the page, when not redirected
	redirectURI string
	state       string
}

func (e *AuthorizeError) Error() string {
	if e.Code != "" {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *AuthorizeError) Unwrap() error { return e.Err }

// Redirects reports whether the error is sent to the client's redirect
// URI. RFC 6749 §4.1.2.1: when the client or the redirect URI is missing,
// unknown or mismatched, "the authorization server SHOULD inform the
// resource owner of the error and MUST NOT automatically redirect the
// user-agent to the invalid redirection URI".
func (e *AuthorizeError) Redirects() bool { return e.redirectURI != "" }

func pageError(status int, err error) *AuthorizeError {
	return &AuthorizeError{Err: err, status: status}
}

// ParseAuthorizeRequest validates an authorization request: GET with the
// parameters in the query, or POST with them in a form body (RFC 6749
// §3.1). It checks, in this order, that the parameters are well formed
// and not repeated, the client exists and the redirect_uri matches one it
// registered (failures here are shown as a page, never redirected), then
// response_type "code", the client's right to the authorization_code
// grant, an S256 PKCE challenge (RFC 9700 §2.1.1; "plain" or none is
// invalid_request), dpop_jkt if present (RFC 9449 §10) and the scope
// (failures here are redirected).
//
// The error is always an *AuthorizeError; answer it with
// [Server.WriteAuthorizeError].
func (s *Server) ParseAuthorizeRequest(r *http.Request) (*AuthorizeRequest, error) {
	p, repeated, err := authorizeParams(r)
	if err != nil {
		return nil, pageError(http.StatusBadRequest, err)
	}
	return s.parseAuthorize(r, p, repeated)
}

// authorizeParams reads the parameters of an authorization request and
// the names that were repeated.
func authorizeParams(r *http.Request) (params, map[string]bool, error) {
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxFormBytes {
			return nil, nil, fmt.Errorf("%w: query too long", ErrMalformedRequest)
		}
		return scanParams(r.URL.RawQuery)
	case http.MethodPost:
		if r.URL.RawQuery != "" {
			return nil, nil, fmt.Errorf("%w: parameters in both query and body", ErrMalformedRequest)
		}
		ct := r.Header["Content-Type"]
		if len(ct) != 1 {
			return nil, nil, fmt.Errorf("%w: content type must be given once", ErrMalformedRequest)
		}
		if mt, _, err := mime.ParseMediaType(ct[0]); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, nil, fmt.Errorf("%w: content type must be application/x-www-form-urlencoded", ErrMalformedRequest)
		}
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1)); err != nil {
				return nil, nil, fmt.Errorf("%w: reading body: %v", ErrMalformedRequest, err)
			}
		}
		if len(body) > maxFormBytes {
			return nil, nil, fmt.Errorf("%w: body too large", ErrMalformedRequest)
		}
		return scanParams(string(body))
	}
	return nil, nil, fmt.Errorf("%w: method not allowed", ErrMalformedRequest)
}

func (s *Server) parseAuthorize(r *http.Request, p params, repeated map[string]bool) (*AuthorizeRequest, error) {
	clientID := p.get("client_id")
	if repeated["client_id"] || repeated["redirect_uri"] {
		// Which client, or where to? Ambiguity here is never resolved.
		return nil, pageError(http.StatusBadRequest, fmt.Errorf("%w: repeated client_id or redirect_uri", ErrMalformedRequest))
	}
	if clientID == "" || len(clientID) > maxClientIDLength {
		return nil, pageError(http.StatusBadRequest, fmt.Errorf("%w: client_id missing or malformed", ErrUnknownClient))
	}
	c, err := s.clients.Client(r.Context(), clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, pageError(http.StatusBadRequest, ErrUnknownClient)
	case err != nil:
		return nil, pageError(http.StatusServiceUnavailable, fmt.Errorf("%w: client store: %w", ErrUnavailable, err))
	}
	// RFC 9700 §2.1: exact string matching. A request without
	// redirect_uri is refused even when one URI is registered: with
	// several parties involved, explicit is safer than a default.
	redirectURI := p.get("redirect_uri")
	if _, ok := matchRedirectURI(c.RedirectURIs, redirectURI, c.Type == ClientMobile); !ok {
		return nil, pageError(http.StatusBadRequest, fmt.Errorf("%w: not registered", ErrInvalidRedirectURI))
	}
	state := p.get("state")
	redirect := func(code string, err error) (*AuthorizeRequest, error) {
		return nil, &AuthorizeError{Code: code, Err: err, redirectURI: redirectURI, state: state}
	}
	if repeated != nil {
		// RFC 6749 §3.1: "Request and response parameters MUST NOT be
		// included more than once." A repeated state is still echoed: its
		// first value, which is what the client sent first.
		return redirect("invalid_request", fmt.Errorf("%w: repeated parameter", ErrMalformedRequest))
	}
	for name, v := range p {
		if len(v) > maxParamLength && name != "state" {
			return redirect("invalid_request", fmt.Errorf("%w: parameter too long", ErrMalformedRequest))
		}
	}
	switch rt := p.get("response_type"); rt {
	case "code":
	case "":
		return redirect("invalid_request", fmt.Errorf("%w: response_type missing", ErrMalformedRequest))
	default:
		// "token" (implicit, RFC 9700 §2.1.2) and hybrid types.
		return redirect("unsupported_response_type", ErrUnsupportedResponseType)
	}
	if rm := p.get("response_mode"); rm != "" && rm != "query" {
		return redirect("invalid_request", fmt.Errorf("%w: unsupported response_mode", ErrMalformedRequest))
	}
	if !c.HasGrantType(GrantAuthorizationCode) {
		return redirect("unauthorized_client", ErrUnauthorizedClient)
	}
	// RFC 7636 §4.4.1: "If the server requires Proof Key for Code
	// Exchange (PKCE) by OAuth public clients and the client does not send
	// the "code_challenge" in the request, the authorization endpoint MUST
	// return the authorization error response with the "error" value set
	// to "invalid_request"." Required here for every client, S256 only.
	challenge := p.get("code_challenge")
	if p.get("code_challenge_method") != methodS256 || !validChallenge(challenge) {
		return redirect("invalid_request", ErrPKCE)
	}
	// RFC 9449 §10: the code is bound to this key, so a code stolen on
	// its way back to the app cannot be redeemed with another.
	jkt := p.get("dpop_jkt")
	if jkt != "" && !validJKT(jkt) {
		return redirect("invalid_request", fmt.Errorf("%w: dpop_jkt is not a base64url SHA-256 thumbprint", ErrMalformedRequest))
	}
	scopes := c.defaultScopes()
	if raw := p.get("scope"); raw != "" {
		req, err := auth.ParseScopes(raw)
		if err != nil {
			return redirect("invalid_scope", fmt.Errorf("%w: malformed scope", ErrInvalidScope))
		}
		if !c.Scopes.Includes(req) {
			return redirect("invalid_scope", fmt.Errorf("%w: scope not allowed for the client", ErrInvalidScope))
		}
		scopes = req
	}
	// Also the client's defaults: a client registered before a scope left
	// the catalog is not authorized for it (RFC 6749 §3.3 lets the server
	// "fail the request indicating an invalid scope").
	if !s.inCatalog(scopes) {
		return redirect("invalid_scope", errOutsideCatalog)
	}
	return &AuthorizeRequest{
		Client:        c,
		RedirectURI:   redirectURI,
		Scopes:        scopes,
		State:         state,
		CodeChallenge: challenge,
		DPoPJKT:       jkt,
	}, nil
}

// AuthorizeHandler returns the authorization endpoint: it parses each GET
// or POST request with [Server.ParseAuthorizeRequest], answers errors
// with [Server.WriteAuthorizeError], and hands valid requests to
// Config.Consent with the page security headers already set. Other
// methods get 405.
func (s *Server) AuthorizeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			SetPageHeaders(w.Header())
			w.Header()["Allow"] = []string{"GET, POST"}
			writePage(w, http.StatusMethodNotAllowed)
			return
		}
		req, err := s.ParseAuthorizeRequest(r)
		if err != nil {
			s.WriteAuthorizeError(w, r, err)
			return
		}
		SetPageHeaders(w.Header())
		if s.consent == nil {
			s.Deny(w, r, req)
			return
		}
		s.consent(w, r, req)
	})
}

// SetPageHeaders sets the headers every page of the authorization flow
// must send, the application's login and consent pages included: no
// framing (clickjacking, RFC 6749 §10.13: X-Frame-Options DENY and CSP
// frame-ancestors 'none'), no Referer (the URL carries the request, RFC
// 9700 §4.2.4: Referrer-Policy no-referrer), and no caching.
func SetPageHeaders(h http.Header) {
	h["X-Frame-Options"] = []string{"DENY"}
	h["Content-Security-Policy"] = []string{"frame-ancestors 'none'"}
	h["Referrer-Policy"] = []string{"no-referrer"}
	h["Cache-Control"] = []string{"no-store"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
}

// pages are the constant error pages. They say nothing about the request.
var pages = map[int]string{
	http.StatusBadRequest:         pageHTML("Invalid authorization request", "This authorization request is not valid. Return to the application and try again."),
	http.StatusMethodNotAllowed:   pageHTML("Invalid authorization request", "This authorization request is not valid. Return to the application and try again."),
	http.StatusServiceUnavailable: pageHTML("Temporarily unavailable", "The authorization server cannot handle the request right now. Try again later."),
	http.StatusInternalServerError: pageHTML("Authorization failed",
		"The authorization could not be completed. Return to the application and try again."),
}

func pageHTML(title, text string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + title +
		`</title></head><body><h1>` + title + `</h1><p>` + text + `</p></body></html>` + "\n"
}

func writePage(w http.ResponseWriter, status int) {
	body, ok := pages[status]
	if !ok {
		status, body = http.StatusBadRequest, pages[http.StatusBadRequest]
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	// The page loads nothing.
	h["Content-Security-Policy"] = []string{"default-src 'none'; frame-ancestors 'none'"}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// WriteAuthorizeError answers a failed authorization request. When the
// client and redirect URI were valid (err is an *AuthorizeError that
// [AuthorizeError.Redirects]) it redirects there with 303 and "error",
// "state" and "iss" (RFC 6749 §4.1.2.1, RFC 9207 §2); otherwise it renders
// a constant 400 page (503 when a store failed) and never redirects.
func (s *Server) WriteAuthorizeError(w http.ResponseWriter, r *http.Request, err error) {
	SetPageHeaders(w.Header())
	var ae *AuthorizeError
	if !errors.As(err, &ae) {
		s.emit(Event{Kind: EventAuthorizeRefused, Request: r, Err: err})
		writePage(w, http.StatusInternalServerError)
		return
	}
	s.emit(Event{Kind: EventAuthorizeRefused, Request: r, Err: ae.Err})
	if !ae.Redirects() {
		writePage(w, ae.status)
		return
	}
	s.redirect(w, ae.redirectURI, [][2]string{{"error", ae.Code}}, ae.state)
}

// redirect sends the user agent to uri with the given parameters, then
// state (when the request had one) and iss. RFC 9700 §4.12: 303, so a
// POST is not repeated with its body.
func (s *Server) redirect(w http.ResponseWriter, uri string, ps [][2]string, state string) {
	if state != "" {
		ps = append(ps, [2]string{"state", state})
	}
	// RFC 9207 §2: "iss" in every authorization response, success or
	// error, so the client can detect a mix-up of servers.
	ps = append(ps, [2]string{"iss", s.issuer})
	h := w.Header()
	SetPageHeaders(h)
	h["Location"] = []string{redirectWith(uri, ps)}
	w.WriteHeader(http.StatusSeeOther)
}
