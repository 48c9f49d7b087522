package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates
var templateFS embed.FS

// The page's only style sheet and only script are inline, allowed by
// their hashes in the Content-Security-Policy: nothing else may style or
// script a page, and no page loads anything from anywhere.
var (
	pageStyle  = mustAsset("templates/portal.css")
	pageScript = mustAsset("templates/copy.js")

	// csp forbids everything a page does not need: no sources at all by
	// default, the one style sheet and the one script by hash, forms
	// posting only to the portal's origin, no framing (clickjacking), no
	// <base> to redirect relative links.
	csp = "default-src 'none'; style-src " + hashSource(pageStyle) + "; script-src " + hashSource(pageScript) +
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

func mustAsset(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// hashSource is the CSP hash-source of an inline element's text.
func hashSource(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// setPageHeaders sets the headers every response of the portal carries,
// error pages and redirects included.
func setPageHeaders(h http.Header) {
	h["Content-Security-Policy"] = []string{csp}
	h["Cache-Control"] = []string{"no-store"}
	h["Referrer-Policy"] = []string{"no-referrer"}
	h["X-Frame-Options"] = []string{"DENY"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Cross-Origin-Opener-Policy"] = []string{"same-origin"}
}

// view is what every page template gets.
type view struct {
	// Title is the page's title, before " · Developer Portal".
	Title string
	// Nav is the navigation entry of the page: keys, apps, monitoring or
	// account; empty on pages outside the navigation.
	Nav string
	// Username is the signed-in account's; empty when nobody is signed
	// in, which also hides the navigation.
	Username string
	// SignUp says whether the sign-up page exists.
	SignUp bool
	// Copy includes the script that enhances copy buttons.
	Copy bool
	// Data is the page's own.
	Data any
}

// layoutData is view plus the inline style and script, which templates
// must insert as they are for their hashes to match.
type layoutData struct {
	view
	Style  template.CSS
	Script template.JS
}

var pageFuncs = template.FuncMap{
	"shown": shown,
	"date":  date,
	"iso":   iso,
}

// shown is stored text as a page shows it: as it is when every character
// is valid UTF-8 and printable, else Go-quoted with escapes, so a control or format
// character (a right-to-left override, a terminal escape) from a store
// can neither disguise one name as another nor hide. html/template
// escapes the result for HTML.
func shown(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// date formats t for a page, in UTC to the minute; "never" for the zero
// time.
func date(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// iso formats t for a <time datetime> attribute.
func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pageNames are the templates in templates/, one per page.
var pageNames = []string{
	"signin", "signup", "error",
	"keys", "key_new", "key_secret", "key", "key_rotate", "key_revoke",
	"apps", "app_new", "app_secret", "app", "app_rotate", "app_delete",
	"monitoring", "monitor",
	"account",
}

func (p *Portal) parseTemplates() error {
	p.pages = make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(pageFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/chart.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("portal: template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	p.failures = make(map[failKind][]byte, len(failPages))
	for kind, fp := range failPages {
		var buf bytes.Buffer
		v := view{Title: fp.Title, Data: fp}
		if err := p.pages["error"].ExecuteTemplate(&buf, "layout", layoutData{view: v, Style: template.CSS(pageStyle)}); err != nil {
			return fmt.Errorf("portal: error page: %w", err)
		}
		p.failures[kind] = buf.Bytes()
	}
	return nil
}

// render writes the page name with status.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	v.SignUp = p.signUp != nil
	d := layoutData{view: v, Style: template.CSS(pageStyle)}
	if v.Copy {
		d.Script = template.JS(pageScript)
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		p.fail(w, r, failUnavailable, fmt.Errorf("portal: render %s: %w", name, err))
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// redirect answers 303 See Other to a path of the portal. Only constant
// paths and IDs read from the store are ever redirected to, never a
// secret and never a location from the request.
func redirect(w http.ResponseWriter, path string) {
	w.Header()["Location"] = []string{path}
	w.WriteHeader(http.StatusSeeOther)
}

// failKind is the closed set of failures a page can answer with.
type failKind int

const (
	failBadRequest failKind = iota
	failCrossOrigin
	failNotFound
	failConflict
	failThrottled
	failUnavailable
)

// failPage is the constant page of a failure kind.
type failPage struct {
	status      int
	Title, Text string
	// Back is where the page's only link leads.
	Back, BackText string
}

var failPages = map[failKind]failPage{
	failBadRequest: {http.StatusBadRequest, "Bad request",
		"The portal could not read this request. Go back, reload the page and try again.", "/portal/", "Go to the portal"},
	failCrossOrigin: {http.StatusForbidden, "Request refused",
		"This request came from another site and was refused. If you used a form of this portal, reload the page and try again.", "/portal/", "Go to the portal"},
	failNotFound: {http.StatusNotFound, "Not found",
		"There is nothing here. It may have been deleted.", "/portal/", "Go to the portal"},
	failConflict: {http.StatusConflict, "Not possible any more",
		"This cannot be done now: it was revoked, rotated, deleted or has expired. Reload its page to see where it stands.", "/portal/", "Go to the portal"},
	failThrottled: {http.StatusTooManyRequests, "Too many attempts",
		"There were too many failed attempts from your network. Wait a few minutes, then try again.", "/portal/signin", "Sign in"},
	failUnavailable: {http.StatusServiceUnavailable, "Temporarily unavailable",
		"The portal cannot do this right now. Nothing was changed that you were not shown. Try again in a moment.", "/portal/", "Go to the portal"},
}

// fail writes the constant page of kind and reports err, if any, to
// OnError. The page says nothing about the request or the error.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, kind failKind, err error) {
	p.failRetry(w, r, kind, err, 0)
}

// failRetry is fail with a Retry-After of at least retry (throttled) or
// of 5 seconds (unavailable).
func (p *Portal) failRetry(w http.ResponseWriter, r *http.Request, kind failKind, err error, retry time.Duration) {
	p.report(r, err)
	fp := failPages[kind]
	h := w.Header()
	switch kind {
	case failThrottled:
		h["Retry-After"] = []string{strconv.Itoa(max(1, int((retry+time.Second-1)/time.Second)))}
	case failUnavailable:
		h["Retry-After"] = []string{"5"}
	}
	body := p.failures[kind]
	h["Content-Type"] = []string{"text/html; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(fp.status)
	w.Write(body)
}
