package auth

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxHostLength bounds a forwarded host: a DNS name is at most 253 bytes,
// and a port adds six.
const maxHostLength = 260

// RequestOrigin returns the scheme ("https" or "http") and the host, with
// its port if the client wrote one, that the client addressed r to: what a
// DPoP proof's "htu" must name (RFC 9449 §4.3). ok is false when a
// trusted proxy sent a forwarded value that is not one.
//
// Without a trusted proxy in front, the scheme is https when the server
// terminated TLS (r.TLS is set) and the host is r.Host (the Host header,
// or :authority in HTTP/2). When the immediate peer (r.RemoteAddr) is in
// trustedProxies, as decided for [ClientNetwork] and [RequireHTTPS], the
// proxy's X-Forwarded-Proto and X-Forwarded-Host say what the client
// used, each only when it is exactly one header with one value:
// "https" or "http" (any case), and a host with an optional port. A list
// ("https, http") means a hop we do not trust wrote part of it, and gives
// ok false, as does any other garbled value; a header the proxy did not
// send leaves the request's own value. From any other peer both headers
// are ignored, since anyone can send them.
//
// The host is returned as it arrived, not lowercased or stripped of a
// default port: compare it with those rules (RFC 3986 §6.2.2, §6.2.3).
func RequestOrigin(r *http.Request, trustedProxies []netip.Prefix) (scheme, host string, ok bool) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(trustedProxies) == 0 || !fromTrustedProxy(r, trustedProxies) {
		return scheme, host, host != ""
	}
	if v, found := r.Header["X-Forwarded-Proto"]; found {
		if len(v) != 1 {
			return "", "", false
		}
		switch p := strings.TrimSpace(v[0]); {
		case strings.EqualFold(p, "https"):
			scheme = "https"
		case strings.EqualFold(p, "http"):
			scheme = "http"
		default:
			return "", "", false
		}
	}
	if v, found := r.Header["X-Forwarded-Host"]; found {
		if len(v) != 1 {
			return "", "", false
		}
		host = strings.TrimSpace(v[0])
		if !validHost(host) {
			return "", "", false
		}
	}
	return scheme, host, host != ""
}

// validHost reports whether h is a plausible host[:port]: a DNS name, an
// IPv4 address or a bracketed IPv6 address, with an optional port. It
// refuses commas (a list of hosts), spaces, userinfo and anything else a
// proxy would not write.
func validHost(h string) bool {
	if h == "" || len(h) > maxHostLength {
		return false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}
