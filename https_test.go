package auth

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestRequireHTTPS(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	h := RequireHTTPS(HTTPSConfig{TrustedProxies: proxies})(okHandler())
	tests := []struct {
		name   string
		remote string
		tls    bool
		xfp    []string
		want   int
	}{
		{name: "tls", remote: "192.0.2.1:1234", tls: true, want: 200},
		{name: "plain", remote: "192.0.2.1:1234", want: 403},
		// Anyone can send X-Forwarded-Proto; only trusted proxies count.
		{name: "spoofed xfp", remote: "192.0.2.1:1234", xfp: []string{"https"}, want: 403},
		{name: "trusted xfp", remote: "10.1.2.3:5555", xfp: []string{"https"}, want: 200},
		{name: "trusted xfp uppercase", remote: "10.1.2.3:5555", xfp: []string{"HTTPS"}, want: 200},
		{name: "trusted ipv6 xfp", remote: "[fd00::1]:443", xfp: []string{"https"}, want: 200},
		// An IPv4-mapped IPv6 peer is the IPv4 address it maps.
		{name: "trusted mapped", remote: "[::ffff:10.0.0.1]:443", xfp: []string{"https"}, want: 200},
		{name: "trusted says http", remote: "10.1.2.3:5555", xfp: []string{"http"}, want: 403},
		{name: "trusted no xfp", remote: "10.1.2.3:5555", want: 403},
		// Two values or a list: some hop we cannot vouch for spoke.
		{name: "two xfp", remote: "10.1.2.3:5555", xfp: []string{"https", "https"}, want: 403},
		{name: "xfp list", remote: "10.1.2.3:5555", xfp: []string{"http, https"}, want: 403},
		{name: "garbage remote", remote: "not-an-address", xfp: []string{"https"}, want: 403},
		{name: "bare trusted address", remote: "10.9.9.9", xfp: []string{"https"}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = nil
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r.RemoteAddr = tt.remote
			for _, v := range tt.xfp {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d", rec.Code, tt.want)
			}
			if tt.want == 403 {
				if got := rec.Body.String(); got != `{"error":"https_required","message":"HTTPS is required"}` {
					t.Errorf("body = %q", got)
				}
				if got := rec.Header().Get("Connection"); got != "close" {
					t.Errorf("Connection = %q, want close", got)
				}
				if got := rec.Header().Get("Location"); got != "" {
					t.Errorf("Location = %q, want no redirect", got)
				}
				if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
					t.Errorf("HSTS on plain HTTP = %q, want none", got)
				}
			} else if got := rec.Header().Get("Strict-Transport-Security"); got != DefaultHSTS {
				t.Errorf("HSTS = %q, want %q", got, DefaultHSTS)
			}
		})
	}
}

func TestRequireHTTPSConfig(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	RequireHTTPS(HTTPSConfig{HSTS: "max-age=60"})(okHandler()).ServeHTTP(rec, r)
	if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=60" {
		t.Errorf("HSTS = %q, want max-age=60", got)
	}
	rec = httptest.NewRecorder()
	RequireHTTPS(HTTPSConfig{OmitHSTS: true})(okHandler()).ServeHTTP(rec, r)
	if got := rec.Header().Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("HSTS = %q, want none", got)
	}
	var got error
	h := RequireHTTPS(HTTPSConfig{OnFailure: func(e Event) { got = e.Err }})(okHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !errors.Is(got, ErrHTTPSRequired) {
		t.Errorf("OnFailure reason = %v, want ErrHTTPSRequired", got)
	}
	// A configuration RequireHTTPS cannot use is a programming error: it
	// panics, with what NewThrottle would return for the same mistake.
	for _, tt := range []struct {
		name string
		cfg  HTTPSConfig
		msg  string
	}{
		{"invalid prefix", HTTPSConfig{TrustedProxies: []netip.Prefix{{}}}, "auth: invalid config: HTTPSConfig.TrustedProxies[0] is not a valid prefix"},
		{"bad hsts", HTTPSConfig{HSTS: "max-age=1\r\nX: y"}, "auth: invalid config: HTTPSConfig.HSTS is not a valid header value"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("panic value %v, want an error matching ErrInvalidConfig", err)
				}
				if err.Error() != tt.msg {
					t.Errorf("panic message %q, want %q", err, tt.msg)
				}
			}()
			RequireHTTPS(tt.cfg)
		})
	}
	if _, err := NewThrottle(ThrottleConfig{TrustedProxies: []netip.Prefix{{}}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewThrottle with an invalid prefix: %v, want ErrInvalidConfig", err)
	}
}

// TestRequireHTTPSServer uses real servers: TLS passes, plain HTTP and a
// spoofed X-Forwarded-Proto from an untrusted (loopback) peer are refused.
func TestRequireHTTPSServer(t *testing.T) {
	h := RequireHTTPS(HTTPSConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})(okHandler())
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	resp, err := tlsSrv.Client().Get(tlsSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") != DefaultHSTS {
		t.Errorf("TLS: got %d HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	plain := httptest.NewServer(h)
	defer plain.Close()
	for _, spoof := range []bool{false, true} {
		req, _ := http.NewRequest("GET", plain.URL, nil)
		req.Header.Set("Authorization", "Bearer k_good")
		if spoof {
			req.Header.Set("X-Forwarded-Proto", "https")
		}
		resp, err := plain.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(body, "https_required") || !resp.Close {
			t.Errorf("plain (spoof=%v): got %d close=%v %q, want 403 https_required, connection closed", spoof, resp.StatusCode, resp.Close, body)
		}
	}
}
