package portal

import (
	"errors"
	"net/http"
	"slices"

	"github.com/audexum/auth/oauth"
)

// appRow is an application as the pages show it.
type appRow struct {
	App
	// TypeLabel names the type in words.
	TypeLabel string
	// HasSecret: a web or server application, which authenticates with a
	// client secret.
	HasSecret bool
}

func newAppRow(a App) appRow {
	row := appRow{App: a, TypeLabel: string(a.Type), HasSecret: a.Type.Confidential()}
	for _, t := range appTypes {
		if t.Type == a.Type {
			row.TypeLabel = t.Label
		}
	}
	return row
}

// ownApp returns the application named by the path's {id} if it belongs
// to the signed-in account; another account's is answered exactly as one
// that does not exist.
func (p *Portal) ownApp(w http.ResponseWriter, r *http.Request, s *session) (App, bool) {
	id := r.PathValue("id")
	if !validID(id) {
		p.fail(w, r, failNotFound, nil)
		return App{}, false
	}
	a, err := p.apps.App(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		p.fail(w, r, failNotFound, nil)
		return App{}, false
	case err != nil:
		p.fail(w, r, failUnavailable, err)
		return App{}, false
	case a.ID != id || a.Owner != s.account.ID:
		p.fail(w, r, failNotFound, nil)
		return App{}, false
	}
	return a, true
}

func (p *Portal) appList(w http.ResponseWriter, r *http.Request, s *session) {
	apps, err := p.apps.ListApps(r.Context(), s.account.ID)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	var rows []appRow
	for _, a := range apps {
		if a.Owner == s.account.ID {
			rows = append(rows, newAppRow(a))
		}
	}
	slices.SortStableFunc(rows, func(a, b appRow) int { return b.CreatedAt.Compare(a.CreatedAt) })
	p.render(w, r, http.StatusOK, "apps", view{Title: "Applications", Nav: "apps", Username: s.account.Username, Data: rows})
}

// appNewData is the registration form's data.
type appNewData struct {
	Form   appForm
	Errors fieldErrors
	// URIs are the redirect URI fields, with their errors.
	URIs   []uriField
	Types  []typeChoice
	Scopes []scopeInfo
}

type uriField struct {
	N            int
	Value, Error string
}

type typeChoice struct {
	Value, Label, Hint string
	Checked            bool
}

func (p *Portal) renderAppNew(w http.ResponseWriter, r *http.Request, s *session, status int, f appForm, errs *appErrors) {
	d := appNewData{Form: f, Scopes: p.scopeInfos(f.Checked)}
	if errs != nil {
		d.Errors = errs.fieldErrors
	}
	for i, u := range f.URIs {
		fld := uriField{N: i + 1, Value: u}
		if errs != nil && i < len(errs.URIs) {
			fld.Error = errs.URIs[i]
		}
		d.URIs = append(d.URIs, fld)
	}
	// One empty field to fill in; two on a new form, which is the common
	// case (a production and a development URI).
	empty := 1
	if len(f.URIs) == 0 && errs == nil && !f.More {
		empty = 2
	}
	for range empty {
		if len(d.URIs) < maxRedirectURIs {
			d.URIs = append(d.URIs, uriField{N: len(d.URIs) + 1})
		}
	}
	for _, t := range appTypes {
		d.Types = append(d.Types, typeChoice{Value: string(t.Type), Label: t.Label, Hint: t.Hint, Checked: t.Type == f.Type})
	}
	p.render(w, r, status, "app_new", view{Title: "Register an application", Nav: "apps", Username: s.account.Username, Data: d})
}

func (p *Portal) appNew(w http.ResponseWriter, r *http.Request, s *session) {
	p.renderAppNew(w, r, s, http.StatusOK, appForm{Type: oauth.ClientWeb}, nil)
}

// appSecretData is the page that shows a client's ID and, once, its
// secret.
type appSecretData struct {
	App    appRow
	Secret string
	// Rotated: a new secret for an existing application.
	Rotated bool
}

// appRegister registers an application and shows its secret in the
// response to the POST, the only time it is ever shown.
func (p *Portal) appRegister(w http.ResponseWriter, r *http.Request, s *session) {
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	f, errs, err := parseAppForm(form, p.catalog)
	switch {
	case err != nil:
		p.fail(w, r, failBadRequest, nil)
		return
	case f.More:
		p.renderAppNew(w, r, s, http.StatusOK, f, errs)
		return
	case errs != nil:
		p.renderAppNew(w, r, s, http.StatusUnprocessableEntity, f, errs)
		return
	}
	a, secret, err := p.apps.RegisterApp(r.Context(), AppParams{
		Owner: s.account.ID, Name: f.Name, Type: f.Type, RedirectURIs: f.URIs, Scopes: f.Scopes,
	})
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	p.render(w, r, http.StatusOK, "app_secret", view{Title: "Your new application", Nav: "apps", Username: s.account.Username, Copy: true,
		Data: appSecretData{App: newAppRow(a), Secret: secret}})
}

func (p *Portal) appDetail(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownApp(w, r, s)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "app", view{Title: "Application " + a.ID, Nav: "apps", Username: s.account.Username, Data: newAppRow(a)})
}

// ownConfidentialApp is ownApp for the secret's routes: a mobile
// application has no secret, so its rotation page does not exist.
func (p *Portal) ownConfidentialApp(w http.ResponseWriter, r *http.Request, s *session) (App, bool) {
	a, ok := p.ownApp(w, r, s)
	if ok && !a.Type.Confidential() {
		p.fail(w, r, failNotFound, nil)
		return App{}, false
	}
	return a, ok
}

func (p *Portal) appRotatePage(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownConfidentialApp(w, r, s)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "app_rotate", view{Title: "New secret for application " + a.ID, Nav: "apps", Username: s.account.Username, Data: newAppRow(a)})
}

func (p *Portal) appRotate(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownConfidentialApp(w, r, s)
	if !ok || !p.confirmed(w, r) {
		return
	}
	secret, err := p.apps.RotateAppSecret(r.Context(), a.ID)
	if !p.changed(w, r, err) {
		return
	}
	p.render(w, r, http.StatusOK, "app_secret", view{Title: "Your new client secret", Nav: "apps", Username: s.account.Username, Copy: true,
		Data: appSecretData{App: newAppRow(a), Secret: secret, Rotated: true}})
}

func (p *Portal) appDeletePage(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownApp(w, r, s)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "app_delete", view{Title: "Delete application " + a.ID, Nav: "apps", Username: s.account.Username, Data: newAppRow(a)})
}

func (p *Portal) appDelete(w http.ResponseWriter, r *http.Request, s *session) {
	a, ok := p.ownApp(w, r, s)
	if !ok || !p.confirmed(w, r) {
		return
	}
	if !p.changed(w, r, p.apps.DeleteApp(r.Context(), a.ID)) {
		return
	}
	redirect(w, "/portal/apps")
}
