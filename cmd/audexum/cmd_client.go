package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/audexum/auth/oauth"
)

// clientJSON is the --json shape of `client create` (fixed fields) and of
// the elements of `client list`.
type clientJSON struct {
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret,omitempty"`
	Name         string     `json:"name"`
	Type         string     `json:"type"`
	RedirectURIs []string   `json:"redirect_uris"`
	Scopes       []string   `json:"scopes"`
	GrantTypes   []string   `json:"grant_types,omitempty"`
	RequireDPoP  bool       `json:"require_dpop"`
	CreatedAt    *time.Time `json:"created_at,omitempty"`
	// Owner is the owning account's user ID; absent for an operator's
	// client.
	Owner string `json:"owner,omitempty"`
}

func toClientJSON(c *oauth.Client, secret string) clientJSON {
	uris := append([]string{}, c.RedirectURIs...)
	return clientJSON{ClientID: c.ID, ClientSecret: secret, Name: c.Name, Type: string(c.Type),
		RedirectURIs: uris, Scopes: c.Scopes.Slice(), GrantTypes: c.GrantTypes, RequireDPoP: c.RequireDPoP,
		CreatedAt: timePtr(c.CreatedAt), Owner: c.Owner}
}

// optBool is a boolean flag that remembers whether it was given, for
// defaults that depend on other flags.
type optBool struct{ set, v bool }

func (b *optBool) String() string {
	if b == nil {
		return "false"
	}
	return strconv.FormatBool(b.v)
}

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.v, b.set = v, true
	return nil
}

func (b *optBool) IsBoolFlag() bool { return true }

func (c *cli) clientCreate(ctx context.Context, args []string) error {
	cmd := newCommand("client create")
	name := cmd.fs.String("name", "", "application name shown on the consent page (required)")
	typ := cmd.fs.String("type", "", "server, web or mobile (required)")
	var uris, scopes listFlag
	cmd.fs.Var(&uris, "redirect-uri", "exact redirect URI for the authorization code flow (repeatable)")
	cmd.fs.Var(&scopes, "scope", scopeFlagUsage)
	owner := cmd.fs.String("owner", "", "`USERNAME` of the account the application belongs to; its client-credentials tokens act for that account (default: none, an operator's client)")
	var requireDPoP optBool
	cmd.fs.Var(&requireDPoP, "require-dpop", "bind every token of the client to its key: each token request must carry a DPoP proof (RFC 9449); default true for mobile clients, false for others (--require-dpop=false lets a mobile client use bearer tokens)")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	if err := cmd.parse(args); err != nil {
		return err
	}
	if *name == "" {
		return cmd.usagef("--name is required")
	}
	t := oauth.ClientType(*typ)
	if t != oauth.ClientServer && t != oauth.ClientWeb && t != oauth.ClientMobile {
		return cmd.usagef("--type must be server, web or mobile")
	}
	sc, err := scopeFlags(cmd.name, scopes)
	if err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	// A mobile app's refresh token lives on a device that can be backed
	// up or lost: bound to a key in the platform's key store, a copy is
	// worthless (RFC 9700 §2.2.2). On by default for mobile clients.
	dpopOn := t == oauth.ClientMobile
	if requireDPoP.set {
		dpopOn = requireDPoP.v
	}
	reg := oauth.Registration{Name: *name, Type: t, RedirectURIs: uris, Scopes: sc, RequireDPoP: dpopOn}
	if *owner != "" {
		if reg.Owner, err = sys.users.accountID(ctx, *owner); err != nil {
			return err
		}
	}
	cl, secret, err := sys.registry.Register(ctx, reg)
	if err != nil {
		return err
	}
	if *asJSON {
		return c.printJSON(toClientJSON(cl, secret))
	}
	fmt.Fprintf(c.stdout, "Registered %s client %q.\n\n    client_id:     %s\n", cl.Type, cl.Name, cl.ID)
	if secret != "" {
		fmt.Fprintf(c.stdout, "    client_secret: %s\n\nCopy the secret now: it is shown only once and cannot be retrieved later.\n", secret)
	} else {
		fmt.Fprintln(c.stdout, "\nA mobile client is public: it has no secret and must use PKCE.")
	}
	if cl.RequireDPoP {
		fmt.Fprintln(c.stdout, "Its tokens are DPoP-bound: every token request must carry a DPoP proof (RFC 9449).")
	}
	return nil
}

func (c *cli) clientList(ctx context.Context, args []string) error {
	cmd := newCommand("client list")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	if err := cmd.parse(args); err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	cls, err := sys.clients.ListClients(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]clientJSON, 0, len(cls))
		for _, cl := range cls {
			out = append(out, toClientJSON(cl, ""))
		}
		return c.printJSON(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tSCOPES\tREDIRECT URIS\tCREATED")
	for _, cl := range cls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shown(cl.ID), shown(cl.Name), shown(string(cl.Type)), cl.Scopes.String(),
			shown(orDash(strings.Join(cl.RedirectURIs, " "))), day(cl.CreatedAt))
	}
	return tw.Flush()
}

func (c *cli) clientRotateSecret(ctx context.Context, args []string) error {
	cmd := newCommand("client rotate-secret")
	var grace durationFlag
	cmd.fs.Var(&grace, "grace", "how long the old secret keeps working (default 24h)")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	id, err := cmd.parseOne(args, "client ID")
	if err != nil {
		return err
	}
	if grace.set && grace.d == 0 {
		return cmd.usagef("--grace must be more than 0 (delete the client to cut it off)")
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	reg := sys.registry
	if grace.set {
		if reg, err = sys.clientRegistry(grace.d); err != nil {
			return err
		}
	}
	secret, err := reg.RotateSecret(ctx, id)
	if err != nil {
		return clientNotFound(err, id)
	}
	if *asJSON {
		return c.printJSON(map[string]string{"client_id": id, "client_secret": secret})
	}
	fmt.Fprintf(c.stdout, "New secret for client %s:\n\n    %s\n\nCopy it now: it is shown only once. The previous secret keeps working for the grace period.\n", id, secret)
	return nil
}

func (c *cli) clientDelete(ctx context.Context, args []string) error {
	cmd := newCommand("client delete")
	id, err := cmd.parseOne(args, "client ID")
	if err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := sys.registry.Delete(ctx, id); err != nil {
		return clientNotFound(err, id)
	}
	fmt.Fprintf(c.stdout, "Deleted client %s.\n", id)
	return nil
}

func (c *cli) userAdd(ctx context.Context, args []string) error {
	cmd := newCommand("user add")
	username := cmd.fs.String("username", "", "username (required)")
	fromStdin := cmd.fs.Bool("password-stdin", false, "read the password from standard input (required)")
	if err := cmd.parse(args); err != nil {
		return err
	}
	if *username == "" || !*fromStdin {
		return cmd.usagef("--username and --password-stdin are required")
	}
	password, err := readPassword(c.stdin)
	if err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	u, err := sys.users.add(ctx, *username, password, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Added user %s (subject %s).\n", u.Username, u.ID)
	return nil
}

// clientNotFound names the kind and the ID when no client has it.
func clientNotFound(err error, id string) error {
	if errors.Is(err, oauth.ErrNotFound) {
		return fmt.Errorf("no OAuth client with ID %s (see: audexum client list)", shown(id))
	}
	return err
}
