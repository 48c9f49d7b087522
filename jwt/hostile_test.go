package jwt_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

// TestHostile runs hostile tokens against a verifier that allows ES256,
// ES384, RS256 and PS256 and knows three keys: "es" (ES256), "p384"
// (ES384) and "rs" (RS256). Each row says why its answer is right.
func TestHostile(t *testing.T) {
	es := newTestKey(t, jwt.ES256, "es", 0)
	p384 := newTestKey(t, jwt.ES384, "p384", 0)
	rs := newTestKey(t, jwt.RS256, "rs", 0)
	attacker := newTestKey(t, jwt.ES256, "es", 0)

	// A server that counts requests: jku and x5u must never be followed.
	var hits atomic.Int32
	attackerSet := jwks(t, []*testKey{attacker})
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(attackerSet)
	}))
	defer trap.Close()

	main := newVerifier(t, jwt.Config{
		Algorithms: []string{jwt.ES256, jwt.ES384, jwt.RS256, jwt.PS256},
		Keys:       []jwt.PublicKey{es.public(), p384.public(), rs.public()},
	})
	esOnly := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, Keys: []jwt.PublicKey{es.public()}})

	valid := es.token(t, claims(nil))
	parts := strings.Split(valid, ".")
	enc := func(s string) string { return b64.EncodeToString([]byte(s)) }
	rsaPub, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	der, err := ecdsa.SignASN1(rand.Reader, es.priv.(*ecdsa.PrivateKey), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := string(attacker.jwk(t, false))
	hdr := func(alg, extra string) string {
		return `{"alg":"` + alg + `","typ":"at+jwt"` + extra + `}`
	}
	esWith := func(over map[string]any, drop ...string) string { return es.token(t, claims(over, drop...)) }
	esHeader := func(h string) string { return es.sign(t, jwt.ES256, h, claims(nil)) }
	esRaw := func(payload string) string { return es.sign(t, jwt.ES256, es.header(), payload) }

	tests := []struct {
		name  string
		v     *jwt.Verifier // nil: main
		token string
		want  error // a jwt sentinel; nil for success
	}{
		{"valid ES256", nil, valid, nil},
		{"valid RS256", nil, rs.token(t, claims(nil)), nil},

		// RFC 8725 §2.1: "none" is never in an allow-list. Without a
		// signature it is not even a compact JWS of three parts.
		{"alg none, empty signature", nil, enc(hdr("none", "")) + "." + parts[1] + ".", jwt.ErrMalformed},
		{"alg none with a signature", nil, enc(hdr("none", "")) + "." + parts[1] + "." + parts[2], jwt.ErrAlgorithm},
		{"alg None", nil, enc(hdr("None", "")) + "." + parts[1] + "." + parts[2], jwt.ErrAlgorithm},
		// Algorithm confusion: the public key used as an HMAC secret.
		// HMAC can never be allowed, and keys are bound to one algorithm.
		{"HS256 with the RSA public key as secret", nil, hs256(hdr("HS256", `,"kid":"rs"`), claims(nil), rsaPub), jwt.ErrAlgorithm},
		{"HS256 with the RSA public key PEM as secret", nil, hs256(hdr("HS256", `,"kid":"rs"`), claims(nil), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub})), jwt.ErrAlgorithm},
		{"RS256 where only ES256 is allowed", esOnly, rs.token(t, claims(nil)), jwt.ErrAlgorithm},
		// The key "rs" is bound to RS256: a PS256 signature by the same
		// RSA key is still refused (RFC 8725 §3.1).
		{"PS256 with an RS256-bound key", nil, rs.sign(t, jwt.PS256, hdr("PS256", `,"kid":"rs"`), claims(nil)), jwt.ErrAlgorithm},
		{"ES256 over a P-384 key", nil, p384.sign(t, jwt.ES384, hdr("ES256", `,"kid":"p384"`), claims(nil)), jwt.ErrAlgorithm},
		{"alg with trailing space", nil, es.sign(t, jwt.ES256, hdr("ES256 ", `,"kid":"es"`), claims(nil)), jwt.ErrAlgorithm},

		{"tampered payload", nil, parts[0] + "." + enc(claims(map[string]any{"sub": "admin"})) + "." + parts[2], jwt.ErrBadSignature},
		{"tampered header", nil, enc(hdr("ES256", `,"kid":"es","x":1`)) + "." + parts[1] + "." + parts[2], jwt.ErrBadSignature},
		{"another key's signature with the right kid", nil, attacker.token(t, claims(nil)), jwt.ErrBadSignature},
		// CVE-2022-21449: r = s = 0 must never verify.
		{"psychic ECDSA signature", nil, parts[0] + "." + parts[1] + "." + enc(string(make([]byte, 64))), jwt.ErrBadSignature},
		// R || 0x00 || S: the same integers, one byte longer. RFC 7518
		// §3.4 fixes the length, so one token has one spelling.
		{"ECDSA signature with S zero-padded", nil, parts[0] + "." + parts[1] + "." + func() string {
			sig, err := b64.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			return b64.EncodeToString(append(append(sig[:32:32], 0), sig[32:]...))
		}(), jwt.ErrBadSignature},
		// RFC 7518 §3.4: JWS ECDSA signatures are R||S, not DER.
		{"DER-encoded ECDSA signature", nil, parts[0] + "." + parts[1] + "." + b64.EncodeToString(der), jwt.ErrBadSignature},
		{"RSA signature truncated", nil, func() string {
			p := strings.Split(rs.token(t, claims(nil)), ".")
			return p[0] + "." + p[1] + "." + p[2][:100]
		}(), jwt.ErrBadSignature},

		// RFC 8725 §3.10: keys come only from configuration. The
		// embedded key, jku and x5u are ignored, never fetched.
		{"embedded jwk with the attacker's key", nil, attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"es","jwk":`+attackerJWK), claims(nil)), jwt.ErrBadSignature},
		{"embedded jwk, no kid", nil, attacker.sign(t, jwt.ES256, hdr("ES256", `,"jwk":`+attackerJWK), claims(nil)), jwt.ErrBadSignature},
		{"jku header", nil, attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"evil","jku":"`+trap.URL+`"`), claims(nil)), jwt.ErrUnknownKey},
		{"x5u header", nil, attacker.sign(t, jwt.ES256, hdr("ES256", `,"kid":"evil","x5u":"`+trap.URL+`"`), claims(nil)), jwt.ErrUnknownKey},
		// kid is only ever compared, never used as a path or query.
		{"kid with ../", nil, esHeader(hdr("ES256", `,"kid":"../../../etc/passwd"`)), jwt.ErrUnknownKey},
		{"kid with quotes", nil, esHeader(hdr("ES256", `,"kid":"es\" OR \"1\"=\"1"`)), jwt.ErrUnknownKey},
		{"kid of 10 KB", nil, esHeader(hdr("ES256", `,"kid":"`+strings.Repeat("k", 10<<10)+`"`)), jwt.ErrMalformed},
		{"kid of 300 bytes", nil, esHeader(hdr("ES256", `,"kid":"`+strings.Repeat("k", 300)+`"`)), jwt.ErrMalformed},
		{"duplicate alg in header", nil, esHeader(`{"alg":"HS256","alg":"ES256","kid":"es","typ":"at+jwt"}`), jwt.ErrMalformed},
		// RFC 7515 §4.1.11: an extension we do not implement is fatal.
		{"crit header", nil, esHeader(hdr("ES256", `,"kid":"es","crit":["exp"],"exp":1`)), jwt.ErrMalformed},
		{"b64 false (RFC 7797)", nil, esHeader(hdr("ES256", `,"kid":"es","b64":false`)), jwt.ErrMalformed},

		// RFC 9068 §2.1 and RFC 8725 §3.11: typ keeps ID tokens out.
		{"typ JWT", nil, esHeader(`{"alg":"ES256","kid":"es","typ":"JWT"}`), jwt.ErrType},
		{"typ missing", nil, esHeader(`{"alg":"ES256","kid":"es"}`), jwt.ErrType},
		{"typ AT+JWT is accepted", nil, esHeader(`{"alg":"ES256","kid":"es","typ":"AT+JWT"}`), nil},
		{"typ application/at+jwt is accepted", nil, esHeader(`{"alg":"ES256","kid":"es","typ":"application/at+jwt"}`), nil},
		{"typ as a number", nil, esHeader(`{"alg":"ES256","kid":"es","typ":1}`), jwt.ErrMalformed},

		// RFC 9068 §4: the issuer matches exactly.
		{"iss with trailing slash", nil, esWith(map[string]any{"iss": testIssuer + "/"}), jwt.ErrIssuer},
		{"iss in other case", nil, esWith(map[string]any{"iss": strings.ToUpper(testIssuer)}), jwt.ErrIssuer},
		{"iss missing", nil, esWith(nil, "iss"), jwt.ErrIssuer},
		{"iss as array", nil, esWith(map[string]any{"iss": []string{testIssuer}}), jwt.ErrInvalidClaim},

		{"aud missing", nil, esWith(nil, "aud"), jwt.ErrMissingClaim},
		{"aud []", nil, esWith(map[string]any{"aud": []string{}}), jwt.ErrAudience},
		{"aud empty string", nil, esWith(map[string]any{"aud": ""}), jwt.ErrAudience},
		{"aud 123", nil, esWith(map[string]any{"aud": 123}), jwt.ErrInvalidClaim},
		{"aud [123]", nil, esWith(map[string]any{"aud": []any{123}}), jwt.ErrInvalidClaim},
		{"aud of another API", nil, esWith(map[string]any{"aud": "https://other.example.com"}), jwt.ErrAudience},
		{"aud array containing ours", nil, esWith(map[string]any{"aud": []string{"x", testAudience}}), nil},

		{"exp missing", nil, esWith(nil, "exp"), jwt.ErrMissingClaim},
		{"exp 0", nil, esWith(map[string]any{"exp": 0}), jwt.ErrExpired},
		{"exp negative", nil, esWith(map[string]any{"exp": -1}), jwt.ErrExpired},
		{"exp in the past beyond leeway", nil, esWith(map[string]any{"exp": t0.Add(-time.Minute).Unix()}), jwt.ErrExpired},
		{"exp in the past within leeway", nil, esWith(map[string]any{"exp": t0.Add(-10 * time.Second).Unix()}), nil},
		{"exp fractional", nil, esWith(map[string]any{"exp": float64(t0.Unix()) + 3600.5}), nil},
		// RFC 7519 §2: NumericDate is a number, never a string.
		{"exp as a string", nil, esWith(map[string]any{"exp": "1800003600"}), jwt.ErrInvalidClaim},
		{"exp 1e300", nil, esRaw(strings.Replace(claims(nil), `"exp":1800003600`, `"exp":1e300`, 1)), jwt.ErrInvalidClaim},
		{"exp null", nil, esWith(map[string]any{"exp": nil}), jwt.ErrInvalidClaim},
		{"nbf in the future beyond leeway", nil, esWith(map[string]any{"nbf": t0.Add(2 * time.Minute).Unix()}), jwt.ErrNotYetValid},
		{"nbf in the future within leeway", nil, esWith(map[string]any{"nbf": t0.Add(10 * time.Second).Unix()}), nil},
		{"iat in the future beyond leeway", nil, esWith(map[string]any{"iat": t0.Add(2 * time.Minute).Unix()}), jwt.ErrNotYetValid},

		{"sub missing", nil, esWith(nil, "sub"), jwt.ErrMissingClaim},
		{"client_id missing", nil, esWith(nil, "client_id"), jwt.ErrMissingClaim},
		{"iat missing", nil, esWith(nil, "iat"), jwt.ErrMissingClaim},
		{"jti missing", nil, esWith(nil, "jti"), jwt.ErrMissingClaim},
		{"scope missing is no scope", nil, esWith(nil, "scope"), nil},
		{"scope with a double space", nil, esWith(map[string]any{"scope": "read  write"}), jwt.ErrInvalidClaim},
		{"scope as array", nil, esWith(map[string]any{"scope": []string{"read"}}), jwt.ErrInvalidClaim},
		{"scp array without scope", nil, esWith(map[string]any{"scp": []string{"read", "write"}}, "scope"), nil},
		{"scp string without scope", nil, esWith(map[string]any{"scp": "read write"}, "scope"), nil},
		{"scp with a number", nil, esWith(map[string]any{"scp": []any{"read", 1}}, "scope"), jwt.ErrInvalidClaim},
		{"scp ignored when scope is present", nil, esWith(map[string]any{"scp": 1}), nil},

		// RFC 9449 §6.1: "cnf" binds the token to a DPoP key by its
		// thumbprint. Any other confirmation method cannot be checked
		// here, and a token meant to be bound is never taken as a bearer
		// token: refused, not ignored.
		{"cnf with jkt", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": testJKT}}), nil},
		{"cnf with an mTLS thumbprint", nil, esWith(map[string]any{"cnf": map[string]any{"x5t#S256": testJKT}}), jwt.ErrInvalidClaim},
		{"cnf with jkt and a kid", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": testJKT, "kid": "k"}}), jwt.ErrInvalidClaim},
		{"cnf empty", nil, esWith(map[string]any{"cnf": map[string]any{}}), jwt.ErrInvalidClaim},
		{"cnf a string", nil, esWith(map[string]any{"cnf": testJKT}), jwt.ErrInvalidClaim},
		{"cnf jkt too short", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": testJKT[:42]}}), jwt.ErrInvalidClaim},
		{"cnf jkt padded", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": testJKT[:42] + "="}}), jwt.ErrInvalidClaim},
		{"cnf jkt in standard base64", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": strings.Repeat("+", 43)}}), jwt.ErrInvalidClaim},
		{"cnf jkt a number", nil, esWith(map[string]any{"cnf": map[string]any{"jkt": 1}}), jwt.ErrInvalidClaim},
		{"cnf jkt twice", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","cnf":{"jkt":"`+testJKT+`","jkt":"`+testJKT+`"}`, 1)), jwt.ErrInvalidClaim},
		{"CNF, a case variant", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","CNF":{"jkt":"`+testJKT+`"}`, 1)), jwt.ErrInvalidClaim},

		// RFC 7515 §4.1.4: without kid the key is chosen among those bound
		// to the token's algorithm, a bounded number of them.
		{"no kid, signed by a configured key", nil, esHeader(hdr("ES256", "")), nil},
		{"no kid, RS256", nil, rs.sign(t, jwt.RS256, hdr("RS256", ""), claims(nil)), nil},

		// RFC 7519 §4: duplicate names are refused; so are case variants
		// and escaped spellings, which other decoders would merge.
		{"duplicate claim keys", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","sub":"admin"`, 1)), jwt.ErrInvalidClaim},
		{"escaped duplicate claim key", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","\u0073ub":"admin"`, 1)), jwt.ErrInvalidClaim},
		{"case variant of a claim", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","SUB":"admin"`, 1)), jwt.ErrInvalidClaim},
		{"long-s variant of a claim", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","\u017fub":"admin"`, 1)), jwt.ErrInvalidClaim},
		{"duplicate unknown claims are allowed", nil, esRaw(strings.Replace(claims(nil), `"sub":"user-1"`, `"sub":"user-1","x":1,"x":2`, 1)), nil},
		{"claims are an array", nil, esRaw(`[` + claims(nil) + `]`), jwt.ErrMalformed},
		{"claims are not JSON", nil, esRaw(`{"iss":`), jwt.ErrMalformed},
		{"claims with trailing garbage", nil, esRaw(claims(nil) + `x`), jwt.ErrMalformed},
		// RFC 8259 §8.1: decoders would read U+FFFD where the verifier saw other bytes.
		{"invalid UTF-8 in a claim", nil, esRaw(strings.Replace(claims(nil), `"user-1"`, "\"user-\xff\"", 1)), jwt.ErrMalformed},

		// Shape: checked before anything is decoded.
		{"JWE, five parts", nil, parts[0] + ".a.b.c.d", jwt.ErrMalformed},
		{"JSON serialisation", nil, `{"payload":"` + parts[1] + `","signatures":[]}`, jwt.ErrMalformed},
		{"three dots", nil, valid + ".", jwt.ErrMalformed},
		{"100 000 dots", nil, strings.Repeat(".", 100000), jwt.ErrMalformed},
		{"1 MiB token", nil, parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2], jwt.ErrMalformed},
		{"invalid base64", nil, parts[0] + "." + parts[1][:10] + "!" + parts[1][11:] + "." + parts[2], jwt.ErrMalformed},
		{"standard base64 alphabet", nil, parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+", jwt.ErrMalformed},
		{"padded base64", nil, parts[0] + "=." + parts[1] + "." + parts[2], jwt.ErrMalformed},
		{"empty signature", nil, parts[0] + "." + parts[1] + ".", jwt.ErrMalformed},
		{"header not JSON", nil, enc("alg=ES256") + "." + parts[1] + "." + parts[2], jwt.ErrMalformed},
		{"empty", nil, "", jwt.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			if v == nil {
				v = main
			}
			p, err := v.Verify(t.Context(), tc.token)
			if tc.want == nil {
				if err != nil || p == nil {
					t.Fatalf("got %v, want success", err)
				}
				if p.SenderConstrained {
					t.Error("the verifier set SenderConstrained; only the Authenticator may")
				}
				return
			}
			if p != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v, want %v", p, err, tc.want)
			}
			wantAuth := auth.ErrInvalidCredential
			if tc.want == jwt.ErrExpired {
				wantAuth = auth.ErrExpired
			}
			if !errors.Is(err, wantAuth) {
				t.Errorf("got %v, want it to wrap %v", err, wantAuth)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("got %d requests to the jku/x5u server, want 0", n)
	}
}

// TestHostileThroughServer: through a real server and the Authenticator,
// every invalid token gets the same answer, whatever the reason, and the
// reason reaches only the hook.
func TestHostileThroughServer(t *testing.T) {
	es := newTestKey(t, jwt.ES256, "es", 0)
	other := newTestKey(t, jwt.ES256, "es", 0)
	v := newVerifier(t, jwt.Config{Algorithms: []string{jwt.ES256}, Keys: []jwt.PublicKey{es.public()}})
	var mu sync.Mutex // the hook runs on the server's goroutine
	var reasons []error
	a, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}, OnFailure: func(e auth.Event) {
		mu.Lock()
		reasons = append(reasons, e.Err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		io.WriteString(w, p.Subject)
	})))
	defer srv.Close()

	type answer struct {
		Status int
		WWW    string
		Body   string
	}
	do := func(tok string) answer {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)}
	}
	if got := do(es.token(t, claims(nil))); got.Status != 200 || got.Body != "user-1" {
		t.Fatalf("valid token: got %+v, want 200 user-1", got)
	}
	want := answer{401, `Bearer realm="api", error="invalid_token"`, `{"error":"invalid_token","message":"Authentication failed"}`}
	bad := map[error]string{
		jwt.ErrBadSignature: other.token(t, claims(nil)),
		jwt.ErrExpired:      es.token(t, claims(map[string]any{"exp": t0.Add(-time.Hour).Unix()})),
		jwt.ErrAudience:     es.token(t, claims(map[string]any{"aud": "x"})),
		jwt.ErrIssuer:       es.token(t, claims(map[string]any{"iss": "x"})),
		// 25 h: longer than DefaultMaxTokenLifetime.
		jwt.ErrLifetimeTooLong: es.token(t, claims(map[string]any{"exp": t0.Add(25 * time.Hour).Unix()})),
	}
	for reason, tok := range bad {
		mu.Lock()
		reasons = nil
		mu.Unlock()
		if diff := cmp.Diff(want, do(tok)); diff != "" {
			t.Errorf("%v: answer (-want +got):\n%s", reason, diff)
		}
		mu.Lock()
		if len(reasons) != 1 || !errors.Is(reasons[0], reason) {
			t.Errorf("hook: got %v, want %v", reasons, reason)
		}
		mu.Unlock()
	}
}
