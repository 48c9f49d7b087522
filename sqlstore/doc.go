// Package sqlstore provides database/sql implementations of the toolkit's
// store interfaces, on SQLite (the embedded default, for one machine) and
// PostgreSQL (for several instances sharing one database), with one schema
// and embedded, versioned migrations.
//
// The package imports no database driver. Open the *sql.DB with the driver
// of your choice, name the engine in [Config.Dialect], give the
// key-encryption key of the signing keys in [Config.KeyEncryptionKey],
// and call [Open]:
//
//	import _ "modernc.org/sqlite" // pure Go, no cgo
//
//	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN("/var/lib/audexum/auth.db"))
//	…
//	kek, err := sqlstore.ParseKeyEncryptionKey(os.Getenv("AUTH_KEY_ENCRYPTION_KEY"))
//	…
//	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek})
//	…
//	keys, err := apikey.NewManager(apikey.ManagerConfig{Store: store.APIKeys()})
//
// or, for PostgreSQL with github.com/jackc/pgx/v5/stdlib:
//
//	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.Postgres, KeyEncryptionKey: kek})
//
// # Stores
//
// One Store serves every store interface of the toolkit, each through an
// accessor named after the type it returns:
//
//   - [Store.APIKeys], [Store.Clients], [Store.Grants]: the apikey.Store,
//     oauth.ClientStore and oauth.GrantStore;
//   - [Store.SigningKeys]: the jwt.KeyStore, so every instance signs with
//     and publishes the same keys, sealed with AES-256-GCM under
//     [Config.KeyEncryptionKey] (see there for keys in clear);
//   - [Store.Limits]: an auth.Limiter, so the throttles of a fleet count
//     as one; [Store.DPoPReplays]: a dpop.ReplayStore, so a fleet accepts
//     each DPoP proof once in all;
//   - [Store.AuditLog]: the audit trail. Lifecycle changes write their row
//     in their own transaction, with the actor of the context
//     ([WithActor]); a [FailureRecorder] and a [RequestRecorder] count
//     failed and successful authentications off the request path, and
//     [AuditLog.HourlyUsage], [AuditLog.DailyUsage] and
//     [AuditLog.RecentFailures] read one credential's traffic back;
//   - [Store.Users]: end users, who are also the accounts that own API
//     keys and OAuth clients ([Users.IsAccount] serves
//     oauth.AccountResolver); [Store.Sessions]: a portal's sign-in
//     sessions, stored by a hash of the session ID only.
//
// # Migrations
//
// [Open] applies the migrations the database lacks, in one transaction,
// and records them in the table schema_migrations. Several processes may
// start at once: they queue (on a PostgreSQL advisory lock, or on SQLite's
// write lock) and the later ones find the work done. A database migrated
// by a newer program is refused with [ErrSchemaTooNew] rather than used
// with a schema this code does not know. [Migrate] does the same without
// opening a Store.
//
// The tables have plain names (api_keys, oauth_clients, changes,
// schema_migrations, …): give the Store a database of its own, or on
// PostgreSQL a schema of its own (search_path), rather than sharing one
// with tables of another application or migration tool.
//
// # SQLite
//
// Build the DSN with [SQLiteDSN]: it turns on WAL (readers and the writer
// do not wait for each other), a busy timeout (writers from several
// connections or processes take turns instead of failing), foreign keys,
// and synchronous=FULL (a revocation that returned survives a power cut;
// see [SQLiteDSN] for the trade-off). Open refuses connections without
// foreign keys or a busy timeout ([ErrConnectionSetup]).
//
// # Atomicity
//
// Each operation that must not happen twice is one statement or one
// transaction that begins with a conditional write, so exactly one of
// several concurrent callers wins, on both engines and across processes:
// rotating an API key is a compare-and-swap on the old key's "replaced
// by" column; claiming an authorization code is UPDATE … WHERE used_at IS
// NULL; rotating a refresh token or a client secret first bumps a version
// on the grant's or client's row, which serializes every change to that
// family; a save of the signing key set is checked against the stored set
// under a lock, so a save computed from a stale copy fails with
// [ErrKeySetConflict] instead of overwriting another instance's rotation.
// Last-used times only move forward, so their batches may arrive late,
// twice or out of order.
//
// # Other processes' caches
//
// Servers cache what they read (API key verifiers the keys,
// oauth.ClientGate which clients exist, jwt.KeyManager the signing keys).
// Every change to those records is also written to a change log, in the
// same transaction as the change, whichever process makes it: API key
// creation, revocation and rotation ([KindAPIKey]), client creation,
// secret rotation and deletion ([KindClient]), and every save of the
// signing keys ([KindSigningKey]). [Store.Follow] applies the log to a
// server's caches, so a change made by any process takes effect in every
// process:
//
//	go store.Follow(ctx, sqlstore.Followers{
//		APIKeys:     apiKeyVerifier, // *apikey.Verifier
//		Clients:     clientGate,     // *oauth.ClientGate
//		SigningKeys: keyManager,     // *jwt.KeyManager
//	})
//
// On SQLite, Follow polls the log once per [Config.PollInterval] (1 s by
// default): a change reaches every process within 2 s. On PostgreSQL with
// [Config.WaitForNotification], LISTEN/NOTIFY announces it within 100 ms
// (Follow then holds one connection); a lost notification costs latency,
// never a change. Revocations of grants and access tokens are not on the
// log: each process's oauth.RevocationCache trusts "not revoked" for at
// most its MaxAge (1 s). [Store.Watch] is the lower-level loop, for caches
// of your own.
//
// # Errors
//
// Not-found and the other refusals are the sentinels of the interface's
// package (apikey.ErrNotFound, …). Every other error is the database's,
// wrapped with %w; the verifiers answer those with
// [github.com/audexum/auth.ErrUnavailable] (503), never with "allow" and
// never with "invalid".
//
// # Schema
//
// One schema serves both engines: times are BIGINT microseconds since the
// Unix epoch (UTC; NULL for "never"), identifiers are TEXT compared and
// ordered byte-wise (COLLATE "C" on PostgreSQL, BINARY on SQLite), hashes
// are BLOB/BYTEA, and scopes live in child tables, one row per scope.
package sqlstore
