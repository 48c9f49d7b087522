package forwarded

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

var testProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

// TestOrigin is the hostile-input table of the origin a DPoP
// proof's htu is compared with: forwarded values only from trusted
// proxies, and only when unambiguous.
func TestOrigin(t *testing.T) {
	tests := []struct {
		name, remote, host string
		tls                bool
		proto, fhost       []string
		wantScheme, want   string
		wantOK             bool
	}{
		{"direct TLS", "192.0.2.1:5000", "api.example", true, nil, nil, "https", "api.example", true},
		{"direct plain", "192.0.2.1:5000", "api.example:8080", false, nil, nil, "http", "api.example:8080", true},
		{"no host", "192.0.2.1:5000", "", true, nil, nil, "https", "", false},
		// Anyone can send the headers: from an untrusted peer they are
		// ignored, not believed and not refused.
		{"untrusted peer forwards", "192.0.2.1:5000", "api.example", false, []string{"https"}, []string{"evil.example"}, "http", "api.example", true},
		{"trusted proxy forwards", "10.0.0.1:5000", "internal:8080", false, []string{"https"}, []string{"api.example"}, "https", "api.example", true},
		{"trusted proxy, proto only", "10.0.0.1:5000", "api.example", false, []string{"HTTPS"}, nil, "https", "api.example", true},
		{"trusted proxy, host only", "10.0.0.1:5000", "internal", true, nil, []string{"api.example:8443"}, "https", "api.example:8443", true},
		{"trusted proxy says http", "10.0.0.1:5000", "api.example", true, []string{"http"}, nil, "http", "api.example", true},
		// A list means an untrusted hop wrote part of it.
		{"proto list", "10.0.0.1:5000", "api.example", false, []string{"http, https"}, nil, "", "", false},
		{"two proto headers", "10.0.0.1:5000", "api.example", false, []string{"https", "https"}, nil, "", "", false},
		{"host list", "10.0.0.1:5000", "api.example", false, nil, []string{"evil.example, api.example"}, "", "", false},
		{"two host headers", "10.0.0.1:5000", "api.example", false, nil, []string{"a.example", "b.example"}, "", "", false},
		{"proto garbage", "10.0.0.1:5000", "api.example", false, []string{"ftp"}, nil, "", "", false},
		{"host with userinfo", "10.0.0.1:5000", "api.example", false, nil, []string{"user@api.example"}, "", "", false},
		{"host with a path", "10.0.0.1:5000", "api.example", false, nil, []string{"api.example/x"}, "", "", false},
		{"empty host", "10.0.0.1:5000", "api.example", false, nil, []string{""}, "", "", false},
		{"ipv6 host", "10.0.0.1:5000", "internal", false, []string{"https"}, []string{"[2001:db8::1]:443"}, "https", "[2001:db8::1]:443", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/x", nil)
			r.RemoteAddr, r.Host, r.TLS = tc.remote, tc.host, nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != nil {
				r.Header["X-Forwarded-Proto"] = tc.proto
			}
			if tc.fhost != nil {
				r.Header["X-Forwarded-Host"] = tc.fhost
			}
			scheme, host, ok := Origin(r, testProxies)
			if ok != tc.wantOK || (ok && (scheme != tc.wantScheme || host != tc.want)) {
				t.Errorf("got %q %q %v, want %q %q %v", scheme, host, ok, tc.wantScheme, tc.want, tc.wantOK)
			}
		})
	}
}
