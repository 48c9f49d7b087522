// Package portal provides the Developer Portal: server-rendered pages
// where people sign in and manage their own API keys and OAuth 2.0
// applications, and watch how they are used. It is one [http.Handler],
// [Portal], mounted at [MountPath] ("/portal/"), with four sections in its
// navigation: API Keys, Applications, Monitoring and Account.
//
// Every page works without JavaScript; the one script, allowed by its
// hash, only adds copy buttons next to secrets.
//
// # Quick start
//
// Give [New] the server's stores, its [auth.ScopeCatalog] and the audit
// hook, and mount the portal:
//
//	p, err := portal.New(portal.Config{
//		Accounts:     accounts,     // Accounts: sign-in, password change
//		Sessions:     sessions,     // Sessions
//		Keys:         portal.ManagerKeys{Manager: manager},
//		Applications: portal.ClientManagerApps{Manager: registry, Clients: clientStore},
//		Usage:        usage,        // Usage: per-credential counts
//		ScopeCatalog: catalog,      // the catalog the Manager and ClientManager get
//		WithActor:    sqlstore.WithActor,
//	})
//	if err != nil {
//		return err
//	}
//	mux.Handle(portal.MountPath, p)
//
// # Stores
//
// The portal reads and changes its data only through the small interfaces
// [Accounts], [AccountCreator] (sign-up, off unless [Config.SignUp] is
// set), [Sessions], [Keys], [Applications] and [Usage], with types of its
// own; it imports no database package. [ManagerKeys] and [ClientManagerApps] fit this
// module's apikey.Manager and oauth.ClientManager, whatever their store; a
// server writes the others over its own tables; package portaltest has
// in-memory ones for tests and examples. Stores report this package's
// sentinels; any other error is an outage, answered 503 and passed to
// [Config.OnError]. Password hashing belongs to [Accounts]. Every store
// call made for a signed-in person gets a context from [Config.WithActor],
// for the store's audit trail.
//
// # Security model
//
// The portal serves HTTPS only (it refuses plain HTTP as
// [auth.RequireHTTPS] does; trust a TLS-terminating proxy with
// [Config.TrustedProxies]). Every response, error pages and redirects
// included, carries:
//
//	Content-Security-Policy: default-src 'none'; style-src 'sha256-…'; script-src 'sha256-…';
//	                         form-action 'self'; frame-ancestors 'none'; base-uri 'none'
//	Cache-Control: no-store
//	Referrer-Policy: no-referrer
//	X-Frame-Options: DENY
//	X-Content-Type-Options: nosniff
//
// so a page loads nothing from anywhere, runs no script but its own, posts
// forms only to itself, cannot be framed, and is kept by no cache.
//
// Sessions. Signing in creates a new random 256-bit session ID (an ID the
// browser had before is never kept, so it cannot be fixed by an attacker)
// in the cookie [CookieName]: Secure, HttpOnly, SameSite=Lax. Stores keep
// only its hash ([SessionHash]). A session ends after [Config.IdleTimeout]
// without a request and [Config.AbsoluteTimeout] after sign-in, on
// sign-out, on "sign out everywhere", when the password is changed (every
// other session), and when its account is deleted.
//
// Cross-site requests. An unsafe request from another origin is refused
// with 403 before its session or form is read ([http.CrossOriginProtection],
// which reads Sec-Fetch-Site and Origin); sign-in included, so nobody can
// sign a browser into an account of theirs. The SameSite cookie is a
// second line.
//
// Sign-in. Every attempt is counted with [Config.SignInAttempts] before
// the password is checked, per network and username ([auth.PasswordAttempts]
// by default: a network that fails 5 times for a username gets a 429 page
// for it for 15 minutes, whether it exists or not). A wrong password and
// an unknown username get the same page.
//
// Isolation. Every page that takes an ID reads the record and compares its
// owner with the signed-in account before it shows or changes anything;
// another account's ID gets the same 404 page, after the same store call,
// as an ID that does not exist. Lists are filtered by owner by the store
// and again by the portal.
//
// Secrets. A new API key, rotated key or client secret is shown once, in
// the response to the form that made it: never in a URL, never after a
// redirect, never stored by the portal, never shown again.
//
// Text from stores (names, descriptions, failure reasons) is escaped by
// html/template, and shown Go-quoted when it holds a control or format
// character or invalid UTF-8, so it can neither add markup nor disguise
// one name as another.
//
// # Monitoring
//
// For each key and application, the Monitoring pages draw requests,
// failed attempts by reason and throttled requests over the last 24 hours
// (hourly) and 30 days (daily, UTC) as inline SVG bar charts, each with a
// title, a description and a table of every value, and list the latest
// failures (time, reason, network; never a credential). A credential is
// flagged for unusual activity when, in the hour in progress or the hour
// before, it had at least 10 failed attempts and more than 3 times the
// median of its 24 hourly failure counts.
package portal
