package main

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"sort"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

//go:embed templates/consent.html
var templateFS embed.FS

var consentPage = template.Must(template.ParseFS(templateFS, "templates/consent.html"))

// describeScopes says what each scope of s lets a client do, in the
// catalog's words, for the consent page.
func describeScopes(s auth.Scopes) []string {
	var out []string
	for tok := range s.All() {
		if d, ok := scopeCatalog.Describe(tok); ok {
			out = append(out, d)
		} else {
			// Not reached: the authorization server refuses requests for
			// scopes outside the catalog. Should it be, the user still
			// sees what is asked for.
			out = append(out, `use the permission "`+tok+`"`)
		}
	}
	return out
}

// The fields of the login form that are ours, not the authorization
// request's.
var loginFields = map[string]bool{"username": true, "password": true, "decision": true}

type hidden struct{ Name, Value string }

type consentData struct {
	ClientName   string
	Scopes       []string
	Hidden       []hidden
	Username     string
	Error        string
	RedirectHost string
}

// consentHandler is the authorization endpoint with the login and consent
// page. GET shows the page for a valid request; the form POSTs the
// request's parameters back with the user's credentials and decision.
// Cross-origin POSTs are refused (login CSRF), and every page is sent with
// the no-framing, no-referrer headers of the oauth package.
func (a *app) consentHandler() http.Handler {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oauth.SetPageHeaders(w.Header())
		var form url.Values
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			// Read the body once: the oauth package parses the request's
			// parameters from it, the login fields are read here.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			if form, err = url.ParseQuery(string(body)); err != nil {
				http.Error(w, "malformed form", http.StatusBadRequest)
				return
			}
			// The oauth parser refuses parameters it does not know to
			// carry twice; pass it the request's parameters alone.
			req := url.Values{}
			for k, v := range form {
				if !loginFields[k] {
					req[k] = v
				}
			}
			r.Body = io.NopCloser(bytes.NewReader([]byte(req.Encode())))
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		req, err := a.oauth.ParseAuthorizeRequest(r)
		if err != nil {
			a.oauth.WriteAuthorizeError(w, r, err)
			return
		}
		if r.Method == http.MethodGet {
			a.renderConsent(w, r, req, r.URL.Query(), "", "")
			return
		}
		switch form.Get("decision") {
		case "deny":
			a.oauth.Deny(w, r, req)
			return
		case "allow":
		default:
			a.renderConsent(w, r, req, form, form.Get("username"), "Choose Allow or Deny.")
			return
		}
		username := form.Get("username")
		u, ok := a.signIn(w, r, req, form, username)
		if !ok {
			return
		}
		if err := a.oauth.Approve(w, r, req, u.ID, req.Scopes); err != nil {
			a.logger.Error("approve", "err", err)
		}
	})
	return http.NewCrossOriginProtection().Handler(h)
}

func (a *app) renderConsent(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, params url.Values, username, msg string) {
	a.renderConsentStatus(w, r, req, params, username, msg, http.StatusOK)
}

func (a *app) renderConsentStatus(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, params url.Values, username, msg string, status int) {
	var hs []hidden
	for k, v := range params {
		if loginFields[k] || len(v) != 1 {
			continue
		}
		hs = append(hs, hidden{Name: k, Value: v[0]})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	host := req.RedirectURI
	if u, err := url.Parse(req.RedirectURI); err == nil {
		host = u.Host
	}
	var buf bytes.Buffer
	err := consentPage.Execute(&buf, consentData{
		ClientName: req.Client.Name, Scopes: describeScopes(req.Scopes), Hidden: hs,
		Username: username, Error: msg, RedirectHost: host,
	})
	if err != nil {
		a.logger.Error("render consent page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// signIn checks the form's username and password, counting the attempt
// with the server's password attempt counter before any password hash is
// computed; on failure it renders the page and returns false.
func (a *app) signIn(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, form url.Values, username string) (user, bool) {
	ctx := r.Context()
	identity := username
	if !validUsername(username) {
		// Cannot exist: counted against the network alone, never as a
		// key of its own, and refused without hashing anything.
		identity = ""
	}
	at, err := a.signIns.Reserve(ctx, auth.ClientNetwork(r, nil), identity)
	if err != nil {
		a.metrics.signIns.WithLabelValues("throttled").Inc()
		a.logger.Warn("sign-in throttled", "remote_addr", r.RemoteAddr, "err", err)
		a.renderConsentStatus(w, r, req, form, "", "Too many failed sign-ins. Try again in a few minutes.", http.StatusTooManyRequests)
		return user{}, false
	}
	if identity == "" {
		at.Fail(ctx)
		a.metrics.signIns.WithLabelValues("invalid_username").Inc()
		a.renderConsent(w, r, req, form, "", "Wrong username or password.")
		return user{}, false
	}
	u, err := a.sys.users.authenticate(ctx, username, form.Get("password"))
	switch {
	case err == nil:
		at.Release()
		a.metrics.signIns.WithLabelValues("ok").Inc()
		return u, true
	case errors.Is(err, errBadCredentials):
		at.Fail(ctx)
		a.metrics.signIns.WithLabelValues("wrong").Inc()
		a.renderConsent(w, r, req, form, username, "Wrong username or password.")
	default:
		at.Release()
		a.metrics.signIns.WithLabelValues("unavailable").Inc()
		a.logger.Error("consent login", "err", err)
		a.renderConsent(w, r, req, form, username, "Signing in is temporarily unavailable. Try again later.")
	}
	return user{}, false
}
