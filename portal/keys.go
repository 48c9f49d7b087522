package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Flags on the key list: the product's advice is to rotate keys at least
// every 90 days, and a key about to expire needs its replacement now.
const (
	oldKeyAge      = 90 * 24 * time.Hour
	expiringWithin = 14 * 24 * time.Hour
)

// keyRow is a key as the pages show it.
type keyRow struct {
	Key
	// Status is Active, Rotated, Expired or Revoked.
	Status string
	// Flags are warnings about an active key.
	Flags []string
	// CanRotate: active and not rotated yet. CanRevoke: still works.
	CanRotate, CanRevoke bool
}

func newKeyRow(k Key, now time.Time) keyRow {
	row := keyRow{Key: k}
	expired := !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
	switch {
	case !k.RevokedAt.IsZero():
		row.Status = "Revoked"
	case expired:
		row.Status = "Expired"
	case k.ReplacedBy != "":
		// Works until its shortened expiry; expiring is its design.
		row.Status = "Rotated"
		row.CanRevoke = true
	default:
		row.Status = "Active"
		row.CanRotate, row.CanRevoke = true, true
		if now.Sub(k.CreatedAt) >= oldKeyAge {
			row.Flags = append(row.Flags, "Older than 90 days: rotate it.")
		}
		if !k.ExpiresAt.IsZero() && k.ExpiresAt.Sub(now) <= expiringWithin {
			row.Flags = append(row.Flags, "Expires within 14 days: rotate it.")
		}
	}
	return row
}

// scopeInfo is a scope of the catalog as a form offers it.
type scopeInfo struct {
	Name, Description string
	Checked           bool
}

func (p *Portal) scopeInfos(checked map[string]bool) []scopeInfo {
	var out []scopeInfo
	for si := range p.catalog.All() {
		out = append(out, scopeInfo{Name: si.Name, Description: si.Description, Checked: checked[si.Name]})
	}
	return out
}

// validID is what the portal passes to a store as an ID from a URL: at
// most 128 printable ASCII characters. Anything else is answered 404
// without a store call, as an unknown ID is.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// ownKey returns the key named by the path's {id} if it belongs to the
// signed-in account. A key of another account is answered exactly as a
// key that does not exist: the same 404 page, after the same store call.
func (p *Portal) ownKey(w http.ResponseWriter, r *http.Request, s *session) (Key, bool) {
	id := r.PathValue("id")
	if !validID(id) {
		p.fail(w, r, failNotFound, nil)
		return Key{}, false
	}
	k, err := p.keys.Key(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		p.fail(w, r, failNotFound, nil)
		return Key{}, false
	case err != nil:
		p.fail(w, r, failUnavailable, err)
		return Key{}, false
	case k.ID != id || k.Owner != s.account.ID:
		p.fail(w, r, failNotFound, nil)
		return Key{}, false
	}
	return k, true
}

func (p *Portal) keyList(w http.ResponseWriter, r *http.Request, s *session) {
	keys, err := p.keys.ListKeys(r.Context(), s.account.ID)
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	now := p.now()
	var rows []keyRow
	for _, k := range keys {
		if k.Owner == s.account.ID { // the store's filter, checked again
			rows = append(rows, newKeyRow(k, now))
		}
	}
	slices.SortStableFunc(rows, func(a, b keyRow) int { return b.CreatedAt.Compare(a.CreatedAt) })
	p.render(w, r, http.StatusOK, "keys", view{Title: "API Keys", Nav: "keys", Username: s.account.Username, Data: rows})
}

// keyNewData is the key generation form's data.
type keyNewData struct {
	Form    keyForm
	Errors  fieldErrors
	Scopes  []scopeInfo
	Expires []choice
}

func (p *Portal) renderKeyNew(w http.ResponseWriter, r *http.Request, s *session, status int, f keyForm, errs fieldErrors) {
	p.render(w, r, status, "key_new", view{Title: "Generate an API key", Nav: "keys", Username: s.account.Username,
		Data: keyNewData{Form: f, Errors: errs, Scopes: p.scopeInfos(f.Checked), Expires: expiryChoices}})
}

func (p *Portal) keyNew(w http.ResponseWriter, r *http.Request, s *session) {
	// No scope is checked: a key gets the scopes its owner chooses, not
	// the ones a default hands out.
	p.renderKeyNew(w, r, s, http.StatusOK, keyForm{Expires: defaultExpiry}, nil)
}

