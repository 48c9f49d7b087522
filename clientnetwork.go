package auth

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For entries [ClientNetwork]
// reads. A real chain of proxies is a handful of hops; a longer chain that
// is trusted all the way is a misconfiguration, not a client.
const maxForwardedHops = 32

// ClientNetwork returns the network a request comes from, as counted by
// every limiter of this module: the client's IPv4 address as a /32, or
// its IPv6 /64 (one subscriber's allocation, so rotating addresses within
// it gains nothing). It is the only place in the module that reads
// r.RemoteAddr or X-Forwarded-For.
//
// The client is the immediate peer (r.RemoteAddr), unless the peer is in
// trustedProxies: then X-Forwarded-For is read from the right, skipping
// addresses that are themselves trusted proxies, and the first other
// address is the client. Everything to the left of it was written by the
// client and is not believed. Several X-Forwarded-For headers are read as
// one list, in order. Entries may carry a port or brackets
// ("192.0.2.1:80", "[2001:db8::1]:443", "[2001:db8::1]"); zones are
// dropped and IPv4-mapped IPv6 addresses read as IPv4. If every entry is a
// trusted proxy, the leftmost is the client (a client inside a trusted
// network); if the header is absent, the proxy itself is.
//
// The result is the zero (invalid) Prefix when the address cannot be read:
// an unparsable RemoteAddr, or an X-Forwarded-For entry at the client's
// position that is not an address (only a misconfigured proxy writes
// that), or a chain longer than 32 trusted hops. Limiters count all such
// requests together, apart from the proxy's own network, so a garbled
// header cannot borrow the proxy's count nor spread over many counts.
//
// Trust only networks where every host is a proxy you run: anyone inside
// a trusted network can claim any client address.
func ClientNetwork(r *http.Request, trustedProxies []netip.Prefix) netip.Prefix {
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

// fromTrustedProxy reports whether the immediate peer of r is in proxies.
// An unparsable address is never trusted.
func fromTrustedProxy(r *http.Request, proxies []netip.Prefix) bool {
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

// trustedPrefixes validates and masks a configured list of proxy
// networks; what names the setting in the error.
func trustedPrefixes(what string, ps []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ps))
	for i, p := range ps {
		if !p.IsValid() {
			return nil, fmt.Errorf("%w: %s[%d] is not a valid prefix", ErrInvalidConfig, what, i)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// appendNetwork appends the limiter key part for a network from
// [ClientNetwork]: the IPv4 address, the IPv6 /64 in prefix form, or
// "invalid".
func appendNetwork(b []byte, p netip.Prefix) []byte {
	if !p.IsValid() {
		return append(b, "invalid"...)
	}
	if p.Bits() == 32 && p.Addr().Is4() {
		return p.Addr().AppendTo(b)
	}
	return p.AppendTo(b)
}
