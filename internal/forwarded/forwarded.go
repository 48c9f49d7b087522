// Package forwarded reads what a request's peer, and the trusted proxies in
// front of the server, say about where it comes from and what the client
// addressed: r.RemoteAddr, X-Forwarded-For, X-Forwarded-Proto and
// X-Forwarded-Host. It is the one place of the module that reads them;
// auth.ClientNetwork documents the rules users rely on.
package forwarded

import (
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For entries [Network]
// reads. A real chain of proxies is a handful of hops; a longer chain that
// is trusted all the way is a misconfiguration, not a client.
const maxForwardedHops = 32

// maxHostLength bounds a forwarded host: a DNS name is at most 253 bytes,
// and a port adds six.
const maxHostLength = 260

// Network returns the client's network by the rules of auth.ClientNetwork:
// an IPv4 /32 or an IPv6 /64, the zero Prefix when the address cannot be
// read.
func Network(r *http.Request, trustedProxies []netip.Prefix) netip.Prefix {
	addr, ok := parseHost(r.RemoteAddr)
	if !ok {
		return netip.Prefix{}
	}
	if inPrefixes(addr, trustedProxies) {
		if values := r.Header["X-Forwarded-For"]; len(values) > 0 {
			if addr, ok = forwardedClient(values, trustedProxies); !ok {
				return netip.Prefix{}
			}
		}
	}
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// Trusted reports whether the immediate peer of r is in proxies.
// An unparsable address is never trusted.
func Trusted(r *http.Request, proxies []netip.Prefix) bool {
	addr, ok := parseHost(r.RemoteAddr)
	return ok && inPrefixes(addr, proxies)
}

// forwardedClient walks X-Forwarded-For from the right and returns the
// first address that is not a trusted proxy, or the leftmost one if all
// are. ok is false when an entry on the way is not an address or the chain
// is too long.
func forwardedClient(values []string, proxies []netip.Prefix) (addr netip.Addr, ok bool) {
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			entry := v
			comma := strings.LastIndexByte(v, ',')
			if comma >= 0 {
				entry = v[comma+1:]
			}
			if hops++; hops > maxForwardedHops {
				return netip.Addr{}, false
			}
			a, aok := parseHost(strings.Trim(entry, " \t"))
			if !aok {
				return netip.Addr{}, false
			}
			if !inPrefixes(a, proxies) {
				return a, true
			}
			addr, ok = a, true
			if comma < 0 {
				break
			}
			v = v[:comma]
		}
	}
	return addr, ok
}

// parseHost reads an address with or without a port, with or without
// brackets around an IPv6 address, and returns it without zone and with
// an IPv4-mapped address unmapped. The form is chosen by shape first, so
// the common cases parse once and allocate nothing.
func parseHost(s string) (netip.Addr, bool) {
	var a netip.Addr
	var err error
	switch {
	case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
		if a, err = netip.ParseAddr(s[1 : len(s)-1]); err == nil && !a.Is6() {
			return netip.Addr{}, false
		}
	case len(s) > 0 && s[0] == '[', strings.Count(s, ":") == 1:
		var ap netip.AddrPort
		ap, err = netip.ParseAddrPort(s)
		a = ap.Addr()
	default:
		a, err = netip.ParseAddr(s)
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Origin returns the scheme ("https" or "http") and the host, with its
// port if the client wrote one, that the client addressed r to: what a
// DPoP proof's "htu" must name (RFC 9449 §4.3). ok is false when a
// trusted proxy sent a forwarded value that is not one.
//
// Without a trusted proxy in front, the scheme is https when the server
// terminated TLS (r.TLS is set) and the host is r.Host (the Host header,
// or :authority in HTTP/2). When the immediate peer (r.RemoteAddr) is in
// trustedProxies, as decided for auth.ClientNetwork and auth.RequireHTTPS,
// the proxy's X-Forwarded-Proto and X-Forwarded-Host say what the client
// used, each only when it is exactly one header with one value:
// "https" or "http" (any case), and a host with an optional port. A list
// ("https, http") means a hop we do not trust wrote part of it, and gives
// ok false, as does any other garbled value; a header the proxy did not
// send leaves the request's own value. From any other peer both headers
// are ignored, since anyone can send them.
//
// The host is returned as it arrived, not lowercased or stripped of a
// default port: compare it with those rules (RFC 3986 §6.2.2, §6.2.3).
func Origin(r *http.Request, trustedProxies []netip.Prefix) (scheme, host string, ok bool) {
	scheme, host = "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if len(trustedProxies) == 0 || !Trusted(r, trustedProxies) {
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
