// Package dpop provides DPoP, OAuth 2.0 Demonstrating Proof of Possession
// (RFC 9449): access and refresh tokens bound to a key pair the client
// holds, so that a copied token is useless without a fresh proof signed
// by that key.
//
// A resource server puts a [Checker] in [auth.Config].DPoP. The
// [auth.Authenticator] then accepts "Authorization: DPoP <token>" with
// exactly one DPoP header: it verifies the token with its usual verifier
// (which reads the token's binding, its "cnf" "jkt"), and the Checker
// checks the proof against the request and that binding. Bearer
// credentials keep working beside it, except a DPoP-bound token presented
// as Bearer, which is always refused. [auth.RequireDPoP] makes a route
// accept sender-constrained tokens only.
//
//	checker, err := dpop.NewChecker(dpop.Config{})
//	…
//	authn, err := auth.New(auth.Config{
//		Verifiers: []auth.Verifier{tokenVerifier},
//		DPoP:      checker,
//	})
//	mux.Handle("POST /v1/payments", auth.RequireDPoP(auth.RequireScopes("payments:write")(h)))
//
// The authorization server (package oauth) uses the same Checker at its
// token endpoint ([Checker.CheckTokenRequest]) to bind the tokens it
// issues.
//
// A client makes proofs with a [Signer], or lets a [Transport] put one on
// every request and handle the servers' nonces.
//
// # Checks
//
// Every check of RFC 9449 §4.3 is made, in an order that spends the
// signature check only on proofs that passed the cheap ones: the size
// (before anything is decoded), "typ" "dpop+jwt", an asymmetric "alg"
// from the allow-list, a public "jwk" that fits it (a private member is
// refused), "htm" and "htu" naming this request (RFC 3986 normalized; no
// query or fragment; behind trusted proxies, the scheme and host the
// client used), "iat" within a minute of now, "ath" the hash of the
// access token, the server's nonce when required, the signature, the
// key's RFC 7638 thumbprint equal to the token's "jkt", and last the
// "jti": each proof is accepted once ([ReplayStore]).
//
// # Failure responses
//
// Through the Authenticator, failures keep the generic bodies and carry
// both challenges (Bearer and DPoP with algs="…", RFC 9449 §7.1), the
// same bytes within each kind whatever the reason:
//
//	bad or replayed proof       401  WWW-Authenticate: Bearer realm="api"
//	                                 WWW-Authenticate: DPoP realm="api", error="invalid_dpop_proof", algs="ES256 EdDSA RS256 PS256"
//	                                 {"error":"invalid_dpop_proof","message":"Authentication failed"}
//	nonce missing or stale      401  … error="use_dpop_nonce" …, and DPoP-Nonce: <nonce>
//	                                 {"error":"use_dpop_nonce","message":"Authentication failed"}
//	proof by another key, bound 401  … error="invalid_token" … in both challenges
//	token as Bearer, DPoP with       {"error":"invalid_token","message":"Authentication failed"}
//	a bearer token
//	replay store down           503  Retry-After
//
// The reason, a sentinel of this package that matches the one of package
// auth choosing the answer, goes to the Authenticator's OnFailure hook.
//
// # Security model
//
// A proof binds one request (method and URI) at one time (Window) to the
// key, and is accepted once: a captured request replayed, proof and all,
// is refused, and a stolen token cannot be used without the key. The
// replay cache is bounded ([MemoryReplayCache]): full, it refuses new
// proofs (503) rather than forget ones that could be replayed. It is
// per process; a fleet shares one [ReplayStore], or a proof replayed
// to another instance within the window would pass there. Nonces
// ([Config.RequireNonce]) also stop proofs made in advance by someone
// who had brief use of the key.
//
// DPoP does not protect a token and key that are stolen together (the key
// should live in a hardware key store), and "htu" binds the URI without
// its query: proofs do not cover query parameters or bodies.
package dpop
