package main

import (
	"context"
	"errors"
	"flag"
	"io"
)

// command is one invocation of a subcommand, and the steps every
// subcommand shares: a flag set with the common flags (--data-dir, --db)
// registered, parsing with flags before or after the positional
// arguments, refusing the wrong number of positional arguments, and
// opening the database the common flags select. Its errors follow the
// conventions run turns into exit statuses: usage errors (usagef) exit
// with 2, -h (a *helpError) prints the usage and exits with 0.
type command struct {
	name string // as typed after "audexum", e.g. "apikey create"
	fs   *flag.FlagSet
	common
	// usage, if set, is what -h prints instead of the flag list that
	// flagUsage makes.
	usage string
}

// newCommand returns the command name with the common flags registered;
// the caller registers the command's own flags on its fs.
func newCommand(name string) *command {
	cmd := &command{name: name}
	// Errors come back to us to print, once and on one line (run).
	cmd.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	cmd.fs.SetOutput(io.Discard)
	cmd.common.register(cmd.fs)
	return cmd
}

// usagef returns a usage error about cmd: its name, a colon, the message.
func (cmd *command) usagef(format string, args ...any) error {
	return usagef(cmd.name+": "+format, args...)
}

// parse parses args for a command that takes no positional argument.
func (cmd *command) parse(args []string) error {
	pos, err := cmd.parseArgs(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return cmd.usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// parseOne parses args for a command that takes exactly one positional
// argument, described by what ("key ID") in the error, and returns it.
func (cmd *command) parseOne(args []string, what string) (string, error) {
	pos, err := cmd.parseArgs(args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", cmd.usagef("want exactly one %s", what)
	}
	return pos[0], nil
}

func (cmd *command) parseArgs(args []string) ([]string, error) {
	pos, err := parseInterspersed(cmd.fs, args)
	if cmd.usage != "" && errors.Is(err, flag.ErrHelp) {
		return nil, &helpError{usage: cmd.usage}
	}
	return pos, err
}

// open opens the database the common flags select, for a command that
// does not use the signing keys (openSystem). The caller closes it.
func (cmd *command) open(ctx context.Context) (*system, error) {
	return openSystem(ctx, cmd.common)
}
