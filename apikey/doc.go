// Package apikey provides API keys for the auth package: a key format with
// a checksum, generation that shows a key exactly once, hashed storage,
// rotation and revocation ([Manager]), and a [Verifier] that plugs into an
// [auth.Authenticator].
//
// # Quick start
//
// Create a [Manager] on a [Store] ([MemoryStore] here; package sqlstore
// for a database), build a [Verifier] on it, and give the Verifier to
// [auth.New]:
//
//	store := apikey.NewMemoryStore()
//	mgr, err := apikey.NewManager(apikey.ManagerConfig{Store: store})
//	v, err := apikey.NewVerifier(apikey.Config{Manager: mgr})
//	defer v.Close()
//	authn, err := auth.New(auth.Config{Verifiers: []auth.Verifier{v}})
//	mux.Handle("GET /v1/data", authn.Handler(auth.RequireScopes("data:read")(h)))
//	http.ListenAndServeTLS(addr, cert, key, auth.RequireHTTPS(auth.HTTPSConfig{})(mux))
//
// [Manager.Create] returns the key once; only its hash is stored. Clients
// send it as "Authorization: Bearer <key>".
//
// Give the Manager the server's [auth.ScopeCatalog]
// ([ManagerConfig.ScopeCatalog]) to refuse keys with a scope the server
// does not define ("data:raed", or "Data:Read": scopes are case-sensitive).
//
// # Key format
//
//	<prefix>_<env>_<id>_<secret><checksum>
//	adx_live_mHIcBNz8KnC9_RKWjUGsI8QXvnG0oQLbOI1jPuuEWx3wT35D8Cy
//
// The prefix is 2 to 8 lower-case letters or digits ([DefaultPrefix],
// "adx"); env is "live" or "test"; id is 12 base62 characters, random and
// public (it is the store's key and safe to log); secret is 32 base62
// characters (190 bits) from crypto/rand; checksum is the CRC-32/IEEE of
// everything before it, as an unsigned number in base62, left-padded with
// "0" to 6 characters. Base62 digits are in the order 0-9, A-Z, a-z.
//
// The checksum lets [Parse] and the Verifier refuse a mistyped, truncated
// or made-up key without touching the store and without allocating. Only
// "_" separates the fields and the key is plain ASCII, so a double-click
// selects all of it, and secret scanners (GitHub secret scanning, gitleaks,
// trufflehog) can find leaked keys with this regular expression (for the
// default prefix; put yours in place of "adx"):
//
//	\badx_(live|test)_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}\b
//
// and confirm a match offline by checking its checksum with [Parse].
//
// # Storage
//
// A [Record] holds the key's ID and a hash of the whole key (SHA-256, or
// HMAC-SHA256 with a versioned server pepper, see [Hasher]), never any part
// of its secret. Keys are compared by hash in constant time. A slow hash (bcrypt, argon2) is not needed and not used: keys are
// random and long, so a stolen hash cannot be reversed by guessing, and a
// fast hash keeps verification cheap.
//
// # Lifecycle
//
// Keys expire after 90 days unless created with another TTL or, by
// explicit choice, with none. [Manager.Rotate] replaces a key and lets the
// old one work for a grace period; [Manager.Revoke] stops a key;
// [Manager.Expiring] lists keys to send expiry notices for.
//
// # Verification and caching
//
// [Verifier.Verify] lists its checks. Every refusal is the same 401 to the
// client; the reason goes to the Authenticator's OnFailure hook. A correct
// checksum and a known ID with a wrong secret is reported as
// [ErrSecretMismatch]: not a typo but someone forging keys for an ID they
// know. A store error is answered 503, never 401 and never allowed.
//
// Looked-up keys and unknown IDs are cached briefly ([Config.CacheTTL]).
// While a key's record is cached, the key that last matched its hash is
// kept in memory (masked), so a repeated key is confirmed with a
// constant-time comparison instead of a hash: the process already sees
// every key sent to it, and nothing about a key is ever written anywhere
// but as a hash. Changes through the [Manager] the Verifier was built on
// take effect on the very next request. Last-use times are recorded in
// memory and written to the store in the background
// ([Config.LastUsedInterval]), so the store is not on the request path.
package apikey
