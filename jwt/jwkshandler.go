package jwt

import (
	"net/http"
	"strconv"
)

// JWKSHandler returns a handler that serves the key set's public keys as
// a JWK Set (RFC 7517 §5), for the authorization server's "jwks_uri". It
// answers GET and HEAD with Content-Type application/jwk-set+json and
// Cache-Control: public, max-age (KeyManagerConfig.JWKSMaxAge), and other
// methods with 405. Rotations show at once. Only public keys are served,
// each with "kid", "alg" and "use".
func (ks *KeyManager) JWKSHandler() http.Handler {
	cacheControl := []string{"public, max-age=" + strconv.FormatInt(int64(ks.maxAge.Seconds()), 10)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		doc := *ks.jwks.Load()
		h["Content-Type"] = []string{"application/jwk-set+json"}
		h["Cache-Control"] = cacheControl
		h["X-Content-Type-Options"] = []string{"nosniff"}
		h["Content-Length"] = []string{strconv.Itoa(len(doc))}
		if r.Method == http.MethodHead {
			return
		}
		w.Write(doc)
	})
}
