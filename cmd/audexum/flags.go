package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// usageError marks errors in how the command was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// common holds the flags every subcommand takes.
type common struct {
	dataDir string
	db      string
}

// envDB, if set, is the database when --db is not given: a DSN holding a
// password belongs in the environment, not in the process list. The
// PostgreSQL driver also reads PGPASSWORD and ~/.pgpass, so a DSN without
// a password works too.
const envDB = "AUDEXUM_DB"

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", "./audexum-data", "directory for the SQLite database, the generated TLS files and the key-encryption key; must be open to its owner only (mode 0700)")
	fs.StringVar(&c.db, "db", "", "database: a SQLite file path, or a postgres:// URL; put a password in $"+envDB+" (used when --db is absent), PGPASSWORD or ~/.pgpass, not here (default: DIR/audexum.db)")
	// After StringVar, so --help does not print the value.
	c.db = os.Getenv(envDB)
}

// dsn returns the database the flags select.
func (c *common) dsn() string {
	if c.db != "" {
		return c.db
	}
	return filepath.Join(c.dataDir, "audexum.db")
}

func (c *common) postgres() bool {
	return strings.HasPrefix(c.db, "postgres://") || strings.HasPrefix(c.db, "postgresql://")
}

// parseInterspersed parses flags that may appear before or after
// positional arguments ("apikey revoke ID --data-dir X") and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpError{usage: flagUsage(fs)}
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// durationFlag is a duration flag with the "d" suffix for days.
type durationFlag struct {
	d   time.Duration
	set bool
}

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(v string) error {
	d, err := parseDuration(v)
	if err != nil {
		return err
	}
	f.d, f.set = d, true
	return nil
}

// helpError carries a command's usage, asked for with -h: printed to
// stdout with exit status 0.
type helpError struct{ usage string }

func (e *helpError) Error() string { return e.usage }
func (e *helpError) Unwrap() error { return flag.ErrHelp }

// flagUsage describes a command's flags.
func flagUsage(fs *flag.FlagSet) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: audexum %s [flags]\n\nflags:\n", fs.Name())
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}
