package dpop

import "testing"

// TestMatchURI is the hostile table of the htu comparison: RFC 3986
// syntax- and scheme-based normalization makes equal what is equal, and
// nothing else.
func TestMatchURI(t *testing.T) {
	const scheme, host, path = "https", "api.example", "/v1/data"
	tests := []struct {
		name, htu          string
		scheme, host, path string // "" for the defaults above
		want               bool
	}{
		{"exact", "https://api.example/v1/data", "", "", "", true},
		{"scheme in upper case", "HTTPS://api.example/v1/data", "", "", "", true},
		{"host in upper case", "https://API.Example/v1/data", "", "", "", true},
		{"default port in htu", "https://api.example:443/v1/data", "", "", "", true},
		{"default port in request", "https://api.example/v1/data", "", "api.example:443", "", true},
		{"empty port", "https://api.example:/v1/data", "", "", "", true},
		{"other port", "https://api.example:8443/v1/data", "", "", "", false},
		{"port 80 is not https's default", "https://api.example:80/v1/data", "", "", "", false},
		{"http default port", "http://api.example:80/v1/data", "http", "", "", true},
		{"port 443 is not http's default", "http://api.example:443/v1/data", "http", "", "", false},
		{"other scheme", "http://api.example/v1/data", "", "", "", false},
		{"other host", "https://evil.example/v1/data", "", "", "", false},
		{"host suffix", "https://api.example.evil/v1/data", "", "", "", false},
		{"other path", "https://api.example/v1/admin", "", "", "", false},
		{"path prefix", "https://api.example/v1/data/more", "", "", "", false},
		{"path case matters", "https://api.example/V1/data", "", "", "", false},
		{"trailing slash matters", "https://api.example/v1/data/", "", "", "", false},
		// RFC 9449 §4.2: htu has no query or fragment; one that has
		// them was not made for this request.
		{"with query", "https://api.example/v1/data?x=1", "", "", "", false},
		{"with empty query", "https://api.example/v1/data?", "", "", "", false},
		{"with fragment", "https://api.example/v1/data#f", "", "", "", false},
		// Dot segments must not hide a query or fragment: removing them
		// from "/v1/data?/../data" would leave the request's path.
		{"query hidden by dot segments", "https://api.example/v1/data?/../data", "", "", "", false},
		{"fragment hidden by dot segments", "https://api.example/v1/data#/../data", "", "", "", false},
		{"with userinfo", "https://user@api.example/v1/data", "", "", "", false},
		{"relative", "/v1/data", "", "", "", false},
		{"no scheme", "//api.example/v1/data", "", "", "", false},
		{"empty", "", "", "", "", false},
		{"empty path is /", "https://api.example", "", "", "/", true},
		{"root htu, another request path", "https://api.example/", "", "", "", false},
		// Percent-encoding of unreserved characters, and hex case.
		{"encoded unreserved", "https://api.example/v1/d%61ta", "", "", "", true},
		{"encoded unreserved in request", "https://api.example/v1/data", "", "", "/v1/%64ata", true},
		{"hex case", "https://api.example/a%2fb", "", "", "/a%2Fb", true},
		{"path case matters when normalized", "https://api.example/V1/d%61ta", "", "", "", false},
		{"encoded slash is not a slash", "https://api.example/v1%2Fdata", "", "", "", false},
		{"malformed encoding", "https://api.example/v1/%zzdata", "", "", "", false},
		{"encoded host", "https://%61pi.example/v1/data", "", "", "", false},
		// Dot segments are removed (RFC 3986 §5.2.4).
		{"dot segment", "https://api.example/v1/./data", "", "", "", true},
		{"dot-dot segment", "https://api.example/v1/x/../data", "", "", "", true},
		{"dot-dot out of the path", "https://api.example/admin/../v1/data", "", "", "", true},
		{"dot-dot to another path", "https://api.example/v1/data/../admin", "", "", "", false},
		{"ipv6 host", "https://[2001:db8::1]:8443/v1/data", "", "[2001:DB8::1]:8443", "", true},
		{"ipv6 default port", "https://[2001:db8::1]/v1/data", "", "[2001:db8::1]:443", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, h, p := scheme, host, path
			if tc.scheme != "" {
				s = tc.scheme
			}
			if tc.host != "" {
				h = tc.host
			}
			if tc.path != "" {
				p = tc.path
			}
			if got := matchURI(tc.htu, s, h, p); got != tc.want {
				t.Errorf("matchURI(%q, %q, %q, %q) = %v, want %v", tc.htu, s, h, p, got, tc.want)
			}
		})
	}
}

func TestMatchURIAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() { matchURI("https://API.example:443/v1/data", "https", "api.example", "/v1/data") })
	if n != 0 {
		t.Errorf("common case: %v allocs, want 0", n)
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// RFC 3986 §5.2.4's examples and a few more.
	for in, want := range map[string]string{
		"/a/b/c/./../../g":   "/a/g",
		"mid/content=5/../6": "mid/6",
		"/./":                "/",
		"/..":                "/",
		"/a/..":              "/",
		"/a/.":               "/a/",
		"/a/b/..":            "/a/",
		"/a//b":              "/a//b",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}
