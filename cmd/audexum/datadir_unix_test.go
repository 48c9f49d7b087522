//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDatabaseFilesPrivate: with the usual umask (022, under which SQLite
// alone would create the database 0644), the database, its -wal and -shm
// files, the key-encryption key file and the TLS key are readable by
// their owner only, once serve has started and another process has
// written while it runs.
func TestDatabaseFilesPrivate(t *testing.T) {
	// Process-wide, and inherited by the commands the test starts; the
	// tests of this package do not run in parallel.
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })

	e := newEnv(t)
	s := e.startServer()
	var k createdKey
	e.jsonOK(&k, "apikey", "create", "--name", "perm", "--scope", "data:read", "--json")
	if code, _, _ := s.do(t, "GET", "/v1/data", k.Key, nil); code != 200 {
		t.Fatalf("GET /v1/data with the new key: %d", code)
	}
	for _, name := range []string{"audexum.db", "audexum.db-wal", "audexum.db-shm", kekFileName, keyFileName} {
		fi, err := os.Stat(filepath.Join(e.dataDir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, perm)
		}
	}
}
