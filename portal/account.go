package portal

import (
	"errors"
	"net/http"

	"github.com/audexum/auth"
)

// accountData is the account page's data.
type accountData struct {
	Errors fieldErrors
	// Changed: the password was just changed.
	Changed bool
}

func (p *Portal) account(w http.ResponseWriter, r *http.Request, s *session) {
	d := accountData{Changed: r.URL.Query().Get("changed") == "password"}
	p.render(w, r, http.StatusOK, "account", view{Title: "Account", Nav: "account", Username: s.account.Username, Data: d})
}

// changePassword changes the account's password and signs out every
// other session: whoever knew the old password may be signed in
// elsewhere. The current password is required, and its failures are
// counted as sign-in failures are, so a borrowed session cannot guess it.
func (p *Portal) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	current, err1 := single(form, "current")
	next, err2 := single(form, "password")
	confirm, err3 := single(form, "confirm")
	if err1 != nil || err2 != nil || err3 != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	again := func(errs fieldErrors) {
		p.render(w, r, http.StatusUnprocessableEntity, "account", view{Title: "Account", Nav: "account", Username: s.account.Username,
			Data: accountData{Errors: errs}})
	}
	errs := fieldErrors{}
	if !validPassword(next) {
		errs["password"] = msgPassword
	} else if confirm != next {
		errs["confirm"] = msgConfirm
	}
	if len(errs) > 0 {
		again(errs)
		return
	}
	ctx := r.Context()
	identity := s.account.Username
	if !validUsername(identity) {
		identity = ""
	}
	at, err := p.attempts.Reserve(ctx, auth.ClientNetwork(r, p.proxies), identity)
	if err != nil {
		p.throttled(w, r, err)
		return
	}
	if len(current) > maxPasswordLength {
		at.Fail(ctx)
		again(fieldErrors{"current": "This is not your current password."})
		return
	}
	err = p.accounts.ChangePassword(ctx, s.account.ID, current, next)
	switch {
	case errors.Is(err, ErrBadCredentials):
		at.Fail(ctx)
		again(fieldErrors{"current": "This is not your current password."})
		return
	case errors.Is(err, ErrInvalidPassword):
		at.Release()
		again(fieldErrors{"password": "This password is not allowed. Choose another."})
		return
	case err != nil:
		at.Release()
		p.fail(w, r, failUnavailable, err)
		return
	}
	at.Release()
	if err := p.sessions.DeleteOtherSessions(ctx, s.account.ID, s.hash); err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	redirect(w, "/portal/account?changed=password")
}
