package portal

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/internal/label"
	"github.com/audexum/auth/oauth"
)

// Form input. Every form posts application/x-www-form-urlencoded to a
// portal path; the body is read whole, bounded, and only from the body
// (a query string is never read for a POST, so nothing secret is ever
// expected in a URL). A field that is sent twice where the form has it
// once is a malformed request, not a choice between values.

// maxFormBytes bounds a form's body. The largest form (an application
// with 20 redirect URIs of 2000 bytes) fits.
const maxFormBytes = 64 << 10

// errForm: the body is not a form the portal could have sent.
var errForm = errors.New("portal: malformed form")

// readForm reads r's form body.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errForm
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, errForm
	}
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errForm
	}
	return v, nil
}

// single returns the one value of field name, "" if absent, or errForm if
// it was sent more than once.
func single(v url.Values, name string) (string, error) {
	switch vs := v[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", errForm
	}
}

// fieldErrors are the messages shown next to the fields of a form that
// was refused, by field name.
type fieldErrors map[string]string

// Usernames: what the portal accepts as a username, the reference
// server's rule. Anything else is never looked up, and counts against the
// network alone.
const maxUsernameLength = 64

func validUsername(u string) bool {
	if u == "" || len(u) > maxUsernameLength {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@", c) >= 0) {
			return false
		}
	}
	return true
}

// Passwords: 8 to 1024 bytes of UTF-8 (NIST SP 800-63B §5.1.1.2: at least
// 8, accept at least 64; longer ones are refused before any hash is
// computed).
const (
	minPasswordLength = 8
	maxPasswordLength = 1024
)

func validPassword(s string) bool {
	return len(s) >= minPasswordLength && len(s) <= maxPasswordLength && utf8.ValidString(s)
}

const (
	msgUsername = "A username is 1 to 64 letters, digits, '.', '_', '-' or '@'."
	msgPassword = "A password is 8 to 1024 characters."
	msgConfirm  = "The two passwords differ."
	msgScopes   = "Choose at least one scope."
)

// scopeChoice parses the scope checkboxes: each must be a scope of the
// catalog; at least one. checked is what to check again if the form is
// shown back.
func scopeChoice(vals []string, cat *auth.ScopeCatalog) (s auth.Scopes, checked map[string]bool, msg string) {
	checked = make(map[string]bool)
	var toks []string
	for _, v := range vals {
		if !checked[v] {
			checked[v] = true
			toks = append(toks, v)
		}
		if len(checked) > auth.MaxScopes {
			return auth.Scopes{}, nil, "Too many scopes."
		}
	}
	if len(toks) == 0 {
		return auth.Scopes{}, checked, msgScopes
	}
	s, err := auth.NewScopes(toks...)
	if err != nil {
		// Only a form the portal did not send has these.
		return auth.Scopes{}, checked, "Choose scopes from the list."
	}
	if err := cat.Check(s); err != nil {
		// The catalog's own words: which scope, and the known ones.
		return auth.Scopes{}, checked, strings.TrimPrefix(err.Error(), "auth: ")
	}
	return s, checked, ""
}

// choice is one option of a radio group or select.
type choice struct {
	Value, Label string
	d            time.Duration
}

// expiryChoices are the lifetimes a new key may have. There is no "never":
// a key that never expires stays valid however long it leaks for.
var expiryChoices = []choice{
	{"7", "7 days", 7 * 24 * time.Hour},
	{"30", "30 days", 30 * 24 * time.Hour},
	{"90", "90 days", apikey.DefaultTTL},
	{"180", "180 days", 180 * 24 * time.Hour},
	{"365", "365 days", 365 * 24 * time.Hour},
}

const defaultExpiry = "90"

// graceChoices are how long a rotated key may keep working. "0s" is for a
// key that leaked: it stops at once.
var graceChoices = []choice{
	{"0s", "Immediately: the old key stops working now (for a key that leaked)", 0},
	{"1h", "1 hour", time.Hour},
	{"24h", "24 hours", apikey.DefaultRotationGrace},
	{"168h", "7 days", apikey.MaxRotationGrace},
}

const defaultGrace = "24h"

func pick(choices []choice, v string) (time.Duration, bool) {
	for _, c := range choices {
		if c.Value == v {
			return c.d, true
		}
	}
	return 0, false
}

// keyForm is the form that generates a key.
type keyForm struct {
	Name, Description string
	Scopes            auth.Scopes
	Checked           map[string]bool
	Expires           string
	TTL               time.Duration
}

