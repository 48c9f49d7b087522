package dpop

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/audexum/auth/internal/cache"
)

// maxPeek bounds the body of a 400 read to find a token endpoint's
// use_dpop_nonce error.
const maxPeek = 16 << 10

// Transport is an [http.RoundTripper] that puts a new DPoP proof, made by
// Signer, on every request it sends, and keeps the servers' nonces:
//
//   - a request with "Authorization: DPoP <token>" gets a proof bound to
//     that token ("ath"): a call to a protected resource;
//   - any other request gets a proof without "ath": a token request,
//     where the authorization server binds the tokens it issues to the
//     signer's key.
//
// Each response's DPoP-Nonce is remembered per origin and put in the next
// proofs to that origin. The nonces are bounded: at most 64 origins; when
// full, a new origin takes the place of the least used of 8 drawn at
// random. A response asking for a nonce (401 with error="use_dpop_nonce"
// in WWW-Authenticate, or a token endpoint's 400 use_dpop_nonce, RFC 9449
// §8, §9) is retried once with a new proof that carries it, when the
// request's body can be sent again (no body, or Request.GetBody set, as
// http.NewRequest does for in-memory bodies).
//
// With golang.org/x/oauth2, put the Transport under oauth2.Transport,
// which writes "Authorization: DPoP <token>" for tokens whose token_type
// is DPoP, and in the http.Client the oauth2 package uses for token
// requests (the oauth2.HTTPClient context value), so the code exchange
// and refreshes are bound to the same key.
//
// A Transport must not be copied after first use. It is safe for
// concurrent use.
type Transport struct {
	// Signer makes the proofs. Required.
	Signer *Signer
	// Base sends the requests. If nil, http.DefaultTransport.
	Base http.RoundTripper

	// nonces maps an origin to its last DPoP-Nonce; made at first use.
	nonces atomic.Pointer[cache.Map[string, string]]
}

var errNoSigner = errors.New("dpop: Transport without a Signer")

// RoundTrip implements [http.RoundTripper]. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Signer == nil {
		closeBody(req)
		return nil, errNoSigner
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	nonce := t.nonce(origin)
	out, err := t.withProof(req, nonce)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	fresh := resp.Header.Get("Dpop-Nonce")
	if fresh != "" {
		t.setNonce(origin, fresh)
	}
	if fresh == "" || fresh == nonce || !asksForNonce(resp) {
		return resp, nil
	}
	// Once, with the nonce the server gave: a body is sent again only
	// if it can be.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	retry, err := t.withProof(req, fresh)
	if err != nil {
		return resp, nil
	}
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxPeek))
	resp.Body.Close()
	resp, err = base.RoundTrip(retry)
	if err == nil {
		if n := resp.Header.Get("Dpop-Nonce"); n != "" {
			t.setNonce(origin, n)
		}
	}
	return resp, err
}

// withProof returns a shallow copy of req with a new proof in its DPoP
// header, bound to its DPoP access token if it has one.
func (t *Transport) withProof(req *http.Request, nonce string) (*http.Request, error) {
	var token string
	if v := req.Header.Get("Authorization"); len(v) > 5 && strings.EqualFold(v[:5], "DPoP ") {
		token = strings.TrimLeft(v[5:], " ")
	}
	proof, err := t.Signer.Proof(req.Method, req.URL.String(), token, nonce)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Header["Dpop"] = []string{proof}
	return out, nil
}

// asksForNonce reports whether resp is a use_dpop_nonce error: a 401 with
// the error in its DPoP challenge, or a token endpoint's 400 with the
// error in its JSON body. The body read is put back.
func asksForNonce(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		for _, v := range resp.Header.Values("Www-Authenticate") {
			if strings.Contains(v, `error="use_dpop_nonce"`) {
				return true
			}
		}
	case http.StatusBadRequest:
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxPeek))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		return err == nil && bytes.Contains(b, []byte(`"use_dpop_nonce"`))
	}
	return false
}

func (t *Transport) nonce(origin string) string {
	m := t.nonces.Load()
	if m == nil {
		return ""
	}
	nonce, _ := m.Get(origin, time.Now())
	return nonce
}

// maxOrigins bounds the nonces kept: a client talks to a few servers.
// Full, a new origin takes the place of the least used of 8 drawn at
// random (internal/cache): a server redirecting through many origins
// cannot push out the nonces of the servers the client keeps calling.
const maxOrigins = 64

func (t *Transport) setNonce(origin, nonce string) {
	m := t.nonces.Load()
	if m == nil {
		t.nonces.CompareAndSwap(nil, cache.New[string, string](maxOrigins))
		m = t.nonces.Load()
	}
	// A nonce has no expiry here: the server says when it wants another.
	m.Put(origin, nonce, time.Time{}, time.Now())
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
