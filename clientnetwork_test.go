package auth

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/audexum/auth/internal/forwarded"
)

var testProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

// TestClientNetwork is the hostile-input table of the client-network rule
// every limiter of the module counts with.
func TestClientNetwork(t *testing.T) {
	tests := []struct {
		name, remote string
		xff          []string
		want         string // "" for the invalid bucket
	}{
		{"ipv4 peer", "192.0.2.1:443", nil, "192.0.2.1/32"},
		{"bare address peer", "192.0.2.1", nil, "192.0.2.1/32"},
		// One /64 is one subscriber: rotating addresses in it gains nothing.
		{"ipv6 peer grouped", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"ipv6 same /64", "[2001:db8:1:2:ffff::1]:443", nil, "2001:db8:1:2::/64"},
		{"ipv4-mapped peer", "[::ffff:192.0.2.1]:443", nil, "192.0.2.1/32"},
		// A zone names an interface, not a network.
		{"zoned peer", "[fe80::1%eth0]:443", nil, "fe80::/64"},
		{"garbage peer", "???", nil, ""},
		{"empty peer", "", nil, ""},
		{"unix socket peer", "@", nil, ""},
		// X-Forwarded-For only from a trusted proxy: anyone can send it.
		{"xff from untrusted peer", "192.0.2.9:443", []string{"203.0.113.5"}, "192.0.2.9/32"},
		{"xff from trusted peer", "10.0.0.1:443", []string{"203.0.113.5"}, "203.0.113.5/32"},
		{"xff trusted ipv6 proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:7:7::9"}, "2001:db8:7:7::/64"},
		// The client can prepend anything; the rightmost untrusted wins.
		{"xff spoofed left", "10.0.0.1:443", []string{"1.2.3.4, 203.0.113.5"}, "203.0.113.5/32"},
		{"xff garbage left of the client", "10.0.0.1:443", []string{"nonsense, 203.0.113.5"}, "203.0.113.5/32"},
		{"xff proxy chain", "10.0.0.1:443", []string{"203.0.113.5, 10.0.0.2, 10.9.9.9"}, "203.0.113.5/32"},
		{"xff two headers", "10.0.0.1:443", []string{"1.2.3.4", "203.0.113.5"}, "203.0.113.5/32"},
		{"xff two headers, proxy in second", "10.0.0.1:443", []string{"203.0.113.5", "10.0.0.2"}, "203.0.113.5/32"},
		// Ports and brackets are parsed, not collapsed onto the proxy.
		{"xff ipv4 with port", "10.0.0.1:443", []string{"203.0.113.5:8080"}, "203.0.113.5/32"},
		{"xff bracketed ipv6 with port", "10.0.0.1:443", []string{"[2001:db8:5::1]:443"}, "2001:db8:5::/64"},
		{"xff bracketed ipv6", "10.0.0.1:443", []string{"[2001:db8:5::1]"}, "2001:db8:5::/64"},
		{"xff zone, any text", "10.0.0.1:443", []string{"fe80::1%25eth0"}, "fe80::/64"},
		{"xff zone dropped", "10.0.0.1:443", []string{"fe80::7%eth0"}, "fe80::/64"},
		{"xff ipv4-mapped", "10.0.0.1:443", []string{"::ffff:203.0.113.5"}, "203.0.113.5/32"},
		{"xff mapped trusted proxy skipped", "10.0.0.1:443", []string{"203.0.113.5, ::ffff:10.0.0.3"}, "203.0.113.5/32"},
		{"xff spaces and tabs", "10.0.0.1:443", []string{" 203.0.113.5 ,\t10.0.0.2 "}, "203.0.113.5/32"},
		// Garbage where the client should be: its own bucket, neither the
		// proxy's count nor one per garbage string.
		{"xff garbage at client", "10.0.0.1:443", []string{"nonsense"}, ""},
		{"xff empty entry at client", "10.0.0.1:443", []string{"203.0.113.5,,10.0.0.2"}, ""},
		{"xff bracketed ipv4", "10.0.0.1:443", []string{"[203.0.113.5]"}, ""},
		{"xff host name", "10.0.0.1:443", []string{"client.example"}, ""},
		{"xff empty header", "10.0.0.1:443", []string{""}, ""},
		// Every hop trusted: a client inside a trusted network.
		{"xff all trusted", "10.0.0.1:443", []string{"10.1.1.1, 10.0.0.2"}, "10.1.1.1/32"},
		{"no xff from proxy", "10.0.0.1:443", nil, "10.0.0.1/32"},
		{"xff too many trusted hops", "10.0.0.1:443", []string{strings.Repeat("10.0.0.9, ", 40) + "10.0.0.2"}, ""},
		{"many hops, client near the right", "10.0.0.1:443", []string{strings.Repeat("1.1.1.1, ", 1000) + "203.0.113.5, 10.0.0.2"}, "203.0.113.5/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got := ClientNetwork(r, testProxies)
			if !got.IsValid() {
				if tt.want != "" {
					t.Errorf("ClientNetwork = invalid, want %s", tt.want)
				}
				return
			}
			if got.String() != tt.want {
				t.Errorf("ClientNetwork = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzClientNetwork feeds hostile RemoteAddr and X-Forwarded-For values to
// the client-network rule: it never panics, always names an IPv4 /32, an
// IPv6 /64 or the invalid bucket, never the trusted proxy when an untrusted
// address is in the header, and ignores the header from an untrusted peer.
func FuzzClientNetwork(f *testing.F) {
	for _, s := range [][2]string{
		{"10.0.0.1:1", "203.0.113.5"}, {"10.0.0.1:1", "1.2.3.4, 10.0.0.2"}, {"[2001:db8:ffff::1]:1", "2001:db8::1"},
		{"192.0.2.1:1", "1.1.1.1"}, {"garbage", ""}, {"10.0.0.1:1", ",,,"}, {"[fe80::1%eth0]:1", "fe80::2%x"},
		{"10.0.0.1:1", "[2001:db8::1]:443"}, {"10.0.0.1:1", "1.2.3.4:80, 10.0.0.3"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := ClientNetwork(r, testProxies)
		if !got.IsValid() {
			return
		}
		switch {
		case got.Addr().Is4() && got.Bits() == 32:
		case got.Addr().Is6() && got.Bits() == 64 && got == got.Masked():
		default:
			t.Fatalf("ClientNetwork(%q, %q) = %s: not an IPv4 /32 or IPv6 /64", remote, xff, got)
		}
		if !forwarded.Trusted(r, testProxies) {
			delete(r.Header, "X-Forwarded-For")
			if again := ClientNetwork(r, testProxies); again != got {
				t.Fatalf("untrusted peer %q: X-Forwarded-For %q changed the network from %s to %s", remote, xff, again, got)
			}
		}
	})
}