// parseKeyForm reads the key generation form. The error is errForm for a
// form the portal did not send; fieldErrors say what to correct.
func parseKeyForm(v url.Values, cat *auth.ScopeCatalog) (keyForm, fieldErrors, error) {
	var f keyForm
	var err error
	if f.Name, err = single(v, "name"); err != nil {
		return keyForm{}, nil, err
	}
	if f.Description, err = single(v, "description"); err != nil {
		return keyForm{}, nil, err
	}
	if f.Expires, err = single(v, "expires"); err != nil {
		return keyForm{}, nil, err
	}
	errs := fieldErrors{}
	if !label.Valid(f.Name, apikey.MaxNameLength) {
		errs["name"] = "A name is 1 to 200 characters, not only spaces, without control or format characters."
	}
	if f.Description != "" && !label.Valid(f.Description, apikey.MaxDescriptionLength) {
		errs["description"] = "A description is at most 2000 characters, on one line, without control or format characters."
	}
	var msg string
	if f.Scopes, f.Checked, msg = scopeChoice(v["scope"], cat); msg != "" {
		errs["scope"] = msg
	}
	var ok bool
	if f.TTL, ok = pick(expiryChoices, f.Expires); !ok {
		errs["expires"] = "Choose when the key expires."
		f.Expires = defaultExpiry
	}
	if len(errs) > 0 {
		return f, errs, nil
	}
	return f, nil, nil
}

// parseGrace reads the rotation form's grace period.
func parseGrace(v url.Values) (time.Duration, error) {
	g, err := single(v, "grace")
	if err != nil {
		return 0, err
	}
	d, ok := pick(graceChoices, g)
	if !ok {
		return 0, errForm
	}
	return d, nil
}

// appTypes are the types of application, in the order the form offers
// them.
var appTypes = []struct {
	Type        oauth.ClientType
	Label, Hint string
}{
	{oauth.ClientWeb, "Web application", "A server-side web application that users sign in to. It gets a client secret and redirect URIs."},
	{oauth.ClientMobile, "Mobile or desktop application", "A native application. It has no secret (anything shipped in an app can be extracted) and uses PKCE."},
	{oauth.ClientServer, "Server-to-server", "A service acting for itself (client credentials). It gets a client secret and has no redirect URIs."},
}

// The oauth registry's limits: the most redirect URIs of a client, and the
// longest name.
const (
	maxRedirectURIs  = 20
	maxAppNameLength = 200
)

// appForm is the form that registers an application.
type appForm struct {
	Name    string
	Type    oauth.ClientType
	URIs    []string
	Scopes  auth.Scopes
	Checked map[string]bool
	// More: the person asked for another redirect URI field, not to
	// register yet.
	More bool
}

// appErrors are the messages of a refused application form: per field,
// and per redirect URI (same index as appForm.URIs).
type appErrors struct {
	fieldErrors
	URIs []string
}

// parseAppForm reads the application registration form. Empty redirect
// URI fields are left out; each other one is checked with the registry's
// rule, whose words are shown next to it.
func parseAppForm(v url.Values, cat *auth.ScopeCatalog) (appForm, *appErrors, error) {
	var f appForm
	name, err := single(v, "name")
	if err != nil {
		return appForm{}, nil, err
	}
	typ, err := single(v, "type")
	if err != nil {
		return appForm{}, nil, err
	}
	action, err := single(v, "action")
	if err != nil {
		return appForm{}, nil, err
	}
	switch action {
	case "", "register":
	case "add-uri":
		f.More = true
	default:
		return appForm{}, nil, errForm
	}
	f.Name = name
	errs := &appErrors{fieldErrors: fieldErrors{}}
	for _, t := range appTypes {
		if string(t.Type) == typ {
			f.Type = t.Type
		}
	}
	if f.Type == "" {
		errs.fieldErrors["type"] = "Choose the type of application."
	}
	if len(v["redirect_uri"]) > maxRedirectURIs+1 {
		// The form never has more fields than the registry takes, plus
		// the empty one to add.
		return appForm{}, nil, errForm
	}
	seen := make(map[string]bool)
	for _, u := range v["redirect_uri"] {
		if u == "" {
			continue
		}
		f.URIs = append(f.URIs, u)
		msg := ""
		if err := oauth.ValidateRedirectURI(u); err != nil {
			msg = strings.TrimPrefix(err.Error(), "oauth: ")
		} else if seen[u] {
			msg = "This redirect URI is listed twice."
		}
		seen[u] = true
		errs.URIs = append(errs.URIs, msg)
	}
	if f.More {
		// Nothing is checked yet: the form comes back with one more field.
		return f, nil, nil
	}
	if !label.Valid(f.Name, maxAppNameLength) {
		errs.fieldErrors["name"] = "A name is 1 to 200 characters, not only spaces, without control or format characters."
	}
	switch {
	case f.Type == oauth.ClientServer && len(f.URIs) > 0:
		errs.fieldErrors["redirect_uri"] = "A server-to-server application has no redirect URIs: nothing is ever redirected to it. Leave them empty."
	case (f.Type == oauth.ClientWeb || f.Type == oauth.ClientMobile) && len(f.URIs) == 0:
		errs.fieldErrors["redirect_uri"] = "A web or mobile application needs at least one redirect URI."
	case len(f.URIs) > maxRedirectURIs:
		errs.fieldErrors["redirect_uri"] = "At most 20 redirect URIs."
	}
	var msg string
	if f.Scopes, f.Checked, msg = scopeChoice(v["scope"], cat); msg != "" {
		errs.fieldErrors["scope"] = msg
	}
	bad := len(errs.fieldErrors) > 0
	for _, m := range errs.URIs {
		bad = bad || m != ""
	}
	if bad {
		return f, errs, nil
	}
	return f, nil, nil
}
