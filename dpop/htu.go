package dpop

import "strings"

// maxHTULength bounds the "htu" claim; real URIs are far shorter.
const maxHTULength = 2048

// matchURI reports whether htu, a proof's "htu" claim, names the request
// URI made of scheme, host (with its port, if any) and escaped path,
// without query or fragment. RFC 9449 §4.3, check 9: "the htu claim
// matches the HTTP URI value for the HTTP request in which the JWT was
// received, ignoring any query and fragment parts"; and "servers SHOULD
// employ Syntax-Based Normalization (Section 6.2.2 of [RFC3986]) and
// Scheme-Based Normalization (Section 6.2.3 of [RFC3986]) before
// comparing the htu claim".
//
// So the scheme and host compare case-insensitively, a default port (443
// for https, 80 for http) or an empty one equals none, an empty path is
// "/", percent-encodings compare by what they encode (an unreserved
// character or the octet, in any hex case) and dot segments are removed.
// The htu itself must be an absolute http or https URI without userinfo,
// query or fragment: §4.2 defines it "without query and fragment parts",
// so one that has them was not made for this protocol. The common case,
// nothing to normalize, allocates nothing.
func matchURI(htu, scheme, host, path string) bool {
	if len(htu) > maxHTULength || strings.ContainsAny(htu, "?#") {
		return false
	}
	i := strings.Index(htu, "://")
	if i < 0 || !strings.EqualFold(htu[:i], scheme) {
		return false
	}
	rest := htu[i+3:]
	authority, hpath := rest, ""
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority, hpath = rest[:j], rest[j:]
	}
	if strings.ContainsAny(authority, "@%") || !sameHost(authority, host, scheme) {
		return false
	}
	if hpath == "" {
		hpath = "/"
	}
	if path == "" {
		path = "/"
	}
	if hpath == path {
		return true
	}
	if !needsNormalizing(hpath) && !needsNormalizing(path) {
		return false
	}
	return normalizePath(hpath) == normalizePath(path)
}

// sameHost compares two host[:port] values under RFC 3986 §6.2.2.1 and
// §6.2.3: case-insensitively, with the scheme's default port or an empty
// port meaning none.
func sameHost(a, b, scheme string) bool {
	a, b = trimDefaultPort(a, scheme), trimDefaultPort(b, scheme)
	return a != "" && strings.EqualFold(a, b)
}

func trimDefaultPort(h, scheme string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.IndexByte(h[i:], ']') >= 0 {
		return h // no port (or the colons of an IPv6 literal)
	}
	port := h[i+1:]
	switch {
	case port == "",
		port == "443" && strings.EqualFold(scheme, "https"),
		port == "80" && strings.EqualFold(scheme, "http"):
		return h[:i]
	}
	return h
}

// needsNormalizing reports whether an escaped path has a percent-encoding
// or a dot segment.
func needsNormalizing(p string) bool {
	if strings.IndexByte(p, '%') >= 0 {
		return true
	}
	return p == "." || p == ".." || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
		strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") || strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../")
}

// normalizePath applies RFC 3986 §6.2.2.2 (percent-encodings of
// unreserved characters decoded, the others in upper case) and §6.2.2.3
// (remove_dot_segments, §5.2.4) to an escaped path. A malformed
// percent-encoding is kept as it is, so it only ever equals itself.
func normalizePath(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(upper(p[i+1]))
				b.WriteByte(upper(p[i+2]))
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return removeDotSegments(b.String())
}

// removeDotSegments is RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	var out []string
	abs := strings.HasPrefix(in, "/")
	segs := strings.Split(in, "/")
	if abs {
		segs = segs[1:]
	}
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if abs {
		r = "/" + r
	}
	return r
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// isUnreserved reports whether c is an RFC 3986 §2.3 unreserved character.
func isUnreserved(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
