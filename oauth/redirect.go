package oauth

import (
	"fmt"
	"net/url"
	"strings"
)

// maxRedirectURILength bounds a redirect URI, registered or requested.
const maxRedirectURILength = 2000

// ValidateRedirectURI reports whether s may be registered as a client's
// redirect URI (absolute https, or http on a loopback address, without
// fragment or userinfo), as [ClientManager.Register] checks each. If not,
// the error wraps [ErrInvalidRedirectURI] and its text, meant for the
// person registering the client, names the rule broken (quoting s when it
// is printable ASCII). Rules on the whole registration (none for a server
// client, one or more for authorization_code, at most 20) are not checked.
func ValidateRedirectURI(s string) error { return validateRedirectURI(s) }

// validateRedirectURI checks a redirect URI at registration and says
// which rule it breaks. RFC 6749 §3.1.2: "The redirection endpoint URI
// MUST be an absolute URI … MUST NOT include a fragment component." RFC
// 9700 §2.6 and RFC 8252 §7.3, §8.3: it must use https, except http on a
// loopback address for native apps. Userinfo is refused:
// "https://good@evil" names the host evil. A wildcard in the host is
// refused: redirect URIs match exactly (RFC 9700 §2.1), so "*" would only
// ever match itself and suggests a pattern that is not there.
func validateRedirectURI(s string) error {
	bad := func(rule string) error { return fmt.Errorf("%w %q: %s", ErrInvalidRedirectURI, s, rule) }
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrInvalidRedirectURI)
	case len(s) > maxRedirectURILength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidRedirectURI, maxRedirectURILength)
	case !printableASCII(s):
		return fmt.Errorf("%w: contains a space, a control character or non-ASCII (percent-encode it)", ErrInvalidRedirectURI)
	case strings.Contains(s, "#"):
		return bad("has a fragment (RFC 6749 §3.1.2)")
	case strings.Contains(s, "\\"):
		return bad("contains a backslash")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "" || (u.Host == "" && u.User == nil):
		return bad("is not an absolute URI with a host (relative URIs are not allowed)")
	case u.User != nil:
		return bad("has userinfo (user@host: the real host is the one after @)")
	case strings.Contains(u.Host, "*"):
		return bad("has a wildcard in the host; redirect URIs match exactly, register each one")
	case u.Host == "" || u.Hostname() == "":
		return bad("has no host")
	case !strings.HasPrefix(s, u.Scheme+"://"):
		// Only lower-case schemes: the URI is compared byte for byte, so
		// "HTTPS://" would be a distinct, confusing registration.
		return bad("scheme must be lower-case https (or http)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return bad("uses http on a host that is not loopback; use https (http only on 127.0.0.1, [::1] or localhost)")
		}
	default:
		return bad("scheme " + u.Scheme + " is not allowed; use https (http only on loopback)")
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host is a loopback name or address.
// RFC 8252 §8.3 prefers the IP literals; "localhost" is accepted for
// registration but compared exactly.
func isLoopbackHost(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// matchRedirectURI returns the registered redirect URI that got matches,
// or false. Matching is exact string comparison (RFC 9700 §2.1: "exact
// string matching"; §4.1.3 for web apps, port included), with one
// exception for native apps (native true: mobile clients) from RFC 8252
// §7.3: for an http redirect URI on a loopback IP literal, "The
// authorization server MUST allow any port to be specified at the time of
// the request", since a native app listens on an ephemeral port.
func matchRedirectURI(registered []string, got string, native bool) (string, bool) {
	if got == "" || len(got) > maxRedirectURILength {
		return "", false
	}
	for _, r := range registered {
		if r == got {
			return r, true
		}
	}
	if !native {
		return "", false
	}
	for _, r := range registered {
		if loopbackPortVariant(r, got) {
			return r, true
		}
	}
	return "", false
}

// loopbackPortVariant reports whether got equals the registered reg except
// for the port, when reg is http on 127.0.0.1 or [::1].
func loopbackPortVariant(reg, got string) bool {
	const scheme = "http://"
	if !strings.HasPrefix(reg, scheme) || !strings.HasPrefix(got, scheme) {
		return false
	}
	rHost, rPort, rRest := splitAuthority(reg[len(scheme):])
	gHost, gPort, gRest := splitAuthority(got[len(scheme):])
	if rHost != "127.0.0.1" && rHost != "[::1]" {
		return false
	}
	return rHost == gHost && rRest == gRest && validPort(rPort) && validPort(gPort) && printableASCII(got) && !strings.ContainsAny(got, "#\\")
}

// splitAuthority splits "host[:port]rest" where rest starts at the first
// "/" or "?".
func splitAuthority(s string) (host, port, rest string) {
	end := strings.IndexAny(s, "/?")
	if end < 0 {
		end = len(s)
	}
	hostport, rest := s[:end], s[end:]
	host = hostport
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port = hostport[:i], hostport[i+1:]
	}
	return host, port, rest
}

// validPort reports whether p is empty or 1 to 5 digits.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// redirectWith returns base with the given parameters added to its query.
// RFC 6749 §3.1.2: the endpoint URI "MAY include an
// application/x-www-form-urlencoded formatted … query component, which
// MUST be retained when adding additional query parameters". The
// registered URI's own query is kept byte for byte and the new parameters
// are appended.
func redirectWith(base string, params [][2]string) string {
	var b strings.Builder
	b.Grow(len(base) + 128)
	b.WriteString(base)
	sep := byte('?')
	if strings.IndexByte(base, '?') >= 0 {
		sep = '&'
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = 0
		}
	}
	for _, p := range params {
		if sep != 0 {
			b.WriteByte(sep)
		}
		sep = '&'
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	return b.String()
}
