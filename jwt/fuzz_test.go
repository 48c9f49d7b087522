package jwt_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/jwt"
)

var jwtSentinels = []error{
	jwt.ErrMalformed, jwt.ErrAlgorithm, jwt.ErrType, jwt.ErrIssuer, jwt.ErrUnknownKey,
	jwt.ErrBadSignature, jwt.ErrAudience, jwt.ErrExpired, jwt.ErrNotYetValid, jwt.ErrLifetimeTooLong, jwt.ErrRetiredKey,
	jwt.ErrMissingClaim, jwt.ErrInvalidClaim, jwt.ErrRevoked, jwt.ErrNoKeys, jwt.ErrRevocationCheck,
}

var authSentinels = []error{auth.ErrInvalidCredential, auth.ErrExpired, auth.ErrRevoked, auth.ErrUnavailable}

func isOneOf(err error, list []error) bool {
	for _, s := range list {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzVerify feeds the verifier raw tokens, and header and payload JSON
// that the target signs itself, so the fuzzer reaches the claim checks
// behind a valid signature. Invariants: no panic; every error wraps a
// sentinel of this package and one of package auth; an accepted token's
// principal agrees with encoding/json's reading of its claims.
func FuzzVerify(f *testing.F) {
	k := newTestKey(f, jwt.EdDSA, "k1", 0)
	es := newTestKey(f, jwt.ES256, "k2", 0)
	v := newVerifier(f, jwt.Config{
		Algorithms: []string{jwt.EdDSA, jwt.ES256},
		Keys:       []jwt.PublicKey{k.public(), es.public()},
		CacheSize:  16,
	})
	valid := k.token(f, claims(nil))
	f.Add(valid, k.header(), claims(nil))
	f.Add(es.token(f, claims(nil)), es.header(), claims(map[string]any{"aud": []string{"a", testAudience}}))
	f.Add(valid+".", `{"alg":"none"}`, `{"sub":"a","sub":"b"}`)
	f.Add(strings.Repeat(".", 10), `{"alg":"EdDSA","typ":"AT+JWT"}`, claims(map[string]any{"scp": []string{"a"}}, "scope", "kid"))
	f.Add("eyJ.eyJ.AAAA", `{"alg":"EdDSA","kid":"k1","typ":"at+jwt","crit":[]}`, `{"iss":"https://auth.example.com","exp":1e300}`)
	f.Add("", `{"alg":"EdDSA","kid":"k\u0031","typ":"application/at+jwt"}`, `{"\u0069ss":"x","exp":"1"}`)
	f.Add(`{"payload":"x"}`, `[]`, `{"aud":[1,{"a":[]}],"exp":-0.5e1}`)
	f.Add("", k.header(), claims(map[string]any{"cnf": map[string]any{"jkt": testJKT}}))
	priv := k.priv.(ed25519.PrivateKey)
	f.Fuzz(func(t *testing.T, raw, header, payload string) {
		check := func(tok string) {
			p, err := v.Verify(t.Context(), tok)
			if err != nil {
				if p != nil {
					t.Fatalf("got a principal with error %v", err)
				}
				if !isOneOf(err, jwtSentinels) || !isOneOf(err, authSentinels) {
					t.Fatalf("error %v wraps no sentinel", err)
				}
				return
			}
			var c struct {
				Iss      string `json:"iss"`
				Sub      string `json:"sub"`
				ClientID string `json:"client_id"`
				JTI      string `json:"jti"`
				Cnf      struct {
					JKT string `json:"jkt"`
				} `json:"cnf"`
			}
			if err := json.Unmarshal(p.Claims, &c); err != nil {
				t.Fatalf("accepted claims do not decode: %v", err)
			}
			if c.Iss != testIssuer || p.Issuer != testIssuer || c.Sub != p.Subject || c.ClientID != p.ClientID || c.JTI != p.CredentialID ||
				c.Cnf.JKT != p.KeyThumbprint || p.SenderConstrained {
				t.Fatalf("principal %+v disagrees with encoding/json's reading %+v", p, c)
			}
			if p.Method != auth.MethodClientCredentials && p.Method != auth.MethodAuthorizationCode {
				t.Fatalf("got method %v", p.Method)
			}
		}
		check(raw)
		input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		check(input + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(input))))
	})
}
