package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/audexum/auth"
	b62 "github.com/audexum/auth/internal/base62"
)

// grantIDLength is the number of base62 characters of a grant ID.
const grantIDLength = 22

func newGrantID() string {
	return string(b62.AppendRandom(make([]byte, 0, grantIDLength), grantIDLength))
}

// Approve answers req after the user identified by subject approved it
// for the granted scopes, which must be within req.Scopes (the user may
// grant fewer). It stores a new single-use code (its hash, valid for
// Config.CodeTTL, bound to the client, redirect URI, user, scopes, PKCE
// challenge and dpop_jkt key) and redirects with 303 to the redirect URI
// with "code", "state" and "iss", keeping any query the registered URI
// has (RFC 6749 §4.1.2, RFC 9207).
//
// Approve always writes a response. On failure it redirects with
// "server_error" (a nil request, an empty subject, a subject equal to the
// client ID or starting with ClientIDPrefix and "_", scopes beyond the
// request) or "temporarily_unavailable" (the store failed), and returns
// the error.
func (s *Server) Approve(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, subject string, granted auth.Scopes) error {
	if req == nil || req.Client == nil || req.RedirectURI == "" {
		err := errors.New("oauth: Approve needs the request ParseAuthorizeRequest returned")
		s.emit(Event{Kind: EventAuthorizeRefused, Request: r, Err: err})
		SetPageHeaders(w.Header())
		writePage(w, http.StatusInternalServerError)
		return err
	}
	ev := Event{Kind: EventAuthorizeRefused, Request: r, ClientID: req.Client.ID, Subject: subject}
	fail := func(code string, err error) error {
		ev.Err = err
		s.emit(ev)
		s.redirect(w, req.RedirectURI, [][2]string{{"error", code}}, req.State)
		return err
	}
	switch {
	case subject == "":
		return fail("server_error", errors.New("oauth: Approve needs a subject"))
	case subject == req.Client.ID || strings.HasPrefix(subject, ClientIDPrefix+"_"):
		// Resource servers tell a client acting for itself from a user
		// by "sub" == "client_id", and name both by "sub": a user whose
		// ID equals the client's would get a token that reads as the
		// client's own, and one whose ID looks like a client ID could be
		// taken for that client. User IDs stay out of that namespace.
		return fail("server_error", errors.New("oauth: Approve subject looks like a client ID"))
	case !req.Scopes.Includes(granted):
		return fail("server_error", fmt.Errorf("%w: granted scopes beyond the request", ErrInvalidScope))
	}
	now := s.now()
	code := newValue(CodePrefix)
	c := &Code{
		Hash:          HashSecret(code),
		ClientID:      req.Client.ID,
		Subject:       subject,
		RedirectURI:   req.RedirectURI,
		Scopes:        granted,
		CodeChallenge: req.CodeChallenge,
		DPoPJKT:       req.DPoPJKT,
		GrantID:       newGrantID(),
		CreatedAt:     now,
		ExpiresAt:     now.Add(s.codeTTL),
	}
	if err := s.grants.CreateCode(r.Context(), c); err != nil {
		return fail("temporarily_unavailable", fmt.Errorf("%w: grant store: %w", ErrUnavailable, err))
	}
	s.redirect(w, req.RedirectURI, [][2]string{{"code", code}}, req.State)
	s.emit(Event{Kind: EventCodeIssued, Request: r, ClientID: req.Client.ID, Subject: subject, GrantID: c.GrantID})
	return nil
}

// Deny answers req as refused by the user or the application: a 303
// redirect with "error=access_denied", "state" and "iss" (RFC 6749
// §4.1.2.1).
func (s *Server) Deny(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest) {
	if req == nil || req.RedirectURI == "" {
		SetPageHeaders(w.Header())
		writePage(w, http.StatusBadRequest)
		return
	}
	ev := Event{Kind: EventAuthorizeRefused, Request: r, Err: ErrAccessDenied}
	if req.Client != nil {
		ev.ClientID = req.Client.ID
	}
	s.emit(ev)
	s.redirect(w, req.RedirectURI, [][2]string{{"error", "access_denied"}}, req.State)
}
