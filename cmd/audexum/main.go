// Command audexum is the Audexum reference server and its command-line
// "developer portal": it serves the sample API and the OAuth 2.0
// authorization server over HTTPS on an embedded SQLite database (or
// PostgreSQL with --db postgres://…), and creates, lists, rotates and
// revokes API keys, OAuth clients and end users.
//
// Usage:
//
//	audexum serve [--addr HOST:PORT] [--issuer URL] [--tls-cert FILE --tls-key FILE] [--insecure-plaintext-signing-keys]
//	audexum apikey create --name NAME --scope S [--scope S]... [--owner USERNAME] [--description TEXT] [--expires-in DURATION] [--json]
//	audexum apikey list [--json]
//	audexum apikey revoke ID [--reason TEXT]
//	audexum apikey rotate ID [--grace DURATION] [--json]
//	audexum client create --name NAME --type server|web|mobile --scope S [--scope S]... [--owner USERNAME] [--redirect-uri URI]... [--json]
//	audexum client list [--json]
//	audexum client rotate-secret ID [--grace DURATION] [--json]
//	audexum client delete ID
//	audexum user add --username NAME --password-stdin
//	audexum signing-key rotate [--insecure-plaintext-signing-keys]
//	audexum audit [--since DURATION] [--json]
//
// A key or client belongs to the account of --owner (a user added with
// "user add"; stored by the user's ID), and then acts for it: an owned
// key, or a token of an owned client, reads that user's /v1/user/profile.
// Without --owner it is the operator's and acts for no account.
//
// A key or client needs at least one scope, each from the server's scope
// catalog (data:read, data:write, profile:read), one per --scope flag:
// repeat the flag rather than joining scopes with commas. Scopes are
// case-sensitive.
//
// Changes made with the CLI are recorded in the audit trail with the actor
// "cli:" and the OS user name; "audexum audit -h" documents its --json
// shape.
//
// Every command takes --data-dir DIR (default ./audexum-data) and --db DSN.
// Exit status is 0 on success, 2 on a usage error and 1 on any other
// error, which is printed to stderr on one line.
//
// # Secrets at rest
//
// The data directory must be open to its owner only: every command that
// uses it creates it with mode 0700 and refuses one that group or others
// may read, write or enter, saying which chmod to run. The SQLite database
// and its -wal and -shm files are created with mode 0600.
//
// The private signing keys are stored encrypted under a key-encryption
// key. Only serve and signing-key rotate use the signing keys, so only
// they read it; the other commands work without it. AUDEXUM_KEY_ENCRYPTION_KEY
// wins if set. Otherwise, on SQLite, the key is in DIR/key-encryption-key,
// generated on first use, never over a database whose keys are already
// encrypted (a lost file is an error naming it, not a new key); if both
// are present they must hold the same key. On PostgreSQL the variable is
// required (several instances share the keys, so they must share the
// key), unless --insecure-plaintext-signing-keys is given, which stores
// the signing keys in clear when no key is set. Keys stored in clear by
// an older version are encrypted at the first start with a key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/audexum/auth/sqlstore"
)

const usageText = `usage: audexum <command> [flags]

commands:
  serve                 run the HTTPS API and authorization server
  apikey create|list|revoke|rotate
  client create|list|rotate-secret|delete
  user add              add an end user who can log in at the consent page
  signing-key rotate    make the next access-token signing key active (the old one stays published)
  audit                 print lifecycle events and failed authentications
                        (--since DURATION, default 24h; --json; -h for the shape)

common flags: --data-dir DIR (default ./audexum-data), --db DSN (SQLite path or postgres:// URL)
run "audexum <command> -h" for a command's flags`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli carries the streams of one invocation, so tests can run commands in
// process as well as through the built binary.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	// Every change made through this invocation is audited under its
	// OS user.
	err := c.dispatch(sqlstore.WithActor(ctx, cliActor()), args)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		var he *helpError
		if errors.As(err, &he) {
			fmt.Fprint(stdout, he.usage)
		} else {
			fmt.Fprintln(stdout, usageText)
		}
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "audexum: %s\n", oneLine(err.Error()))
		return 2
	default:
		fmt.Fprintf(stderr, "audexum: %s\n", oneLine(err.Error()))
		return 1
	}
}

// group describes a command group for "audexum GROUP -h".
type group struct {
	names string // the subcommands, for error messages
	usage string
}

var groups = map[string]group{
	"apikey": {"create, list, revoke, rotate", `usage: audexum apikey <subcommand> [flags]

subcommands:
  create   create an API key (printed once; only its hash is stored)
  list     list the keys, with their status and warnings
  revoke   revoke a key by its ID, at once
  rotate   replace a key by a new one; the old one works for --grace (0s: not at all)

run "audexum apikey <subcommand> -h" for its flags
`},
	"client": {"create, list, rotate-secret, delete", `usage: audexum client <subcommand> [flags]

subcommands:
  create          register an OAuth client (server, web or mobile)
  list            list the clients
  rotate-secret   issue a new secret; the old one works for --grace
  delete          delete a client; its tokens stop working

run "audexum client <subcommand> -h" for its flags
`},
	"signing-key": {"rotate", `usage: audexum signing-key <subcommand> [flags]

subcommands:
  rotate   make the next access-token signing key active (the old one stays published until its tokens expire)

run "audexum signing-key rotate -h" for its flags
`},
	"user": {"add", `usage: audexum user <subcommand> [flags]

subcommands:
  add   add an end user who can sign in at the consent page

run "audexum user add -h" for its flags
`},
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("no command given (try: audexum serve)")
	}
	cmd, rest := args[0], args[1:]
	sub := func(name string, cmds map[string]func(context.Context, []string) error) error {
		g := groups[name]
		switch {
		case len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help"):
			return &helpError{usage: g.usage}
		case len(rest) == 0 || strings.HasPrefix(rest[0], "-"):
			// A flag first ("client --data-dir x list") is a missing
			// subcommand too: subcommands come before their flags.
			return usagef("%s: missing subcommand (one of: %s; run audexum %s -h)", name, g.names, name)
		}
		f, ok := cmds[rest[0]]
		if !ok {
			return usagef("%s: unknown subcommand %q (one of: %s)", name, rest[0], g.names)
		}
		return f(ctx, rest[1:])
	}
	switch cmd {
	case "serve":
		return c.serve(ctx, rest)
	case "apikey":
		return sub("apikey", map[string]func(context.Context, []string) error{
			"create": c.apikeyCreate, "list": c.apikeyList, "revoke": c.apikeyRevoke, "rotate": c.apikeyRotate,
		})
	case "client":
		return sub("client", map[string]func(context.Context, []string) error{
			"create": c.clientCreate, "list": c.clientList, "rotate-secret": c.clientRotateSecret, "delete": c.clientDelete,
		})
	case "signing-key":
		return sub("signing-key", map[string]func(context.Context, []string) error{"rotate": c.signingKeyRotate})
	case "user":
		return sub("user", map[string]func(context.Context, []string) error{"add": c.userAdd})
	case "audit":
		return c.audit(ctx, rest)
	case "-h", "--help", "help":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", cmd)
}
