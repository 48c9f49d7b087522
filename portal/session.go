package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// CookieName is the session cookie's name. The __Host- prefix makes
// browsers accept it only with Secure, Path=/ and no Domain, so neither a
// plain-HTTP page nor a sibling subdomain can set or overwrite it.
const CookieName = "__Host-portal-session"

// sessionIDBytes is the entropy of a session ID: 256 bits.
const sessionIDBytes = 32

// touchEvery is how often a session's LastSeenAt is written: a write per
// minute per active session, not one per request.
const touchEvery = time.Minute

// session is the signed-in request's session and account.
type session struct {
	hash    SessionHash
	account Account
}

// newSessionID returns a fresh random session ID and its hash.
func newSessionID() (string, SessionHash) {
	b := make([]byte, sessionIDBytes)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	id := base64.RawURLEncoding.EncodeToString(b)
	return id, sha256.Sum256([]byte(id))
}

// sessionHash returns the hash of the session ID in r's cookie, or false
// when there is no cookie or its value cannot be a session ID (such a
// value never reaches the store).
func sessionHash(r *http.Request) (SessionHash, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil || !validSessionID(c.Value) {
		return SessionHash{}, false
	}
	return sha256.Sum256([]byte(c.Value)), true
}

func validSessionID(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(sessionIDBytes) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// sessionCookie is the session cookie with value; maxAge -1 deletes it.
// It has no Max-Age otherwise: it ends with the browser, and the server
// ends the session by the timeouts whatever the browser keeps.
func sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   true,
		HttpOnly: true,
		// Lax: the cookie goes with a top-level navigation from a link
		// elsewhere (a GET, which changes nothing), never with another
		// site's POST; CrossOriginProtection refuses those anyway.
		SameSite: http.SameSiteLaxMode,
	}
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, sessionCookie("", -1))
}

// current returns the session of r, if r has one that is live: known to
// the store, within both timeouts, of an account that exists. A dead
// session is deleted. The error is a store's.
func (p *Portal) current(r *http.Request) (session, bool, error) {
	h, ok := sessionHash(r)
	if !ok {
		return session{}, false, nil
	}
	ctx := r.Context()
	s, err := p.sessions.Session(ctx, h)
	switch {
	case errors.Is(err, ErrNotFound):
		return session{}, false, nil
	case err != nil:
		return session{}, false, fmt.Errorf("portal: session: %w", err)
	case subtle.ConstantTimeCompare(s.Hash[:], h[:]) != 1 || s.AccountID == "":
		// Not the session asked for: a store bug, never a sign-in.
		return session{}, false, fmt.Errorf("portal: session store returned another session")
	}
	now := p.now()
	if !now.Before(s.CreatedAt.Add(p.abs)) || !now.Before(s.LastSeenAt.Add(p.idle)) ||
		(!s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)) {
		p.report(r, p.sessions.DeleteSession(ctx, h))
		return session{}, false, nil
	}
	a, err := p.accounts.Account(ctx, s.AccountID)
	switch {
	case errors.Is(err, ErrNotFound):
		p.report(r, p.sessions.DeleteSession(ctx, h))
		return session{}, false, nil
	case err != nil:
		return session{}, false, fmt.Errorf("portal: account: %w", err)
	case a.ID != s.AccountID:
		return session{}, false, fmt.Errorf("portal: account store returned another account")
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		// A failed touch costs the session at most the idle timeout; the
		// request goes on.
		p.report(r, p.sessions.TouchSession(ctx, h, now))
	}
	return session{hash: h, account: a}, true, nil
}

// signedIn wraps a handler of a page that needs a signed-in account: a
// request without a live session is sent to the sign-in page, one with a
// live session gets a context naming the account as the actor of every
// store call it makes.
func (p *Portal) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := p.current(r)
		if err != nil {
			p.fail(w, r, failUnavailable, err)
			return
		}
		if !ok {
			if _, err := r.Cookie(CookieName); err == nil {
				clearSessionCookie(w)
			}
			redirect(w, "/portal/signin")
			return
		}
		r = r.WithContext(p.withActor(r.Context(), actor(s.account)))
		h(w, r, &s)
	})
}

// actor names an account in the audit trail.
func actor(a Account) string { return "portal:" + a.Username }

// startSession signs a into a new session and sets its cookie. The
// session ID is always new (no fixation: an ID the browser had before,
// planted or not, is never the signed-in one), and the session the
// browser had, if any, is deleted. An error wrapping ErrBadCredentials
// means the password a.PasswordStamp names is no longer the account's.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, a Account) error {
	ctx := p.withActor(r.Context(), actor(a))
	if old, ok := sessionHash(r); ok {
		p.report(r, p.sessions.DeleteSession(ctx, old))
	}
	id, h := newSessionID()
	now := p.now()
	err := p.sessions.CreateSession(ctx, Session{
		Hash: h, AccountID: a.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(p.abs),
		PasswordStamp: a.PasswordStamp,
	})
	if err != nil {
		return fmt.Errorf("portal: create session: %w", err)
	}
	http.SetCookie(w, sessionCookie(id, 0))
	return nil
}
