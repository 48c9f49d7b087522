// Package jwt provides OAuth 2.0 JWT access tokens (RFC 9068): a
// [Verifier] for resource servers, and a [Signer] with a rotating [KeyManager]
// for the authorization server that mints them.
//
// # Verifying
//
// [NewVerifier] returns an [auth.Verifier] to put in [auth.Config]. It
// needs the issuer, this server's audience, an algorithm allow-list and a
// key source: the issuer's JWKS URL (fetched in the background, refreshed
// on an interval and, rate limited, when a token names an unknown key),
// given keys, an in-process [KeyManager], or the keyfunc
// (github.com/MicahParks/keyfunc/v3) a service already runs
// ([Config.Keyfunc]), whose keys are held to the same rules:
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
// [Verifier.Verify] lists the checks a token must pass (else 401
// invalid_token). The [auth.Principal] says whether a client acts for
// itself (sub equals client_id: client credentials) or for a user
// (authorization code), and carries the verified claims as JSON. A token
// bound to a DPoP key (RFC 9449 §6.1: "cnf" with "jkt") gives the key's
// thumbprint in Principal.KeyThumbprint, and the [auth.Authenticator] then
// accepts it only with a proof by that key (package dpop); a "cnf" of any
// other kind is refused. [Claims].KeyThumbprint binds the tokens a Signer
// mints.
//
// When no key could ever be loaded for a token, or [Config.Revoked] fails,
// the request is answered 503 ([auth.ErrUnavailable]): neither allowed
// nor called invalid. [Verifier.Ready] reports whether keys are loaded.
//
// # Signing
//
// [NewKeyManager] generates keys (ES256 by default), named by their RFC
// 7638 thumbprint, and persists them through a [KeyStore].
// [KeyManager.Rotate] activates the key published ahead and keeps retired
// keys published until their tokens have expired;
// [KeyManager.JWKSHandler] serves the public keys. [Signer.Sign] mints a
// token; every token it mints verifies with a Verifier pointed at the
// handler.
//
// # Security model
//
// The verifier follows RFC 8725. The algorithm comes from the allow-list
// and the key, never from the token alone: "none" and HMAC cannot be
// allowed, and each key verifies exactly one algorithm. Keys come only
// from the configured sources: "jku", "x5u" and embedded "jwk" headers are
// never followed. The issuer is checked before any key lookup, so tokens
// of other issuers cause no fetch; unknown key IDs cause at most one fetch
// per RefreshRateLimit, and a request waits for it at most RefreshWait.
// JWKS responses are capped at [MaxJWKSSize]; a failed fetch keeps the
// previous keys, and a successful one replaces them, so removed keys stop
// verifying. Claim names are matched exactly and duplicates refused, so
// the claims a handler decodes from the principal are the ones that were
// checked.
//
// Two rules bound the damage of a leaked signing key or a stolen token,
// cached tokens included: the lifetime rule ([Config.MaxTokenLifetime], 24
// hours by default and never off) makes a token accepted now worthless a
// day from now whatever its "exp"; the retirement rule ([Config.KeyManager])
// refuses tokens a retired key signed after its retirement, so whoever
// kept the key cannot mint new ones.
package jwt
