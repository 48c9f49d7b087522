package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/audexum/auth/sqlstore"
)

// kekFileName is the file in the data directory that holds the
// key-encryption key on SQLite when envKEK is not set.
const kekFileName = "key-encryption-key"

// signingFlags are the flags of the commands that use the signing keys:
// serve and signing-key rotate. Only these read the key-encryption key;
// the other commands never touch the signing keys, so an operator's shell
// needs no copy of it.
type signingFlags struct {
	insecurePlaintext bool
}

func (f *signingFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.insecurePlaintext, "insecure-plaintext-signing-keys", false,
		"store the signing keys in clear when no key-encryption key is set ("+envKEK+" on PostgreSQL; on SQLite, no DIR/"+kekFileName+
			" is generated): anyone who can read the database or a backup of it can then mint tokens. A key that is set is still used")
}

// kekChoice is the key-encryption key a command uses, and where it came
// from.
type kekChoice struct {
	key []byte // nil: signing keys are stored in clear
	// file is the key file's path when the key came from it (SQLite
	// without envKEK); created is true if this process wrote it.
	file    string
	created bool
}

// keyEncryptionKey chooses the key-encryption key of a command that uses
// the signing keys of db (opened with cfg):
//
//   - envKEK, if set, wins. On SQLite, if the data directory also has a
//     key file, the two must hold the same key: one of them would be
//     ignored, and the mistake would otherwise show only later, as keys
//     that do not open.
//   - On SQLite, the file DIR/key-encryption-key, generated with a new
//     random key on first use. Never over a database whose keys are
//     already sealed (the file was lost or the database copied without
//     it): a new key would not open them, so that is an error naming the
//     file. Nor with --insecure-plaintext-signing-keys.
//   - On PostgreSQL, nothing else: instances on several machines share
//     the keys, so they must share the key-encryption key, which a file
//     generated on each machine would not be. Without envKEK it is an
//     error, unless --insecure-plaintext-signing-keys is given.
func keyEncryptionKey(ctx context.Context, db *sql.DB, cfg sqlstore.Config, cm common, sf signingFlags) (kekChoice, error) {
	var fromEnv []byte
	if v := os.Getenv(envKEK); v != "" {
		k, err := sqlstore.ParseKeyEncryptionKey(v)
		if err != nil {
			return kekChoice{}, fmt.Errorf("%s: %w", envKEK, err)
		}
		fromEnv = k
	}
	if cm.postgres() {
		if fromEnv == nil && !sf.insecurePlaintext {
			return kekChoice{}, fmt.Errorf("PostgreSQL needs %s to encrypt the signing keys: set it to the same 32 random bytes in base64 on every instance (openssl rand -base64 32), or pass --insecure-plaintext-signing-keys to store them in clear", envKEK)
		}
		return kekChoice{key: fromEnv}, nil
	}

	if err := privateDir(cm.dataDir); err != nil {
		return kekChoice{}, err
	}
	file := filepath.Join(cm.dataDir, kekFileName)
	fromFile, err := readKEKFile(file)
	switch {
	case err == nil && fromEnv != nil && !bytes.Equal(fromEnv, fromFile):
		return kekChoice{}, fmt.Errorf("%s differs from the key in %s; unset the variable to use the file, or set it to the file's key", envKEK, file)
	case err == nil && fromEnv != nil:
		return kekChoice{key: fromEnv}, nil
	case err == nil:
		return kekChoice{key: fromFile, file: file}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return kekChoice{}, err
	case fromEnv != nil:
		return kekChoice{key: fromEnv}, nil
	}

	sealed, err := sealedSigningKeys(ctx, db, cfg)
	switch {
	case err != nil:
		return kekChoice{}, err
	case sealed:
		// Another process may have created the file and sealed the keys
		// since we looked.
		k, err := readKEKFile(file)
		if err == nil {
			return kekChoice{key: k, file: file}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return kekChoice{}, err
		}
		return kekChoice{}, fmt.Errorf("the database's signing keys are encrypted, but the key-encryption key file %s is missing; restore that file, or set %s to the key that encrypted them", file, envKEK)
	case sf.insecurePlaintext:
		return kekChoice{}, nil
	}
	k, created, err := createKEKFile(file)
	if err != nil {
		return kekChoice{}, fmt.Errorf("key-encryption key: %w", err)
	}
	return kekChoice{key: k, file: file, created: created}, nil
}

// sealedSigningKeys reports whether the signing keys of db are sealed
// under a key-encryption key, by loading them without one.
func sealedSigningKeys(ctx context.Context, db *sql.DB, cfg sqlstore.Config) (bool, error) {
	// Without a key, loading keys that are sealed fails with
	// ErrKeyEncryptionKeyRequired, which is the answer; the probe never
	// saves a key, so none is stored in clear.
	cfg.KeyEncryptionKey, cfg.InsecurePlaintextSigningKeys = nil, true
	probe, err := sqlstore.Open(ctx, db, cfg)
	if err != nil {
		return false, fmt.Errorf("open store: %w", err)
	}
	defer probe.Close()
	_, err = probe.SigningKeys().LoadKeys(ctx)
	if errors.Is(err, sqlstore.ErrKeyEncryptionKeyRequired) {
		return true, nil
	}
	return false, err
}

// readKEKFile reads and parses the key file name. If the file is
// missing, the error wraps [fs.ErrNotExist].
func readKEKFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	k, err := sqlstore.ParseKeyEncryptionKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// createKEKFile writes a new random key-encryption key to name, with mode
// 0600, unless name exists, and returns the key name holds; created
// reports whether this call wrote it. The key is written to a temporary
// file in the same directory and synced, then linked to name: the file
// never exists half written, and link, unlike rename, fails if name
// exists, so of processes starting at once exactly one key wins and the
// others read it.
func createKEKFile(name string) (key []byte, created bool, err error) {
	if created, err = linkNew(name, []byte(sqlstore.GenerateKeyEncryptionKey()+"\n"), 0o600); err != nil {
		return nil, false, err
	}
	key, err = readKEKFile(name)
	return key, created, err
}

// syncDir makes the entries of dir (a file just linked or renamed into
// it) durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
