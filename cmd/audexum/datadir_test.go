package main

import (
	"fmt"
	"os"
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

// TestDataDirCreatedPrivate: a data directory the commands create is
// open to its owner only.
func TestDataDirCreatedPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("mode bits do not say who may read a directory on Windows")
	}
	e := newEnv(t)
	e.dataDir += "/new/data"
	e.ok("apikey", "list")
	fi, err := os.Stat(e.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("created data directory has mode %04o, want none for group and others", perm)
	}
}