// keySecretData is the page that shows a key, once.
type keySecretData struct {
	Secret string
	Key    keyRow
	// Rotated: the key replaces Old, which works until OldUntil (or
	// stopped now, when OldStopped).
	Rotated    bool
	Old        Key
	OldUntil   time.Time
	OldStopped bool
}

// keyCreate generates a key and shows it in the response to the POST,
// the only time it is ever shown: never in a URL, never after a redirect,
// never stored.
func (p *Portal) keyCreate(w http.ResponseWriter, r *http.Request, s *session) {
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	f, errs, err := parseKeyForm(form, p.catalog)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	if errs != nil {
		p.renderKeyNew(w, r, s, http.StatusUnprocessableEntity, f, errs)
		return
	}
	secret, k, err := p.keys.CreateKey(r.Context(), KeyParams{
		Owner: s.account.ID, Name: f.Name, Description: f.Description, Scopes: f.Scopes, TTL: f.TTL,
	})
	if err != nil {
		p.fail(w, r, failUnavailable, err)
		return
	}
	p.render(w, r, http.StatusOK, "key_secret", view{Title: "Your new API key", Nav: "keys", Username: s.account.Username, Copy: true,
		Data: keySecretData{Secret: secret, Key: newKeyRow(k, p.now())}})
}

func (p *Portal) keyDetail(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, "key", view{Title: "API key " + k.ID, Nav: "keys", Username: s.account.Username,
		Data: newKeyRow(k, p.now())})
}

// keyRotateData is the rotation form's data.
type keyRotateData struct {
	Key     keyRow
	Choices []choice
	Default string
}

func (p *Portal) keyRotatePage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok {
		return
	}
	row := newKeyRow(k, p.now())
	if !row.CanRotate {
		p.fail(w, r, failConflict, nil)
		return
	}
	p.render(w, r, http.StatusOK, "key_rotate", view{Title: "Rotate API key " + k.ID, Nav: "keys", Username: s.account.Username,
		Data: keyRotateData{Key: row, Choices: graceChoices, Default: defaultGrace}})
}

// keyRotate replaces a key and shows the new one once, as keyCreate does.
func (p *Portal) keyRotate(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok {
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	grace, err := parseGrace(form)
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return
	}
	now := p.now()
	if !newKeyRow(k, now).CanRotate {
		p.fail(w, r, failConflict, nil)
		return
	}
	secret, next, err := p.keys.RotateKey(r.Context(), k.ID, grace)
	if !p.changed(w, r, err) {
		return
	}
	until := now.Add(grace)
	if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(until) {
		until = k.ExpiresAt
	}
	p.render(w, r, http.StatusOK, "key_secret", view{Title: "Your new API key", Nav: "keys", Username: s.account.Username, Copy: true,
		Data: keySecretData{Secret: secret, Key: newKeyRow(next, now), Rotated: true, Old: k, OldUntil: until, OldStopped: grace == 0}})
}

// changed answers a store's error on a change: 404, 409 or 503. It
// returns true when there was none.
func (p *Portal) changed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrNotFound):
		p.fail(w, r, failNotFound, nil)
	case errors.Is(err, ErrConflict):
		p.fail(w, r, failConflict, nil)
	default:
		p.fail(w, r, failUnavailable, err)
	}
	return false
}

func (p *Portal) keyRevokePage(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok {
		return
	}
	row := newKeyRow(k, p.now())
	if !row.CanRevoke {
		p.fail(w, r, failConflict, nil)
		return
	}
	p.render(w, r, http.StatusOK, "key_revoke", view{Title: "Revoke API key " + k.ID, Nav: "keys", Username: s.account.Username, Data: row})
}

// confirmed reads a confirmation form: it must carry confirm=yes, which
// only the confirmation page's button sends.
func (p *Portal) confirmed(w http.ResponseWriter, r *http.Request) bool {
	form, err := readForm(w, r)
	if err == nil {
		var c string
		if c, err = single(form, "confirm"); err == nil && c != "yes" {
			err = errForm
		}
	}
	if err != nil {
		p.fail(w, r, failBadRequest, nil)
		return false
	}
	return true
}

func (p *Portal) keyRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := p.ownKey(w, r, s)
	if !ok || !p.confirmed(w, r) {
		return
	}
	if !newKeyRow(k, p.now()).CanRevoke {
		p.fail(w, r, failConflict, nil)
		return
	}
	if !p.changed(w, r, p.keys.RevokeKey(r.Context(), k.ID)) {
		return
	}
	redirect(w, "/portal/keys/"+url.PathEscape(k.ID))
}
