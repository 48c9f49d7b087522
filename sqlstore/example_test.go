package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// Open a SQLite file (the embedded default) and keep API keys in it. The
// driver is imported by the program, not by sqlstore:
//
//	import _ "modernc.org/sqlite"
//
// The examples of this package are compiled, not run: running them would
// make a driver a dependency of this module, which every program importing
// it would inherit. The same code runs against SQLite and PostgreSQL in
// the tests of the nested module sqlstore/dbtest.
func Example() {
	dir, _ := os.MkdirTemp("", "audexum")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	// The key that seals the signing keys at rest: 32 random bytes
	// (openssl rand -base64 32) kept apart from the database and its
	// backups, here from the environment. Open refuses to run without
	// one unless told to store signing keys in clear
	// (InsecurePlaintextSigningKeys).
	kek, err := sqlstore.ParseKeyEncryptionKey(os.Getenv("AUTH_KEY_ENCRYPTION_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	keys, _ := apikey.NewManager(apikey.ManagerConfig{Store: store.APIKeys()})
	v, _ := apikey.NewVerifier(apikey.Config{Manager: keys})
	defer v.Close()

	key, rec, _ := keys.Create(ctx, apikey.CreateParams{Name: "billing", Owner: "billing-service"})
	p, err := v.Verify(ctx, key)
	fmt.Println(p.Subject, p.CredentialID == rec.ID, err)
	fmt.Println("schema version", store.SchemaVersion() == sqlstore.SchemaVersion())
}

// Let every process that shares the database drop a revoked key from its
// cache within about a second. Read the starting point before the
// verifier caches anything, then follow the change log.
func ExampleStore_Watch() {
	dir, _ := os.MkdirTemp("", "audexum")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	db, _ := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	defer db.Close()
	kek, err := sqlstore.ParseKeyEncryptionKey(os.Getenv("AUTH_KEY_ENCRYPTION_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	v, _ := apikey.NewVerifier(apikey.Config{Store: store.APIKeys()})
	defer v.Close()

	from, err := store.LatestChange(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	evict := func(c sqlstore.Change) {
		switch c.Kind {
		case sqlstore.KindAPIKey:
			v.Invalidate(c.ID)
		case sqlstore.KindAll: // the log may have lost changes: drop everything
			v.InvalidateAll()
		}
	}
	done := make(chan error, 1)
	go func() { done <- store.Watch(ctx, from, evict) }()

	cancel()
	fmt.Println(<-done)
}

// A server built from the toolkit learns of every change any process makes
// to the records it caches: here the CLI (a second handle on the same
// database, a second process as far as SQLite can tell) registers and then
// deletes an OAuth client while the server runs, and the server's
// ClientGate accepts the client's token, then refuses it. Start Follow
// once the caches exist; it applies each change as it appears in the log.
func ExampleStore_Follow() {
	dir, _ := os.MkdirTemp("", "audexum")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Every process sharing the database seals and opens the signing
	// keys with the same key-encryption key.
	kek, err := sqlstore.ParseKeyEncryptionKey(os.Getenv("AUTH_KEY_ENCRYPTION_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	open := func() (*sqlstore.Store, *sql.DB) {
		db, _ := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
		// 100 ms so the example is quick; the default is 1 s.
		store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek,
			PollInterval: 100 * time.Millisecond})
		if err != nil {
			panic(err)
		}
		return store, db
	}
	server, serverDB := open()
	defer serverDB.Close()
	cli, cliDB := open()
	defer cliDB.Close()

	// The server's caches.
	const issuer, api = "https://auth.example.com", "https://api.example.com"
	keys, _ := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: server.SigningKeys()})
	signer, _ := jwt.NewSigner(jwt.SignerConfig{Issuer: issuer, Keys: keys})
	tokens, _ := jwt.NewVerifier(jwt.Config{Issuer: issuer, Audiences: []string{api},
		Algorithms: []string{jwt.ES256}, KeyManager: keys})
	gate, _ := oauth.NewClientGate(oauth.ClientGateConfig{Verifier: tokens, Clients: server.Clients()})
	apiKeys, _ := apikey.NewVerifier(apikey.Config{Store: server.APIKeys()})
	defer apiKeys.Close()

	applied := make(chan sqlstore.Change, 16)
	done := make(chan error, 1)
	go func() {
		done <- server.Follow(ctx, sqlstore.Followers{APIKeys: apiKeys, Clients: gate, SigningKeys: keys,
			OnChange: func(c sqlstore.Change, err error) { applied <- c }})
	}()
	waitFor := func(id string) {
		for c := range applied {
			if c.Kind == sqlstore.KindClient && c.ID == id {
				return
			}
		}
	}

	registry, _ := oauth.NewClientManager(oauth.ClientManagerConfig{Clients: cli.Clients()})
	client, _, _ := registry.Register(ctx, oauth.Registration{Name: "backend", Type: oauth.ClientServer})
	waitFor(client.ID)
	tok, _ := signer.Sign(ctx, jwt.Claims{Subject: client.ID, ClientID: client.ID, Audience: []string{api}})
	_, err = gate.Verify(ctx, tok.Value)
	fmt.Println("new client:", err)

	registry.Delete(ctx, client.ID)
	waitFor(client.ID)
	_, err = gate.Verify(ctx, tok.Value)
	fmt.Println("deleted client:", errors.Is(err, oauth.ErrClientDeleted))

	cancel()
	fmt.Println(<-done)
}

// A fleet's throttles share one count: give each instance's Throttle the
// Limiter of its Store on the shared PostgreSQL database. (SQLite here, so
// the example runs anywhere; on SQLite one process is better served by
// auth.NewMemoryLimiter.)
func ExampleStore_Limits() {
	dir, _ := os.MkdirTemp("", "audexum")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, _ := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "auth.db")))
	defer db.Close()
	kek, err := sqlstore.ParseKeyEncryptionKey(os.Getenv("AUTH_KEY_ENCRYPTION_KEY"))
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, KeyEncryptionKey: kek})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	throttle, err := auth.NewThrottle(auth.ThrottleConfig{MaxFailures: 5, Limiter: store.Limits()})
	fmt.Println(throttle != nil, err)

	// What the Throttle does with it: count a failure of a client network.
	now := time.Date(2026, 11, 26, 12, 0, 15, 0, time.UTC)
	n, reset, err := store.Limits().Add(ctx, "fa:198.51.100.7", time.Minute, now)
	fmt.Println(n, reset, err)
}
