package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestDataDirOpenToOthers: serve, and the management commands, which use
// the same secrets, refuse a data directory that group or others may
// read, write or enter, with one line saying the chmod that fixes it;
// after that chmod they work.
func TestDataDirOpenToOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not say who may read a directory on Windows")
	}
	tests := []struct {
		mode os.FileMode
		how  string
	}{
		{0o755, "readable"},
		{0o750, "readable"},   // the group is others too
		{0o730, "writable"},   // others could replace the database or the key file
		{0o701, "accessible"}, // others could open files by name
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			e := newEnv(t)
			if err := os.Chmod(e.dataDir, tt.mode); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("audexum: data directory %s is %s by others (mode %04o); run: chmod 700 %s\n", e.dataDir, tt.how, tt.mode, e.dataDir)
			for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"apikey", "list"}, {"signing-key", "rotate"}} {
				r := e.run("", args...)
				if r.code != 1 || r.stderr != want {
					t.Errorf("%v: exit %d, stderr %q; want exit 1, stderr %q", args, r.code, r.stderr, want)
				}
			}
			if err := os.Chmod(e.dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			e.ok("apikey", "list")
		})
	}
}

// TestDataDirCreatedPrivate: the data directory serve creates is open to
// its owner only.
func TestDataDirCreatedPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not say who may read a directory on Windows")
	}
	e := newBareEnv(t)
	e.dataDir += "/new/data"
	e.startServer().stop(t)
	fi, err := os.Stat(e.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("created data directory has mode %04o, want none for group and others", perm)
	}
	e.ok("apikey", "list")
}

// TestNoDatabase: only serve creates a database. A management command on a
// data directory without one (a mistyped --data-dir) fails and creates
// nothing; a zero-length database file is an error for every command.
func TestNoDatabase(t *testing.T) {
	e := newBareEnv(t)
	missing := filepath.Join(e.dataDir, "typo")
	empty := &env{t: t, dataDir: e.dataDir}
	for _, args := range [][]string{
		{"apikey", "list"}, {"apikey", "create", "--name", "x", "--scope", "data:read"}, {"client", "list"},
		{"audit"}, {"signing-key", "rotate"}, {"user", "add", "--username", "ann", "--password-stdin"},
	} {
		for _, dir := range []string{missing, e.dataDir} {
			r := (&env{t: t, dataDir: dir}).run("a long passphrase\n", args...)
			want := "audexum: no Audexum database in " + dir + " (start `audexum serve` once, or pass --data-dir)\n"
			if r.code != 1 || r.stderr != want {
				t.Errorf("%v in %s: exit %d, stderr %q; want exit 1, %q", args, dir, r.code, r.stderr, want)
			}
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a management command created %s (err %v)", missing, err)
	}
	if _, err := os.Stat(filepath.Join(e.dataDir, "audexum.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a management command created the database (err %v)", err)
	}
	// A zero-length file is not a fresh database, for serve neither.
	db := filepath.Join(e.dataDir, "audexum.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := "audexum: database " + db + " is empty (0 bytes), not an Audexum database: restore it from a backup, or remove it and start `audexum serve` to make a new one\n"
	for _, args := range [][]string{{"apikey", "list"}, {"serve", "--addr", "127.0.0.1:0"}} {
		if r := empty.run("", args...); r.code != 1 || r.stderr != want {
			t.Errorf("%v on an empty file: exit %d, stderr %q; want exit 1, %q", args, r.code, r.stderr, want)
		}
	}
}
