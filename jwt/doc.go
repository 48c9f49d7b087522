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
// A token is refused (401 invalid_token) unless it is a compact JWS with
// "typ" "at+jwt", an allowed "alg" matching the one its key is bound to, the
// exact issuer, a valid signature, an unexpired "exp", an "aud" naming this
// server, "sub", "client_id", "iat" and "jti", and a lifetime ("exp" minus
// "iat") within [Config.MaxTokenLifetime]. The [auth.Principal] says
// whether a client acts for itself (sub equals client_id: client
// credentials) or for a user (authorization code), and carries the verified
// claims as JSON. A token bound to a DPoP key (RFC 9449 §6.1: "cnf" with
// "jkt") gives the key's thumbprint in Principal.KeyThumbprint, and the
// [auth.Authenticator] then accepts it only with a proof by that key
// (package dpop); a "cnf" of any other kind is refused.
// [Claims.KeyThumbprint] binds the tokens a [Signer] mints.
//
// When no key could ever be loaded for a token, or [Config.Revoked] fails,
// the request is answered 503 (auth.ErrUnavailable): neither allowed nor
// called invalid. [Verifier.Ready] reports whether keys are loaded, for
// readiness checks.
//
// # Signing
//
// [NewKeyManager] generates keys (ES256 by default), named by their RFC 7638
// thumbprint, and persists them through a [KeyStore]. [KeyManager.Rotate]
// activates the key published ahead and keeps retired keys published until
// their tokens have expired; [KeyManager.JWKSHandler] serves the public keys.
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
// responses are capped at [MaxJWKSSize] (a keyfunc fetches with its own
// limits); a failed fetch keeps the previous keys, and a successful one
// replaces them, so removed keys stop verifying.
// Claim names are matched exactly and duplicates refused, so the claims a
// handler decodes from the principal are the ones that were checked.
//
// Two rules bound the damage of a leaked signing key or a stolen token.
//
// The lifetime rule: "exp" minus "iat" may not exceed
// [Config.MaxTokenLifetime], 24 hours by default ([DefaultMaxTokenLifetime];
// package oauth mints 1-hour tokens), compared exactly, and an "iat" more
// than the leeway (30 seconds by default, at most 5 minutes) in the future
// is refused. Whatever "exp" it claims, a token accepted now is then
// refused from 24 hours and twice the leeway from now at the latest. The
// limit can be raised, not turned off; "iat" is required, as RFC 9068
// asks.
//
// The retirement rule, for a [KeyManager] as key source: a token signed with a
// retired key is refused if its "iat" is later than the key's retirement
// plus the leeway. The set keeps publishing a retired key for its
// KeyManagerConfig.MaxTokenLifetime plus [MaxLeeway], so the tokens it signed
// before verify until they expire, but whoever kept the key cannot mint new
// ones. Keys from JWKSURLs, JWKS or Keys carry no retirement time, so the
// rule does not apply to them: their issuer ends a key's use by no longer
// publishing it.
//
// A cached token is held to both rules as at first sight, and to the
// retirement of its key even when that becomes known after it was cached.
//
// Errors are a sentinel of this package (for logs, through the
// Authenticator's OnFailure hook), each of which matches the sentinel of
// package auth that chooses the constant response (see its Errors
// section).
package jwt
