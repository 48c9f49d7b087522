package auth

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/audexum/auth/internal/forwarded"
)

// ClientNetwork returns the network a request comes from, as counted by
// every limiter of this module: the client's IPv4 address as a /32, or
// its IPv6 /64 (one subscriber's allocation, so rotating addresses within
// it gains nothing).
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
// The result is the zero (invalid) Prefix when the address cannot be read
// (an unparsable RemoteAddr, a non-address X-Forwarded-For entry at the
// client's position, a chain over 32 trusted hops). Limiters count all
// such requests together, apart from the proxy's own network.
//
// Trust only networks where every host is a proxy you run: anyone inside
// a trusted network can claim any client address.
func ClientNetwork(r *http.Request, trustedProxies []netip.Prefix) netip.Prefix {
	return forwarded.Network(r, trustedProxies)
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
