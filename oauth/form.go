package oauth

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Limits on a form request, checked before anything is looked up.
const (
	// maxFormBytes bounds a request body. Token requests are a few hundred
	// bytes; a PKCE verifier is at most 128.
	maxFormBytes = 16 << 10
	// maxParams bounds the parameters of a request.
	maxParams = 32
	// maxParamLength bounds each parameter value that is not a redirect
	// URI or a state (both bounded separately).
	maxParamLength = 4096
)

// params are the parameters of a request, at most one value each.
type params map[string]string

// get returns the value of name, or "" when it is absent. RFC 6749 §3.1:
// "Parameters sent without a value MUST be treated as if they were
// omitted from the request."
func (p params) get(name string) string { return p[name] }

// parseParams decodes an application/x-www-form-urlencoded string. Unlike
// url.ParseQuery it refuses a repeated name (RFC 6749 §3.1, §3.2:
// "Request and response parameters MUST NOT be included more than once"),
// since two components could each read a different copy; it also refuses
// bad escapes, semicolons, empty names and more than maxParams parameters.
// Errors never echo the input.
func parseParams(raw string) (params, error) {
	p, repeated, err := scanParams(raw)
	if err != nil {
		return nil, err
	}
	if repeated != nil {
		return nil, fmt.Errorf("%w: repeated parameter", ErrMalformedRequest)
	}
	return p, nil
}

// scanParams is parseParams that reports repeated names instead of
// failing on them; p holds the first value of each. The authorization
// endpoint needs the difference: a repeated client_id is shown as a page,
// a repeated scope is redirected as invalid_request.
func scanParams(raw string) (p params, repeated map[string]bool, err error) {
	p = make(params, 8)
	n := 0
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		if strings.IndexByte(part, ';') >= 0 {
			return nil, nil, fmt.Errorf("%w: semicolon in parameters", ErrMalformedRequest)
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || key == "" {
			return nil, nil, fmt.Errorf("%w: bad parameter name", ErrMalformedRequest)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: bad parameter encoding", ErrMalformedRequest)
		}
		if n++; n > maxParams {
			return nil, nil, fmt.Errorf("%w: too many parameters", ErrMalformedRequest)
		}
		if _, dup := p[key]; dup {
			if repeated == nil {
				repeated = make(map[string]bool)
			}
			repeated[key] = true
			continue
		}
		p[key] = val
	}
	return p, repeated, nil
}

// parseFormRequest checks and decodes the body of a POST to the token,
// revocation or introspection endpoint. RFC 6749 §3.2: parameters are sent
// "using the "application/x-www-form-urlencoded" format … in the HTTP
// request entity-body". A request with a query string is refused: a secret
// or code in a URL ends up in logs, and a parameter in both places would
// be ambiguous. A JSON body is refused.
func parseFormRequest(contentType, rawQuery string, body []byte) (params, error) {
	if rawQuery != "" {
		return nil, fmt.Errorf("%w: parameters in the query", ErrMalformedRequest)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: content type must be application/x-www-form-urlencoded", ErrMalformedRequest)
	}
	if len(body) > maxFormBytes {
		return nil, fmt.Errorf("%w: body too large", ErrMalformedRequest)
	}
	return parseParams(string(body))
}

// readForm reads and decodes the body of r with parseFormRequest.
func readForm(r *http.Request) (params, error) {
	ct := r.Header["Content-Type"]
	if len(ct) != 1 {
		return nil, fmt.Errorf("%w: content type must be given once", ErrMalformedRequest)
	}
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		return nil, fmt.Errorf("%w: parameters in the query", ErrMalformedRequest)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%w: reading body: %v", ErrMalformedRequest, err)
		}
	}
	return parseFormRequest(ct[0], "", body)
}
