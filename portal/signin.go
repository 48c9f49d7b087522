package portal

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/audexum/auth"
)

// home sends a signed-in browser to its keys, anyone else to sign in.
func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	_, ok, err := p.current(r)
	switch {
	case err != nil:
		p.fail(w, r, failUnavailable, err)
	case ok:
		redirect(w, "/portal/keys")
	default:
		redirect(w, "/portal/signin")
	}
}

// signInData is the sign-in and sign-up pages' data.
type signInData struct {
	Username string
	Error    string
	Errors   fieldErrors
}

const msgWrongPassword = "Wrong username or password."

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, err := p.current(r); err == nil && ok {
		redirect(w, "/portal/keys")
		return
	}
	p.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signInData{}})
}

// signIn checks a username and password. Every attempt is counted with the
// attempt counter before the password is looked at; a malformed username
// or an oversized password is a failure counted against the network alone
// and never reaches the store; an unknown username and a wrong password
// get the same page.
func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	username, err1 := single(form, "username")
	password, err2 := single(form, "password")
	if err1 != nil || err2 != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	ctx := r.Context()
	identity := username
	if !validUsername(username) {
		identity = ""
	}
	at, err := p.attempts.Reserve(ctx, auth.ClientNetwork(r, p.proxies), identity)
	if err != nil {
		p.throttled(w, r, err)
		return
	}
	wrong := func() {
		at.Fail(ctx)
		p.render(w, r, http.StatusUnprocessableEntity, "signin", view{Title: "Sign in",
			Data: signInData{Username: username, Error: msgWrongPassword}})
	}
	if identity == "" || len(password) > maxPasswordLength {
		wrong()
		return
	}
	a, err := p.accounts.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		wrong()
		return
	case err != nil:
		// No verdict: our outage is not the guesser's failure.
		at.Release()
		p.fail(w, r, failUnavailable, err)
		return
	case a.ID == "":
		at.Release()
		p.fail(w, r, failUnavailable, errors.New("portal: Authenticate returned an account without ID"))
		return
	}
	err = p.startSession(w, r, a)
	switch {
	case errors.Is(err, ErrBadCredentials):
		// The password was changed (or the account deleted) since
		// Authenticate verified it: the password given is no longer
		// right, and the answer says so.
		wrong()
		return
	case err != nil:
		at.Release()
		p.fail(w, r, failUnavailable, err)
		return
	}
	at.Release()
	redirect(w, "/portal/keys")
}

// throttled answers a refused attempt: 429 with Retry-After, the same
// page whatever the username.
func (p *Portal) throttled(w http.ResponseWriter, r *http.Request, err error) {
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		p.failRetry(w, r, failThrottled, nil, te.RetryAfter)
		return
	}
	// The request's context ended while it waited: nobody is listening.
	p.fail(w, r, failUnavailable, err)
}

func (p *Portal) signUpPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, "signup", view{Title: "Create an account", Data: signInData{}})
}

// signUpPost creates an account and signs it in. A taken username is a
// failure for the attempt counter (per network): sign-up answers whether
// a username exists, and the counter bounds how fast anyone can ask.
func (p *Portal) signUpPost(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	username, err1 := single(form, "username")
	password, err2 := single(form, "password")
	confirm, err3 := single(form, "confirm")
	if err1 != nil || err2 != nil || err3 != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	errs := fieldErrors{}
	if !validUsername(username) {
		errs["username"] = msgUsername
	}
	if !validPassword(password) {
		errs["password"] = msgPassword
	} else if subtle.ConstantTimeCompare([]byte(confirm), []byte(password)) != 1 {
		errs["confirm"] = msgConfirm
	}
	again := func(errs fieldErrors) {
		p.render(w, r, http.StatusUnprocessableEntity, "signup", view{Title: "Create an account",
			Data: signInData{Username: username, Errors: errs}})
	}
	if len(errs) > 0 {
		again(errs)
		return
	}
	ctx := r.Context()
	at, err := p.attempts.Reserve(ctx, auth.ClientNetwork(r, p.proxies), "")
	if err != nil {
		p.throttled(w, r, err)
		return
	}
	a, err := p.signUp.CreateAccount(p.withActor(ctx, "portal:"+username), username, password)
	switch {
	case errors.Is(err, ErrUsernameTaken):
		at.Fail(ctx)
		again(fieldErrors{"username": "This username is taken. Choose another."})
		return
	case errors.Is(err, ErrInvalidPassword):
		at.Release()
		again(fieldErrors{"password": "This password is not allowed. Choose another."})
		return
	case err != nil:
		at.Release()
		p.fail(w, r, failUnavailable, err)
		return
	case a.ID == "":
		at.Release()
		p.fail(w, r, failUnavailable, errors.New("portal: CreateAccount returned an account without ID"))
		return
	}
	at.Release()
	if err := p.startSession(w, r, a); err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	redirect(w, "/portal/keys")
}

// signOut ends this browser's session.
func (p *Portal) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.sessions.DeleteSession(r.Context(), s.hash); err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	clearSessionCookie(w)
	redirect(w, "/portal/signin")
}

// signOutEverywhere ends every session of the account, this one included.
func (p *Portal) signOutEverywhere(w http.ResponseWriter, r *http.Request, s *session) {
	if err := p.sessions.DeleteAccountSessions(r.Context(), s.account.ID); err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	clearSessionCookie(w)
	redirect(w, "/portal/signin")
}
