package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// privateDir makes sure the data directory dir, which holds the SQLite
// database, the TLS key and the key-encryption key file, is open to its
// owner only: it creates dir with mode 0700 if it is missing, and refuses
// it if group or others may read, write or enter it. Every command that
// uses the data directory calls it, the management commands as well as
// serve: they read and write the same secrets.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	case runtime.GOOS == "windows":
		// The mode bits there say nothing about who may read (ACLs do).
		return nil
	}
	// Refused rather than fixed: who widened it may have meant it (a
	// backup user's group), and should decide; the message says how.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		how := "accessible"
		switch {
		case perm&0o044 != 0:
			how = "readable"
		case perm&0o022 != 0:
			how = "writable"
		}
		return fmt.Errorf("data directory %s is %s by others (mode %04o); run: chmod 700 %s", dir, how, perm, shellQuote(dir))
	}
	return nil
}

// shellQuote quotes s for a POSIX shell if it needs it, so a command the
// error message suggests can be pasted as it is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
