package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// Environment variables. Secrets come from the environment, never from
// flags, whose values any local user can read in the process list.
const (
	// envPepper, if set, is a base64 server pepper (at least 32 bytes)
	// mixed into API key hashes as pepper version 1.
	envPepper = "AUDEXUM_APIKEY_PEPPER"
	// envKEK, if set, is a 32-byte key (base64 or hex) that encrypts the
	// signing keys stored in the database (AES-256-GCM). See
	// keyEncryptionKey for what is used without it.
	envKEK = "AUDEXUM_KEY_ENCRYPTION_KEY"
)

// system is the database and everything built directly on it, shared by
// the serve command and the management commands.
type system struct {
	db       *sql.DB
	store    *sqlstore.Store
	pg       bool
	hasher   *apikey.Hasher
	keyStore apikey.Store
	keys     *apikey.Manager
	clients  oauth.ClientStore
	grants   oauth.GrantStore
	registry *oauth.ClientManager
	users    *userStore
	// signing and kek are set for the commands that use the signing
	// keys (openSigningSystem) only.
	signing *sqlstore.SigningKeys
	kek     kekChoice
	// onStoreError, if set before background work starts, receives the
	// store's background errors (the change-log watcher).
	onStoreError func(error)
}

// openSystem opens the database the flags select, applies migrations and
// builds the stores, for a command that does not use the signing keys.
func openSystem(ctx context.Context, cm common) (*system, error) {
	return openSystemWith(ctx, cm, nil, false)
}

// openSigningSystem is openSystem for a command that uses the signing
// keys: it also chooses the key-encryption key (keyEncryptionKey), and
// the Store seals keys stored in clear under it as it opens.
func openSigningSystem(ctx context.Context, cm common, sf signingFlags) (*system, error) {
	return openSystemWith(ctx, cm, &sf, false)
}

// openServeSystem is openSigningSystem for serve, the one command that
// creates the database when there is none.
func openServeSystem(ctx context.Context, cm common, sf signingFlags) (*system, error) {
	return openSystemWith(ctx, cm, &sf, true)
}

func openSystemWith(ctx context.Context, cm common, sf *signingFlags, create bool) (*system, error) {
	s := &system{pg: cm.postgres()}
	var err error
	if s.db, err = openDatabase(ctx, cm, create); err != nil {
		return nil, err
	}
	if err := s.openStore(ctx, cm, sf); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.buildStores(sf != nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openDatabase opens the database cm selects: PostgreSQL, or the SQLite
// file, which only create (serve) makes when it is missing.
func openDatabase(ctx context.Context, cm common, create bool) (*sql.DB, error) {
	var db *sql.DB
	var err error
	if cm.postgres() {
		db, err = sql.Open("pgx", cm.dsn())
	} else {
		if err := sqliteDatabase(ctx, cm, create); err != nil {
			return nil, err
		}
		db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(cm.dsn()))
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

// openStore opens s.store on s.db. For a command that uses the signing
// keys (sf set), it first chooses their key-encryption key
// (keyEncryptionKey, into s.kek).
func (s *system) openStore(ctx context.Context, cm common, sf *signingFlags) error {
	cfg := sqlstore.Config{Dialect: sqlstore.SQLite, OnError: func(err error) {
		if s.onStoreError != nil {
			s.onStoreError(err)
		}
	}}
	if s.pg {
		cfg.Dialect = sqlstore.Postgres
		cfg.WaitForNotification = func(ctx context.Context, c any) error {
			_, err := c.(*stdlib.Conn).Conn().WaitForNotification(ctx)
			return err
		}
	}
	if sf != nil {
		var err error
		if s.kek, err = keyEncryptionKey(ctx, s.db, cfg, cm, *sf); err != nil {
			return err
		}
		// keyEncryptionKey chooses no key only with the flag.
		cfg.KeyEncryptionKey, cfg.InsecurePlaintextSigningKeys = s.kek.key, sf.insecurePlaintext
	} else {
		// A command that does not use the signing keys never reads or
		// writes one (s.signing stays nil), so it needs no key, and
		// stores none in clear.
		cfg.InsecurePlaintextSigningKeys = true
	}
	store, err := sqlstore.Open(ctx, s.db, cfg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.store = store
	return nil
}

// buildStores builds the stores and managers on s.store; signing: also
// the signing keys'.
func (s *system) buildStores(signing bool) error {
	if p := os.Getenv(envPepper); p != "" {
		pepper, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return fmt.Errorf("%s must be base64", envPepper)
		}
		if s.hasher, err = apikey.NewHasher(apikey.HasherConfig{Peppers: map[int][]byte{1: pepper}, Current: 1}); err != nil {
			return err
		}
	}
	var err error
	s.keyStore = s.store.APIKeys()
	if s.keys, err = s.keyManager(0); err != nil {
		return err
	}
	s.clients, s.grants = s.store.Clients(), s.store.Grants()
	if s.registry, err = s.clientRegistry(0); err != nil {
		return err
	}
	if signing {
		s.signing = s.store.SigningKeys()
	}
	s.users, err = newUserStore(s.store)
	return err
}

// keyManager returns a key manager on the system's store that enforces
// the scope catalog; grace, if not zero, is the rotation grace period.
func (s *system) keyManager(grace time.Duration) (*apikey.Manager, error) {
	return apikey.NewManager(apikey.ManagerConfig{Store: s.keyStore, Hasher: s.hasher, RotationGrace: grace, ScopeCatalog: scopeCatalog})
}

// clientRegistry returns a client registry on the system's store that
// enforces the scope catalog (the one serve's authorization server
// builds enforces the same); grace, if not zero, is how long a rotated
// secret keeps working.
func (s *system) clientRegistry(grace time.Duration) (*oauth.ClientManager, error) {
	return oauth.NewClientManager(oauth.ClientManagerConfig{Clients: s.clients, ScopeCatalog: scopeCatalog, SecretGrace: grace})
}

func (s *system) Close() error {
	var errs []error
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}
