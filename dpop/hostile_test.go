package dpop_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// The answers of the hostile table: one per row kind, byte for byte
// (RFC 9449 §7.1 challenges, both schemes since both are accepted).
const (
	algs       = `, algs="ES256 EdDSA RS256 PS256"`
	bodyProof  = `{"error":"invalid_dpop_proof","message":"Authentication failed"}`
	bodyToken  = `{"error":"invalid_token","message":"Authentication failed"}`
	bodyNonce  = `{"error":"use_dpop_nonce","message":"Authentication failed"}`
	bodyNoCred = `{"error":"unauthorized","message":"Authentication failed"}`
	bodyInvReq = `{"error":"invalid_request","message":"Authentication failed"}`
)

var (
	wwwProof  = []string{`Bearer realm="api"`, `DPoP realm="api", error="invalid_dpop_proof"` + algs}
	wwwToken  = []string{`Bearer realm="api", error="invalid_token"`, `DPoP realm="api", error="invalid_token"` + algs}
	wwwNonce  = []string{`Bearer realm="api"`, `DPoP realm="api", error="use_dpop_nonce"` + algs}
	wwwNoCred = []string{`Bearer realm="api"`, `DPoP realm="api"` + algs}
	wwwInvReq = []string{`Bearer realm="api", error="invalid_request"`, `DPoP realm="api", error="invalid_request"` + algs}
)

// answer is what a client sees.
type answer struct {
	Status int
	WWW    []string
	Body   string
	Nonce  bool // a DPoP-Nonce header came with it
}

// hookLog collects the reasons an Authenticator reports.
type hookLog struct {
	mu      sync.Mutex
	reasons []error
}

func (h *hookLog) add(e auth.Event) {
	h.mu.Lock()
	h.reasons = append(h.reasons, e.Err)
	h.mu.Unlock()
}

func (h *hookLog) take() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.reasons
	h.reasons = nil
	return r
}

// apiServer is an httptest TLS server with an Authenticator that accepts
// DPoP with checker, in front of a handler that answers "ok".
func apiServer(t *testing.T, v auth.Verifier, checker *dpop.Checker, hook *hookLog) *httptest.Server {
	t.Helper()
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}, DPoP: checker, OnFailure: hook.add})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	return srv
}

// asFixture is an authorization server over TLS with DPoP, a mobile
// client that requires it, and a refresh token bound to key.
type asFixture struct {
	srv     *httptest.Server
	client  string
	refresh string
	hook    *hookLog
}

