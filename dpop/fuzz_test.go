package dpop_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/dpop"
)

var dpopSentinels = []error{
	dpop.ErrNoProof, dpop.ErrTooLarge, dpop.ErrMalformed, dpop.ErrType, dpop.ErrAlgorithm, dpop.ErrKey,
	dpop.ErrSignature, dpop.ErrMissingClaim, dpop.ErrMethod, dpop.ErrURI, dpop.ErrIssuedAt, dpop.ErrTokenHash,
	dpop.ErrReplay, dpop.ErrNonce, dpop.ErrKeyMismatch, dpop.ErrReplayCheck,
}

var authProofSentinels = []error{auth.ErrInvalidProof, auth.ErrUseNonce, auth.ErrProofKeyMismatch, auth.ErrUnavailable}

func wrapsOneOf(err error, list []error) bool {
	for _, s := range list {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzCheckProof feeds the checker raw proofs, and header and claims JSON
// that the target signs with an Ed25519 key of its own, so the fuzzer
// reaches the checks behind a valid signature. Invariants: no panic;
// every error wraps a sentinel of this package and one of package auth;
// an accepted proof is one encoding/json reads the same way (htm, htu,
// ath, a jwk without private members), and is refused when presented
// again.
func FuzzCheckProof(f *testing.F) {
	const tok = "the-access-token"
	k := newClientKey(f, dpop.EdDSA)
	es := newClientKey(f, dpop.ES256)
	c := newChecker(f, dpop.Config{Algorithms: []string{dpop.EdDSA, dpop.ES256}})
	hdr := k.header(f, dpop.EdDSA, nil)
	f.Add(k.proof(f, "GET", apiURL, tok), hdr, claims("GET", apiURL, tok, nil))
	f.Add(es.proof(f, "GET", apiURL, tok), es.header(f, dpop.ES256, nil), claims("GET", apiURL+"/", tok, nil))
	f.Add("a.b.c", k.header(f, dpop.EdDSA, map[string]any{"jwk": json.RawMessage(k.jwkJSON(f, map[string]any{"d": "AAAA"}))}), claims("POST", apiURL, tok, nil))
	f.Add(strings.Repeat(".", 10), `{"typ":"dpop+jwt","alg":"none"}`, `{"jti":"x","htm":"GET","htu":"`+apiURL+`","iat":"1"}`)
	f.Add("eyJ.eyJ.AAAA", `{"typ":"DPoP+JWT","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+strings.Repeat("A", 43)+`"},"crit":[]}`, `{"jti":"","JTI":"y","iat":1e400}`)
	f.Add("", hdr, `{"jti":"\u0078","htm":"GET","htu":"HTTPS://API.example.com:443/v1/./data","iat":1800000000.5,"ath":"`+ath(tok)+`"}`)
	priv := k.priv.(ed25519.PrivateKey)
	f.Fuzz(func(t *testing.T, raw, header, payload string) {
		check := func(proof string) {
			r := httptest.NewRequest("GET", apiURL, nil)
			err := c.CheckProof(r, proof, tok, k.jkt)
			if err != nil {
				if !wrapsOneOf(err, dpopSentinels) || !wrapsOneOf(err, authProofSentinels) {
					t.Fatalf("error %v wraps no sentinel", err)
				}
				return
			}
			parts := strings.Split(proof, ".")
			var h struct {
				JWK map[string]any `json:"jwk"`
			}
			var cl struct {
				HTM string `json:"htm"`
				HTU string `json:"htu"`
				ATH string `json:"ath"`
			}
			hb, _ := b64.DecodeString(parts[0])
			pb, _ := b64.DecodeString(parts[1])
			if json.Unmarshal(hb, &h) != nil || json.Unmarshal(pb, &cl) != nil {
				t.Fatalf("accepted %q, which encoding/json cannot read", proof)
			}
			if cl.HTM != "GET" || cl.ATH != ath(tok) || strings.ContainsAny(cl.HTU, "?#") {
				t.Fatalf("accepted claims %+v", cl)
			}
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := h.JWK[m]; ok {
					t.Fatalf("accepted a jwk with private member %q", m)
				}
			}
			if err := c.CheckProof(httptest.NewRequest("GET", apiURL, nil), proof, tok, k.jkt); !errors.Is(err, dpop.ErrReplay) {
				t.Fatalf("accepted proof presented again: got %v, want ErrReplay", err)
			}
		}
		check(raw)
		input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		check(input + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(input))))
	})
}
