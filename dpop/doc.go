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
// # Checks and failures
//
// Every check of RFC 9449 §4.3 is made, the cheap ones before the
// signature (the list is on [Checker.CheckProof]), and each proof is
// accepted once ([ReplayStore]). Through the Authenticator a refused proof
// gets one of the constant answers listed under "Failure responses" in
// package auth (invalid_dpop_proof, use_dpop_nonce, invalid_token, or 503
// when the replay store is down), with both challenges; the reason, a
// sentinel of this package matching auth's, goes to the OnFailure hook.
//
// # Security model
//
// A proof binds one request (method and URI) at one time (Window) to the
// key, and is accepted once: a captured request replayed, proof and all,
// is refused, and a stolen token cannot be used without the key. The
// [MemoryReplayCache] is bounded (full, it answers 503 rather than forget)
// and per process: a fleet shares one [ReplayStore]. Nonces
// ([Config.RequireNonce]) also stop proofs made in advance by someone
// who had brief use of the key.
//
// DPoP does not protect a token and key that are stolen together (the key
// should live in a hardware key store), and "htu" binds the URI without
// its query: proofs do not cover query parameters or bodies.
package dpop