func newASFixture(t *testing.T, key *clientKey) *asFixture {
	t.Helper()
	f := &asFixture{hook: &hookLog{}}
	var h atomic.Pointer[http.Handler]
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	ks, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwt.NewSigner(jwt.SignerConfig{Issuer: f.srv.URL, Keys: ks, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var as *oauth.Server
	as, err = oauth.NewServer(oauth.Config{
		Issuer: f.srv.URL, Signer: signer, Clients: oauth.NewMemoryClientStore(), Grants: oauth.NewMemoryGrantStore(),
		Audience: []string{testAudience}, Now: fixedNow, DPoP: newChecker(t, dpop.Config{}),
		Consent: func(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest) {
			as.Approve(w, r, req, "alice", req.Scopes)
		},
		OnEvent: func(e oauth.Event) {
			if e.Err != nil {
				f.hook.add(auth.Event{Err: e.Err})
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	handler := as.Handler()
	h.Store(&handler)
	c, _, err := as.ClientManager().Register(t.Context(), oauth.Registration{
		Name: "Bank app", Type: oauth.ClientMobile, RedirectURIs: []string{"http://127.0.0.1/cb"},
		Scopes: auth.MustScopes("read"), RequireDPoP: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c.ID
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"http://127.0.0.1/cb"}, "scope": {"read"},
		"code_challenge": {b64.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "dpop_jkt": {key.jkt},
	}
	noRedirect := &http.Client{Transport: f.srv.Client().Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(f.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	r := f.token(t, key, url.Values{
		"grant_type": {"authorization_code"}, "client_id": {c.ID}, "code": {code},
		"redirect_uri": {"http://127.0.0.1/cb"}, "code_verifier": {verifier},
	})
	var tb struct {
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &tb) != nil || tb.TokenType != "DPoP" || tb.RefreshToken == "" {
		t.Fatalf("code exchange: %+v", r)
	}
	f.refresh = tb.RefreshToken
	f.hook.take()
	return f
}

// token posts a token request with a proof by key (none when key is nil).
func (f *asFixture) token(t *testing.T, key *clientKey, v url.Values) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != nil {
		req.Header.Set("DPoP", key.proof(t, "POST", f.srv.URL+"/oauth/token", ""))
	}
	return send(t, f.srv.Client(), req)
}

func send(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, WWW: resp.Header.Values("Www-Authenticate"), Body: string(b), Nonce: resp.Header.Get("Dpop-Nonce") != ""}
}

// TestHostileProofs is the hostile table of DPoP through real TLS
// servers: a resource server, one that requires nonces, and the
// authorization server. Each row gives the exact answer, whether the
// token verifier ran, and the reason the hook must get; each answer is
// the same bytes within its kind, whatever the reason.
func TestHostileProofs(t *testing.T) {
	es := newClientKey(t, dpop.ES256)
	ed := newClientKey(t, dpop.EdDSA)
	rs := newClientKey(t, dpop.RS256)
	p384 := newClientKey(t, dpop.ES384)
	other := newClientKey(t, dpop.ES256)
	is := newIssuer(t)
	v := &countingVerifier{Verifier: is.verifier}
	hook := &hookLog{}
	api := apiServer(t, v, newChecker(t, dpop.Config{}), hook)
	nonceChecker := newChecker(t, dpop.Config{RequireNonce: true})
	nonceAPI := apiServer(t, v, nonceChecker, hook)
	as := newASFixture(t, es)

	uri := api.URL + "/v1/data"
	tok := is.token(t, es.jkt)
	edTok := is.token(t, ed.jkt)
	rsTok := is.token(t, rs.jkt)
	bearerTok := is.token(t, "")

	// esRaw signs header and claims with es as ES256.
	esRaw := func(header, claims string) string { return es.raw(t, dpop.ES256, header, claims) }
	esHdr := func(over map[string]any) string { return es.header(t, dpop.ES256, over) }
	esClaims := func(over map[string]any) string { return claims("GET", uri, tok, over) }
	good := func() string { return es.proof(t, "GET", uri, tok) }
	replaced := func(p, old, new string) string { return strings.Replace(p, old, new, 1) }
	hs256 := func() string {
		input := b64.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}`)) + "." + b64.EncodeToString([]byte(esClaims(nil)))
		m := hmac.New(sha256.New, []byte("secret"))
		m.Write([]byte(input))
		return input + "." + b64.EncodeToString(m.Sum(nil))
	}
	derSig := func() string {
		p := good()
		i := strings.LastIndexByte(p, '.')
		raw, _ := b64.DecodeString(p[i+1:])
		der, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
		return p[:i+1] + b64.EncodeToString(der)
	}
	signedByOther := func() string {
		// es's jwk in the header, other's signature.
		return other.raw(t, dpop.ES256, esHdr(nil), esClaims(nil))
	}
	reusedJTI := func() string {
		c := esClaims(map[string]any{"jti": "once"})
		return esRaw(esHdr(nil), c)
	}

	const (
		apiRow = iota
		nonceRow
		asRow
	)
	type row struct {
		name    string
		where   int
		scheme  string   // "DPoP" or "Bearer"; "" for none
		token   string   // the credential
		proofs  []string // DPoP header values
		first   bool     // send the same request once before, which must pass
		want    answer
		ran     bool  // the token verifier ran
		reason  error // the hook's reason, nil for success
		asValue url.Values
		asKey   *clientKey
	}
	ok := answer{Status: 200, Body: "ok"}
	badProof := answer{Status: 401, WWW: wwwProof, Body: bodyProof}
	badToken := answer{Status: 401, WWW: wwwToken, Body: bodyToken}
	rows := []row{
		{name: "valid ES256 proof", scheme: "DPoP", token: tok, proofs: []string{good()}, want: ok, ran: true},
		{name: "valid EdDSA proof", scheme: "DPoP", token: edTok, proofs: []string{ed.proof(t, "GET", uri, edTok)}, want: ok, ran: true},
		{name: "valid RS256 proof", scheme: "DPoP", token: rsTok, proofs: []string{rs.proof(t, "GET", uri, rsTok)}, want: ok, ran: true},
		// RFC 3986 normalization: the same URI spelled otherwise passes;
		// a trailing slash is another URI.
		{name: "htu with dot segments and upper-case scheme", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htu": strings.Replace(api.URL, "https", "HTTPS", 1) + "/v1/x/../data"}))}, want: ok, ran: true},
		{name: "htu with a trailing slash", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", uri+"/", tok)}, want: badProof, ran: true, reason: dpop.ErrURI},

		// RFC 9449 §11.1: each proof once.
		{name: "replayed proof", scheme: "DPoP", token: tok, proofs: []string{good()}, first: true, want: badProof, ran: true, reason: dpop.ErrReplay},
		// The jti is what is remembered (with the key): a new proof that
		// reuses one is a replay too. The two rows run in this order.
		{name: "jti first used", scheme: "DPoP", token: tok, proofs: []string{reusedJTI()}, want: ok, ran: true},
		{name: "jti reused in a new proof", scheme: "DPoP", token: tok, proofs: []string{reusedJTI()}, want: badProof, ran: true, reason: dpop.ErrReplay},

		// §4.3 checks 8 and 9: this request, nothing else.
		{name: "htm POST on a GET", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "POST", uri, tok)}, want: badProof, ran: true, reason: dpop.ErrMethod},
		{name: "htm in lower case", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htm": "get"}))}, want: badProof, ran: true, reason: dpop.ErrMethod},
		{name: "htu another path", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", api.URL+"/v1/admin", tok)}, want: badProof, ran: true, reason: dpop.ErrURI},
		{name: "htu with a query", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htu": uri + "?a=1"}))}, want: badProof, ran: true, reason: dpop.ErrURI},
		{name: "htu with a fragment", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htu": uri + "#f"}))}, want: badProof, ran: true, reason: dpop.ErrURI},
		// Normalizing "/v1/data?/../data" would leave the request path:
		// a query is refused before any normalization.
		{name: "htu with a query hidden by dot segments", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htu": uri + "?/../data"}))}, want: badProof, ran: true, reason: dpop.ErrURI},
		{name: "htu another host", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", "https://api.example.com/v1/data", tok)}, want: badProof, ran: true, reason: dpop.ErrURI},
		{name: "htu http", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", strings.Replace(uri, "https:", "http:", 1), tok)}, want: badProof, ran: true, reason: dpop.ErrURI},
		{name: "htu relative", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"htu": "/v1/data"}))}, want: badProof, ran: true, reason: dpop.ErrURI},

		// §4.3 check 10: fresh.
		{name: "iat too old", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"iat": t0.Unix() - 61}))}, want: badProof, ran: true, reason: dpop.ErrIssuedAt},
		{name: "iat in the future", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"iat": t0.Unix() + 61}))}, want: badProof, ran: true, reason: dpop.ErrIssuedAt},
		{name: "iat a string", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"iat": "1800000000"}))}, want: badProof, ran: true, reason: dpop.ErrMalformed},

		// §4.3 checks 5 to 7: the key and the algorithm.
		{name: "jwk with a private member", scheme: "DPoP", token: tok, proofs: []string{esRaw(es.header(t, dpop.ES256, map[string]any{"jwk": json.RawMessage(es.jwkJSON(t, map[string]any{"d": "AAAA"}))}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrKey},
		{name: "jwk symmetric", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrKey},
		{name: "jwk missing", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"jwk": nil}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrKey},
		{name: "jwk of the wrong type for alg", scheme: "DPoP", token: tok, proofs: []string{esRaw(es.header(t, dpop.ES256, map[string]any{"jwk": json.RawMessage(ed.jwkJSON(t, nil))}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrKey},
		{name: "jwk point off the curve", scheme: "DPoP", token: tok, proofs: []string{esRaw(es.header(t, dpop.ES256, map[string]any{"jwk": json.RawMessage(es.jwkJSON(t, map[string]any{"y": b64.EncodeToString(make([]byte, 32))}))}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrKey},
		{name: "alg none", scheme: "DPoP", token: tok, proofs: []string{replaced(good(), strings.Split(good(), ".")[0], b64.EncodeToString([]byte(esHdr(map[string]any{"alg": "none"}))))}, want: badProof, ran: true, reason: dpop.ErrAlgorithm},
		{name: "alg none, no signature", scheme: "DPoP", token: tok, proofs: []string{b64.EncodeToString([]byte(esHdr(map[string]any{"alg": "none"}))) + "." + b64.EncodeToString([]byte(esClaims(nil))) + "."}, want: badProof, ran: true, reason: dpop.ErrMalformed},
		{name: "alg HS256", scheme: "DPoP", token: tok, proofs: []string{hs256()}, want: badProof, ran: true, reason: dpop.ErrAlgorithm},
		{name: "alg not allowed (ES384)", scheme: "DPoP", token: tok, proofs: []string{p384.proof(t, "GET", uri, tok)}, want: badProof, ran: true, reason: dpop.ErrAlgorithm},
		{name: "typ JWT", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"typ": "JWT"}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrType},
		{name: "typ missing", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"typ": nil}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrType},
		{name: "crit header", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"crit": []string{"exp"}}), esClaims(nil))}, want: badProof, ran: true, reason: dpop.ErrMalformed},

		// The signature.
		{name: "signed by another key than its jwk", scheme: "DPoP", token: tok, proofs: []string{signedByOther()}, want: badProof, ran: true, reason: dpop.ErrSignature},
		{name: "claims changed after signing", scheme: "DPoP", token: tok, proofs: []string{func() string {
			p := strings.Split(good(), ".")
			return p[0] + "." + b64.EncodeToString([]byte(esClaims(nil))) + "." + p[2]
		}()}, want: badProof, ran: true, reason: dpop.ErrSignature},
		{name: "DER-encoded ECDSA signature", scheme: "DPoP", token: tok, proofs: []string{derSig()}, want: badProof, ran: true, reason: dpop.ErrSignature},

		// §4.3 check 12: the key the token is bound to. RFC 9449 §7.1
		// answers an invalid key binding with invalid_token.
		{name: "jwk not the token's cnf.jkt", scheme: "DPoP", token: tok, proofs: []string{other.proof(t, "GET", uri, tok)}, want: badToken, ran: true, reason: dpop.ErrKeyMismatch},

		// §4.3 check 11: the access token's hash.
		{name: "ath missing", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"ath": nil}))}, want: badProof, ran: true, reason: dpop.ErrMissingClaim},
		{name: "ath of another token", scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", uri, edTok)}, want: badProof, ran: true, reason: dpop.ErrTokenHash},

		// Claims and shape.
		{name: "jti missing", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), esClaims(map[string]any{"jti": nil}))}, want: badProof, ran: true, reason: dpop.ErrMissingClaim},
		{name: "htm twice", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), replaced(esClaims(nil), `"htm":"GET"`, `"htm":"GET","htm":"POST"`))}, want: badProof, ran: true, reason: dpop.ErrMalformed},
		{name: "HTM, a case variant", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(nil), replaced(esClaims(nil), `"htm":"GET"`, `"htm":"GET","HTM":"POST"`))}, want: badProof, ran: true, reason: dpop.ErrMalformed},
		{name: "not a JWS", scheme: "DPoP", token: tok, proofs: []string{"not-a-proof"}, want: badProof, ran: true, reason: dpop.ErrMalformed},
		{name: "proof over the checker's limit", scheme: "DPoP", token: tok, proofs: []string{good() + strings.Repeat("A", dpop.DefaultMaxProofSize)}, want: badProof, ran: true, reason: dpop.ErrTooLarge},
		// Signed and valid but for its size, each part within its own
		// limit: the whole is bounded too, before anything is decoded.
		{name: "valid proof over the size limit", scheme: "DPoP", token: tok, proofs: []string{esRaw(esHdr(map[string]any{"x": strings.Repeat("h", 1200)}), esClaims(map[string]any{"pad": strings.Repeat("p", 2000)}))}, want: badProof, ran: true, reason: dpop.ErrTooLarge},

		// §4.3 check 1, and the size bound, before the token is verified.
		{name: "two DPoP headers", scheme: "DPoP", token: tok, proofs: []string{good(), good()}, want: badProof, ran: false, reason: auth.ErrInvalidProof},
		{name: "no DPoP header", scheme: "DPoP", token: tok, want: badProof, ran: false, reason: auth.ErrInvalidProof},
		{name: "proof too large", scheme: "DPoP", token: tok, proofs: []string{strings.Repeat("A", auth.MaxProofLength+1)}, want: badProof, ran: false, reason: auth.ErrInvalidProof},

		// No downgrade, either way (RFC 9449 §7.2).
		{name: "bound token as Bearer", scheme: "Bearer", token: tok, want: badToken, ran: true, reason: auth.ErrBoundTokenAsBearer},
		{name: "bound token as Bearer, with a proof", scheme: "Bearer", token: tok, proofs: []string{good()}, want: answer{Status: 400, WWW: wwwInvReq, Body: bodyInvReq}, ran: false, reason: auth.ErrProofWithBearer},
		{name: "bearer token with the DPoP scheme and a proof", scheme: "DPoP", token: bearerTok, proofs: []string{es.proof(t, "GET", uri, bearerTok)}, want: badToken, ran: true, reason: auth.ErrTokenNotBound},
		{name: "bearer token as Bearer", scheme: "Bearer", token: bearerTok, want: ok, ran: true},
		{name: "no credential", want: answer{Status: 401, WWW: wwwNoCred, Body: bodyNoCred}, reason: auth.ErrNoCredential},

		// §9: nonces.
		{name: "nonce missing", where: nonceRow, scheme: "DPoP", token: tok, proofs: []string{es.proof(t, "GET", nonceAPI.URL+"/v1/data", tok)}, want: answer{Status: 401, WWW: wwwNonce, Body: bodyNonce, Nonce: true}, ran: true, reason: dpop.ErrNonce},
		{name: "nonce stale", where: nonceRow, scheme: "DPoP", token: tok, proofs: []string{func() string {
			p, _ := es.signer.Proof("GET", nonceAPI.URL+"/v1/data", tok, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			return p
		}()}, want: answer{Status: 401, WWW: wwwNonce, Body: bodyNonce, Nonce: true}, ran: true, reason: dpop.ErrNonce},
		{name: "nonce current", where: nonceRow, scheme: "DPoP", token: tok, proofs: []string{func() string {
			p, _ := es.signer.Proof("GET", nonceAPI.URL+"/v1/data", tok, nonceChecker.Nonce())
			return p
		}()}, want: answer{Status: 200, Body: "ok", Nonce: true}, ran: true},

		// RFC 9449 §5 at the token endpoint: a bound refresh token needs
		// a proof by its key, and the refusals spend nothing.
		{name: "refresh of a bound refresh token without a proof", where: asRow, asValue: url.Values{"grant_type": {"refresh_token"}, "client_id": {as.client}, "refresh_token": {as.refresh}},
			want: answer{Status: 400, Body: `{"error":"invalid_dpop_proof","error_description":"The DPoP proof is missing, invalid, or was used before."}`}, reason: oauth.ErrDPoPRequired},
		{name: "refresh of a bound refresh token with another key", where: asRow, asKey: other, asValue: url.Values{"grant_type": {"refresh_token"}, "client_id": {as.client}, "refresh_token": {as.refresh}},
			want: answer{Status: 400, Body: `{"error":"invalid_grant","error_description":"The authorization grant or refresh token is invalid, expired, revoked, or was issued to another client."}`}, reason: oauth.ErrDPoPKey},
		{name: "refresh with an ES384 proof", where: asRow, asKey: p384, asValue: url.Values{"grant_type": {"refresh_token"}, "client_id": {as.client}, "refresh_token": {as.refresh}},
			want: answer{Status: 400, Body: `{"error":"invalid_dpop_proof","error_description":"The DPoP proof is missing, invalid, or was used before."}`}, reason: dpop.ErrAlgorithm},
	}
	if len(rows) < 40 {
		t.Fatalf("%d rows, want at least 40", len(rows))
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var got answer
			before := v.calls.Load()
			switch tc.where {
			case asRow:
				got = as.token(t, tc.asKey, tc.asValue)
				// The answer's body is JSON; Cache-Control et al. are
				// the oauth package's to test.
				reasons := as.hook.take()
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				if len(reasons) != 1 || !errors.Is(reasons[0], tc.reason) {
					t.Errorf("hook: got %v, want %v", reasons, tc.reason)
				}
				return
			}
			srv := api
			if tc.where == nonceRow {
				srv = nonceAPI
			}
			req := func() *http.Request {
				r, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL+"/v1/data", nil)
				if tc.scheme != "" {
					r.Header.Set("Authorization", tc.scheme+" "+tc.token)
				}
				if tc.proofs != nil {
					r.Header["Dpop"] = tc.proofs
				}
				return r
			}
			if tc.first {
				if a := send(t, srv.Client(), req()); a.Status != 200 {
					t.Fatalf("first send: %+v", a)
				}
				before = v.calls.Load()
			}
			hook.take()
			got = send(t, srv.Client(), req())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if ran := v.calls.Load() > before; ran != tc.ran {
				t.Errorf("token verifier ran: %v, want %v", ran, tc.ran)
			}
			reasons := hook.take()
			switch {
			case tc.reason == nil && len(reasons) != 0:
				t.Errorf("hook: got %v, want nothing", reasons)
			case tc.reason != nil && (len(reasons) != 1 || !errors.Is(reasons[0], tc.reason)):
				t.Errorf("hook: got %v, want %v", reasons, tc.reason)
			}
		})
	}
	// None of the refusals spent the refresh token.
	if a := as.token(t, es, url.Values{"grant_type": {"refresh_token"}, "client_id": {as.client}, "refresh_token": {as.refresh}}); a.Status != 200 {
		t.Errorf("refresh with the key after the refusals: %+v", a)
	}
}
