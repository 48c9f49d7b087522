// Package jwt provides OAuth 2.0 JWT access tokens (RFC 9068): a
// [Verifier] for resource servers, and a [Signer] with a rotating [KeySet]
// for the authorization server that mints them.
//
// # Verifying
//
// [NewVerifier] returns an [auth.Verifier] to put in [auth.Config]. It
// needs the issuer, this server's audience, an algorithm allow-list and a
// key source: the issuer's JWKS URL (fetched in the background, refreshed
// on an interval and, rate limited, when a token names an unknown key),
// given keys, or an in-process [KeySet]:
//
//	v, err := jwt.NewVerifier(jwt.Config{
//		Issuer:     "https://auth.example.com",
//		Audiences:  []string{"https://api.example.com"},
//		Algorithms: []string{jwt.ES256},
//		JWKSURLs:   []string{"https://auth.example.com/.well-known/jwks.json"},
//		CacheSize:  10000,
//	})
//	…
//	defer v.Close()
//	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
//
// A token is refused (401 invalid_token) unless it is a compact JWS with
// "typ" "at+jwt", an allowed "alg" matching the one its key is bound to, the
// exact issuer, a valid signature, an unexpired "exp", an "aud" naming this
// server, and "sub", "client_id", "iat" and "jti". The [auth.Principal] says
// whether a client acts for itself (sub equals client_id: client
// credentials) or for a user (authorization code), and carries the verified
// claims as JSON.
//
// When no key could ever be loaded for a token, or [Config.Revoked] fails,
// the request is answered 503 (auth.ErrUnavailable): neither allowed nor
// called invalid. [Verifier.Ready] reports whether keys are loaded, for
// readiness checks.
//
// # Signing
//
// [NewKeySet] generates keys (ES256 by default), named by their RFC 7638
// thumbprint, and persists them through a [KeyStore]. [KeySet.Rotate]
// activates the key published ahead and keeps retired keys published until
// their tokens have expired; [KeySet.JWKSHandler] serves the public keys.
// [Signer.Sign] mints a token; every token it mints verifies with a
// Verifier pointed at the handler.
//
// # Security model
//
// The verifier follows RFC 8725. The algorithm comes from the allow-list and
// the key, never from the token alone: "none" and HMAC cannot be allowed,
// and each key verifies exactly one algorithm. Keys come only from the
// configured sources: "jku", "x5u" and embedded "jwk" headers are never
// followed. The issuer is checked before any key lookup, so tokens of
// other issuers cause no fetch; unknown key IDs cause at most one fetch per
// RefreshRateLimit, and a request waits for it at most RefreshWait. JWKS
// responses are capped at [MaxJWKSSize]; a failed fetch keeps the previous
// keys, and a successful one replaces them, so removed keys stop verifying.
// Claim names are matched exactly and duplicates refused, so the claims a
// handler decodes from the principal are the ones that were checked.
//
// Errors wrap both a sentinel of this package (for logs, through the
// Authenticator's OnFailure hook) and a sentinel of package auth, which
// chooses the constant response.
package jwt
