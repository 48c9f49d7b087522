// Package auth provides net/http middleware that authenticates API
// callers by their Bearer credential (an API key or an OAuth 2.0 access
// token), puts the authenticated [Principal] in the request context, checks
// scopes per route, and answers every failure with a generic, RFC 6750
// shaped response.
//
// Most servers need three pieces, in this order:
//
//   - [RequireHTTPS], which refuses plain HTTP (credentials must never
//     cross the network in clear);
//   - an [Authenticator] from [New], whose [Authenticator.Handler] verifies
//     the credential with the [Verifier] that claims its shape: the apikey
//     package's verifier for API keys, the jwt package's for access tokens;
//   - [RequireScopes] or [RequireAnyScope] on each route, and, on routes
//     that act for a person, [RequireUser] (only a user's own consent, an
//     authorization-code token, will do) or [RequireAccount] (also an API
//     key or a client-credentials token of an application that the
//     person's account owns).
//
// Declare the server's scopes once, in a [ScopeCatalog], and give it to
// every place that issues credentials (apikey.ManagerConfig, oauth.Config)
// so that none carries a scope the server does not define. Scopes are
// case-sensitive everywhere: "Data:Read" is not "data:read".
//
// A [Throttle] in [Config.Throttle] refuses callers that keep failing;
// [Authenticator.Ready] tells a health check whether every verifier has
// what it needs. [Config.DPoP] accepts sender-constrained tokens (see
// below).
//
// # Quick start
//
//	authn, err := auth.New(auth.Config{
//		Verifiers: []auth.Verifier{keyVerifier, tokenVerifier},
//		OnFailure: auth.LogFailures(logger),
//	})
//	if err != nil {
//		return err
//	}
//	mux := http.NewServeMux()
//	mux.Handle("GET /v1/data", auth.RequireScopes("data:read")(dataHandler))
//	handler := auth.RequireHTTPS(auth.HTTPSConfig{})(authn.Handler(mux))
//
// In a handler, [FromContext] returns the principal.
//
// # Failure responses
//
// The caller learns which kind of failure happened and nothing more: each
// response below is the same bytes whatever the internal reason (an
// expired key, an unknown key and a bad signature cannot be told apart).
// All carry Content-Type: application/json and Cache-Control: no-store.
//
//	no credential (or another scheme)  401  WWW-Authenticate: Bearer realm="api"
//	                                        {"error":"unauthorized","message":"Authentication failed"}
//	two Authorization headers, or a    400  WWW-Authenticate: Bearer realm="api", error="invalid_request"
//	header and a query credential           {"error":"invalid_request","message":"Authentication failed"}
//	invalid, expired, revoked or       401  WWW-Authenticate: Bearer realm="api", error="invalid_token"
//	unknown credential                      {"error":"invalid_token","message":"Authentication failed"}
//	valid credential, missing scope    403  WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="…"
//	                                        {"error":"insufficient_scope","message":"Insufficient scope"}
//	plain HTTP                         403  Connection: close
//	                                        {"error":"https_required","message":"HTTPS is required"}
//	verifier's store or keys down      503  Retry-After: 5
//	                                        {"error":"temporarily_unavailable","message":"Authentication is temporarily unavailable"}
//	too many failures, or over the     429  Retry-After: seconds left in the window
//	rate limit (with a Throttle)            {"error":"too_many_requests","message":"Too many requests"}
//
// The reason, a sentinel error (see Errors), goes to [Config.OnFailure];
// [LogFailures] logs it with log/slog. The package never logs by itself.
//
// With [Config.DPoP] set, every 401 and 400 above also carries the DPoP
// challenge with the proof algorithms (RFC 9449 §7.1), for example
//
//	WWW-Authenticate: Bearer realm="api", error="invalid_token"
//	WWW-Authenticate: DPoP realm="api", error="invalid_token", algs="ES256 EdDSA RS256 PS256"
//
// and two more answers exist, each constant:
//
//	bad, replayed or missing DPoP      401  WWW-Authenticate: Bearer realm="api"
//	proof                                   WWW-Authenticate: DPoP realm="api", error="invalid_dpop_proof", algs="…"
//	                                        {"error":"invalid_dpop_proof","message":"Authentication failed"}
//	proof without the server's nonce   401  the same, error="use_dpop_nonce", and DPoP-Nonce: <nonce>
//	                                        {"error":"use_dpop_nonce","message":"Authentication failed"}
//
// A proof by another key than the token's, a DPoP-bound token sent as
// Bearer and the DPoP scheme with a bearer token get the invalid_token
// answer; a proof sent beside a Bearer credential gets invalid_request.
//
// # Errors
//
// Every package of this module reports failures with the sentinels of its
// errors.go, matched with [errors.Is]. This package's sentinels are the
// meanings they share: a package's sentinel that shares one matches it as
// well as itself (jwt.ErrExpired, "jwt: token expired", matches
// [ErrExpired]; apikey.ErrNotFound matches [ErrUnknownCredential]; every
// package's ErrInvalidConfig matches [ErrInvalidConfig]), so a hook
// matches the precise reason or the shared meaning:
//
//	switch {
//	case errors.Is(e.Err, apikey.ErrSecretMismatch):
//		// someone who knows a key's ID is guessing its secret
//	case errors.Is(e.Err, auth.ErrExpired):
//		// an expired credential, whatever its kind
//	}
//
// Verifiers return their sentinel itself, so refusing a credential
// allocates no error. Detail is added with fmt.Errorf("%w: detail", err):
// every message reads "package: reason[: detail]". A sentinel that shares
// no meaning (apikey.ErrDuplicateID, oauth.ErrInvalidGrant) is a plain
// errors.New.
//
// The [Authenticator] answers by the first of this package's sentinels
// that errors.Is meets in the error; each declares its row of the table
// above. A [Verifier]'s error must mean an invalid_token row or
// [ErrUnavailable]; a [ProofChecker]'s, [ErrInvalidProof], [ErrUseNonce],
// [ErrProofKeyMismatch] or [ErrUnavailable]. Anything else they return is
// wrapped with [ErrInvalidCredential] or [ErrInvalidProof] ([ErrUnavailable]
// if it matches that through an Is method of its own), so a plug-in can
// neither answer as the request parser does nor have a credential it
// refused taken for no credential at all.
//
// Constructors return an error matching [ErrInvalidConfig] for an
// unusable configuration; [RequireHTTPS], which has no error to return,
// panics with one when the handler chain is built, never on a request.
//
// # Security model
//
// The credential comes only from a single Authorization header with the
// Bearer scheme (RFC 6750 §2.1). Several Authorization headers are refused
// rather than resolved, since a proxy and this server might pick different
// ones. A credential in the URL query (access_token) is never used, since
// URLs end up in logs and browser history: the request is refused and the
// exposure reported as [ErrCredentialInURL] so the operator can rotate the
// credential. Form bodies are never read.
//
// The credential's length ([Config.MaxCredentialLength]) and syntax are
// checked first, without allocating. Then exactly one [Verifier] sees it,
// chosen by shape ([ShapeMatcher]), so an API key never reaches a JWT
// parser and a token never reaches the key store; a shape no verifier
// claims is refused without calling any.
//
// Everything fails closed: an error a verifier did not classify, a
// verifier that returns no principal, and a scope check on a route that no
// Authenticator guards are all refusals. A verifier that cannot reach its
// store or keys answers [ErrUnavailable]: 503, neither a pass nor a "bad
// credential".
//
// # Sender-constrained tokens
//
// A bearer token works for whoever holds a copy. A DPoP-bound token (its
// "cnf" claim names a key, [Principal.KeyThumbprint]) works only as
// "Authorization: DPoP <token>" with one DPoP header holding a fresh proof
// signed by that key. The Authenticator verifies the token as for Bearer,
// then hands the proof to the [ProofChecker], so verifiers stay about
// credentials alone; [RequireDPoP] makes a route accept nothing else.
// There is no downgrade: a bound token presented as Bearer is refused,
// with or without Config.DPoP, and a proof cannot make a bearer token
// sender-constrained.
//
// # Throttling and attempt limits
//
// Every limiter of this module (API keys and tokens in a [Throttle],
// client secrets, sign-in) counts with one [AttemptCounter], whose rules
// keep a burst from evaluating more than the limit and a stranger from
// locking anyone out, and one client-network rule, [ClientNetwork].
// [PasswordAttempts] is the policy for passwords. Counts live in a
// [Limiter]; a fleet counts as one through a shared Limiter.
//
// # Context
//
// [NewContext] and [FromContext] are the only way to store and read the
// principal: the context key is unexported. A [Principal] may be shared by
// concurrent requests (verifiers cache them); treat it as read-only.
package auth
