// Package oauth provides an OAuth 2.0 authorization server as net/http
// handlers: a client registry with hashed secrets, the token endpoint
// (client_credentials, authorization_code with PKCE, refresh_token with
// rotation), the authorization endpoint's protocol half, revocation,
// introspection, metadata and the JWKS, built to RFC 6749, RFC 7636, RFC
// 9700 (the OAuth 2.0 Security Best Current Practice), RFC 7009, RFC 7662,
// RFC 8414, RFC 9207 and RFC 9068. Access tokens are minted by the jwt
// package's [jwt.Signer] and verified by resource servers with
// [jwt.Verifier] behind an [auth.Authenticator].
//
// Most servers need a [Server] from [NewServer], its [Server.Handler]
// mounted behind [auth.RequireHTTPS], the application's [auth.ScopeCatalog]
// in Config.ScopeCatalog, clients registered through [Server.Registry],
// and a Config.Consent function that logs the user in and calls
// [Server.Approve] or [Server.Deny].
//
// # Quick start
//
//	keys, _ := jwt.NewKeySet(jwt.KeySetConfig{Store: keyStore})
//	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: keys})
//	self, _ := jwt.NewVerifier(jwt.Config{Issuer: issuer, Audiences: aud,
//		Algorithms: []string{jwt.ES256}, KeySet: keys})
//	srv, err := oauth.NewServer(oauth.Config{
//		Issuer:              issuer, // "https://auth.example.com"
//		Signer:              signer,
//		JWKS:                keys.JWKSHandler(),
//		AccessTokenVerifier: self,
//		Clients:             clientStore,
//		Grants:              grantStore,
//		ScopeCatalog:        catalog, // the same one the apikey Manager gets
//		Audience:            aud,
//		Consent:             consentPage,
//	})
//	if err != nil {
//		return err
//	}
//	http.ListenAndServeTLS(addr, cert, key, auth.RequireHTTPS(auth.HTTPSConfig{})(srv.Handler()))
//
// Resource servers verify the tokens with a [jwt.Verifier] whose
// Config.Revoked is [Server.IsRevoked] (or a call to the introspection
// endpoint), so revoked tokens stop working before they expire.
//
// # Resource servers in the same process
//
// Access tokens are self-contained, so two checks need state. Wrap the
// token verifier in a [ClientGate] (and give the gate, not the verifier,
// to the Authenticator and to Config.AccessTokenVerifier): the tokens of a
// deleted client then stop working, instead of living until they expire.
// Give the Server a [RevocationCache] as Config.Grants and its IsRevoked
// method to the verifier: the revocation check of every request is then
// answered from memory, and every revocation the Server makes is seen on
// the very next request. Both caches are bounded (a size cap; full, the
// least used of 8 answers drawn at random goes, expired ones first). A
// change made by another process reaches the gate when it is told
// ([ClientGate.Invalidate]; Store.Follow of
// github.com/audexum/auth/sqlstore does it for every process sharing the
// database) or after its CacheTTL, and a revocation made by another
// instance reaches the RevocationCache within its MaxAge.
//
// # Endpoints
//
//	POST     /oauth/token                              token endpoint (RFC 6749 §3.2)
//	GET|POST /oauth/authorize                          authorization endpoint (RFC 6749 §3.1)
//	POST     /oauth/revoke                             revocation (RFC 7009)
//	POST     /oauth/introspect                         introspection (RFC 7662)
//	GET      /.well-known/oauth-authorization-server   metadata (RFC 8414), also at
//	         /.well-known/openid-configuration
//	GET      /.well-known/jwks.json                    the signing keys
//
// Token, revocation and introspection errors are RFC 6749 §5.2 JSON whose
// "error_description" is a constant per error code; nothing from the
// request or from the internal reason is ever echoed. Every response of
// those endpoints carries Cache-Control: no-store and Pragma: no-cache.
// The reason, a sentinel error of this package, goes to Config.OnEvent;
// the package never logs.
//
// # Clients and secrets
//
// [Registry.Register] creates a server (client_credentials), web
// (authorization_code) or mobile (public, no secret) client with exact
// redirect URIs, and returns its secret once:
//
//	adxcs_<43 base62 characters><6 character checksum>
//
// 256 random bits, only characters that never need URL or form encoding,
// a prefix that secret scanners can match. The store keeps its SHA-256
// only, compared in constant time: with this much entropy a fast hash is
// as safe as a slow one, and a password hash on the token path would be a
// denial-of-service lever. [Registry.RotateSecret] issues a new secret and
// keeps the old one valid for a grace period. Clients authenticate with
// client_secret_basic (RFC 6749 §2.3.1, form-urlencoded ID and secret) or
// client_secret_post, never both; repeated failures for one client ID are
// answered 429 with Retry-After.
//
// # Authorization code flow
//
// The application owns users and pages; the package owns the protocol.
// [Server.ParseAuthorizeRequest] validates the request: problems with the
// client or its redirect URI are shown as a 400 page and never redirected
// (an unverified redirect URI is how codes are stolen); other problems are
// redirected with "error", "state" and "iss". The application then logs
// the user in, asks for consent and calls [Server.Approve], which stores a
// single-use code bound to the client, redirect URI, user, scopes and
// PKCE challenge, or [Server.Deny]. Pages of this flow send
// X-Frame-Options: DENY, CSP frame-ancestors 'none' and Referrer-Policy:
// no-referrer (see [SetPageHeaders]).
//
// # Security model
//
//   - PKCE with S256 is required of every client, confidential ones
//     included (RFC 9700 §2.1.1); "plain" is refused.
//   - Redirect URIs are compared as exact strings (RFC 9700 §2.1), except
//     that the port of an http loopback IP redirect URI may vary (RFC 8252
//     §7.3). Registration accepts only https, or http on loopback.
//   - The client is authenticated before any code or token is looked at.
//   - Codes are claimed in one atomic store step: of concurrent
//     redemptions exactly one wins, and a replayed code revokes every
//     token issued from it, also when the replay races the first
//     redemption (the winner then gets a token that is already revoked).
//   - Refresh tokens rotate on every use. Presenting a rotated token
//     again within Config.RefreshGrace (for clients that refresh
//     concurrently) supersedes the current one, so a grant never has two
//     live refresh tokens; after it, the whole grant is revoked (RFC 9700
//     §4.14.2).
//   - With Config.DPoP (a dpop.Checker), tokens can be sender-constrained
//     (RFC 9449): a token request with a valid DPoP proof gets an access
//     token bound to the proof's key (token_type "DPoP"); a public
//     client's refresh tokens are bound to it too, and refreshing them
//     takes a proof by the same key (RFC 9700 §2.2.2), checked before the
//     rotation rules, so a copy without the key can neither be used nor
//     revoke the grant; dpop_jkt binds a code to the key (§10). A client
//     registered with RequireDPoP gets no token without a proof.
//   - Codes and refresh tokens, like client secrets, are stored only as
//     SHA-256 hashes.
//   - With Config.ScopeCatalog, no scope outside the catalog is
//     registered, authorized or put in a token, whatever a stored client
//     or grant says: the request is answered invalid_scope. Scopes are
//     compared case-sensitively (RFC 6749 §3.3).
//   - The password and implicit grants are not supported (RFC 9700 §2.4,
//     §2.1.2).
//   - A store or signer failure is 503 temporarily_unavailable: never a
//     token, never a verdict on the request.
//
// # Stores
//
// [ClientStore] and [GrantStore] are small interfaces whose every method
// is one atomic step, so a SQL implementation does each in one statement
// or transaction. [NewMemoryClientStore] and [NewMemoryGrantStore] keep
// them in memory; the oauthtest package holds the contract suites every
// implementation must pass.
package oauth
