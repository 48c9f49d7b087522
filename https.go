package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/audexum/auth/internal/forwarded"
)

// DefaultHSTS is the Strict-Transport-Security value [RequireHTTPS] sends
// when HTTPSConfig.HSTS is empty: two years, subdomains included.
const DefaultHSTS = "max-age=63072000; includeSubDomains"

// HTTPSConfig configures [RequireHTTPS]. The zero value trusts no proxy and
// sends [DefaultHSTS].
type HTTPSConfig struct {
	// TrustedProxies lists the networks of reverse proxies that terminate
	// TLS in front of this server. A request whose immediate peer
	// (r.RemoteAddr) is in one of them counts as HTTPS when it carries
	// exactly one X-Forwarded-Proto header with the value "https". From any
	// other peer the header is ignored, since anyone can send it. Leave it
	// empty when the server terminates TLS itself.
	TrustedProxies []netip.Prefix

	// HSTS is the Strict-Transport-Security value sent on HTTPS responses.
	// If empty, [DefaultHSTS].
	HSTS string

	// OmitHSTS sends no Strict-Transport-Security header, for deployments
	// where a proxy in front already sets it.
	OmitHSTS bool

	// OnFailure, if set, is called for each plain-HTTP request refused,
	// with [ErrHTTPSRequired].
	OnFailure func(Event)
}

// RequireHTTPS returns middleware that refuses requests not made over
// HTTPS, because credentials sent over plain HTTP are exposed in transit.
//
// A request is HTTPS when the server terminated TLS for it (r.TLS is set),
// or when a trusted proxy says so (see [HTTPSConfig.TrustedProxies]).
// Anything else gets 403 with a JSON body and Connection: close, and never
// a redirect: a redirect would teach clients that sending credentials over
// HTTP works, and the credential has already been sent by then. HTTPS
// responses carry Strict-Transport-Security.
//
// Put it first in the chain, before the [Authenticator], so a plain-HTTP
// request is refused before its credential is looked at.
//
// RequireHTTPS has no error to return: it panics, with an error wrapping
// [ErrInvalidConfig], if a trusted proxy prefix is invalid or the HSTS
// value cannot be sent as a header, a programming error in a literal caught
// when the handler chain is built. The middleware panics if next is nil.
func RequireHTTPS(cfg HTTPSConfig) func(http.Handler) http.Handler {
	proxies, err := trustedPrefixes("HTTPSConfig.TrustedProxies", cfg.TrustedProxies)
	if err != nil {
		panic(err)
	}
	hsts := cfg.HSTS
	if hsts == "" {
		hsts = DefaultHSTS
	}
	if !validRealm(hsts) { // printable ASCII, no quotes: also fits HSTS
		panic(fmt.Errorf("%w: HTTPSConfig.HSTS is not a valid header value", ErrInvalidConfig))
	}
	var hstsValue []string
	if !cfg.OmitHSTS {
		hstsValue = one(hsts)
	}
	resp := newResponder(DefaultRealm, 0, nil, cfg.OnFailure)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("auth: RequireHTTPS: nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isHTTPS(r, proxies) {
				resp.fail(w, r, failHTTPSRequired, ErrHTTPSRequired, nil)
				return
			}
			if hstsValue != nil {
				w.Header()["Strict-Transport-Security"] = hstsValue
			}
			next.ServeHTTP(w, r)
		})
	}
}

func isHTTPS(r *http.Request, proxies []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	if len(proxies) == 0 {
		return false
	}
	// Exactly one value, exactly "https": a list such as "http, https"
	// means a hop we do not trust spoke in between.
	v := r.Header["X-Forwarded-Proto"]
	if len(v) != 1 || !strings.EqualFold(strings.TrimSpace(v[0]), "https") {
		return false
	}
	return forwarded.Trusted(r, proxies)
}
