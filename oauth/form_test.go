package oauth

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzTokenRequest fuzzes the token endpoint's request parsing: the form
// body, the grant parameters and the client credentials from a Basic
// header. Invariants: no panic; every error is one of ours; a parsed form
// survives re-encoding; parsed Basic credentials survive re-encoding.
func FuzzTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type=client_credentials&scope=read", "Basic YTpi")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa%2Fcb&code_verifier=v", "")
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=adxrt_x&grant_type=x", "Basic Og==")
	f.Add("application/json", `{"grant_type":"client_credentials"}`, "Bearer x")
	f.Add("application/x-www-form-urlencoded", "client_id=a%2Bb&client_secret=c+d&grant_type=password;x=y", "basic   YSUyQjpi")
	f.Add("application/x-www-form-urlencoded", "%zz=1&a=%", "Basic !!!")
	f.Fuzz(func(t *testing.T, contentType, body, authz string) {
		p, err := parseFormRequest(contentType, "", []byte(body))
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("parseFormRequest error %v does not wrap ErrMalformedRequest", err)
			}
			return
		}
		// Round trip: the parameters re-encode to a form that parses to
		// the same parameters.
		v := url.Values{}
		for k, val := range p {
			v.Set(k, val)
		}
		again, err := parseParams(v.Encode())
		if err != nil {
			t.Fatalf("re-encoded form refused: %v", err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		tr, err := parseTokenRequest(p)
		switch {
		case err == nil:
			if tr.grantType != GrantClientCredentials && tr.grantType != GrantAuthorizationCode && tr.grantType != GrantRefreshToken {
				t.Fatalf("accepted grant type %q", tr.grantType)
			}
		case !errors.Is(err, ErrMalformedRequest) && !errors.Is(err, ErrUnsupportedGrantType):
			t.Fatalf("parseTokenRequest error %v is not ours", err)
		}
		h := http.Header{}
		if authz != "" {
			h["Authorization"] = []string{authz}
		}
		cc, err := readClientCredentials(h, p)
		if err != nil {
			if !errors.Is(err, ErrMalformedRequest) && !errors.Is(err, ErrClientAuth) {
				t.Fatalf("readClientCredentials error %v is not ours", err)
			}
			return
		}
		if cc.id == "" {
			t.Fatalf("credentials without a client ID accepted")
		}
		if cc.basic {
			enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cc.id) + ":" + url.QueryEscape(cc.secret)))
			id, secret, ok := parseBasic("Basic " + enc)
			if !ok || id != cc.id || secret != cc.secret {
				t.Fatalf("Basic round trip: got %q %q %v, want %q %q", id, secret, ok, cc.id, cc.secret)
			}
		}
	})
}
