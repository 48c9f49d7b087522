package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/audexum/auth/apikey"
)

// keyJSON is the --json shape of a created or rotated key (fixed).
type keyJSON struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// keyListJSON is one element of `apikey list --json` (fixed fields first).
type keyListJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Revoked     bool       `json:"revoked"`
	Owner       string     `json:"owner"`
	Description string     `json:"description,omitempty"`
	RotatedFrom string     `json:"rotated_from,omitempty"`
	ReplacedBy  string     `json:"replaced_by,omitempty"`
	Warnings    []string   `json:"warnings,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) apikeyCreate(ctx context.Context, args []string) error {
	cmd := newCommand("apikey create")
	name := cmd.fs.String("name", "", "name of the key (required)")
	desc := cmd.fs.String("description", "", "description")
	owner := cmd.fs.String("owner", "", "`USERNAME` of the account the key belongs to and acts for (default: none, an operator's key whose subject is its name)")
	var scopes listFlag
	cmd.fs.Var(&scopes, "scope", scopeFlagUsage)
	var expires durationFlag
	cmd.fs.Var(&expires, "expires-in", "lifetime, e.g. 90d or 36h (default 90d; 0 for a key that never expires)")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	if err := cmd.parse(args); err != nil {
		return err
	}
	if *name == "" {
		return cmd.usagef("--name is required")
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
	// An operator's key acts as its name, as keys did before accounts;
	// an account's key stores the account's ID, the principal's subject.
	params := apikey.CreateParams{Name: *name, Description: *desc, Owner: *name, Scopes: sc}
	if *owner == "" && strings.HasPrefix(*name, "usr_") {
		// The name would be the key's subject, and a subject that is an
		// account's ID acts for that account.
		return cmd.usagef("names starting with usr_ are account IDs; pick another name, or pass --owner USERNAME")
	}
	if *owner != "" {
		if params.Owner, err = sys.users.accountID(ctx, *owner); err != nil {
			return err
		}
	}
	if expires.set {
		if expires.d == 0 {
			params.NoExpiry = true
		} else {
			params.TTL = expires.d
		}
	}
	key, rec, err := sys.keys.Create(ctx, params)
	if err != nil {
		return err
	}
	return c.printNewKey("Created", key, rec, *asJSON)
}

func (c *cli) printNewKey(verb, key string, rec apikey.Record, asJSON bool) error {
	if asJSON {
		return c.printJSON(keyJSON{ID: rec.ID, Key: key, Name: rec.Name, Scopes: rec.Scopes.Slice(),
			CreatedAt: rec.CreatedAt.UTC(), ExpiresAt: timePtr(rec.ExpiresAt)})
	}
	exp := "never expires"
	if !rec.ExpiresAt.IsZero() {
		exp = "expires " + rec.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(c.stdout, "%s API key %q (id %s, scopes %q, %s).\n", verb, rec.Name, rec.ID, rec.Scopes.String(), exp)
	fmt.Fprintf(c.stdout, "\n    %s\n\n", key)
	fmt.Fprintln(c.stdout, "Copy it now: it is shown only once and cannot be retrieved later.")
	return nil
}

// keyWarnings flags keys the seed's rotation advice (every 90 days)
// says to look at.
func keyWarnings(r apikey.Record, now time.Time) []string {
	var w []string
	if !r.Active(now) {
		return nil
	}
	if now.Sub(r.CreatedAt) > 90*24*time.Hour {
		w = append(w, "older than 90 days: rotate it")
	}
	if !r.ExpiresAt.IsZero() && r.ExpiresAt.Sub(now) < 14*24*time.Hour {
		w = append(w, "expires within 14 days")
	}
	if r.ExpiresAt.IsZero() {
		w = append(w, "never expires")
	}
	return w
}

func (c *cli) apikeyList(ctx context.Context, args []string) error {
	cmd := newCommand("apikey list")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	if err := cmd.parse(args); err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	recs, err := sys.keys.List(ctx, apikey.Filter{})
	if err != nil {
		return err
	}
	now := time.Now()
	if *asJSON {
		out := make([]keyListJSON, 0, len(recs))
		for _, r := range recs {
			out = append(out, keyListJSON{ID: r.ID, Name: r.Name, Scopes: r.Scopes.Slice(), CreatedAt: r.CreatedAt.UTC(),
				ExpiresAt: timePtr(r.ExpiresAt), LastUsedAt: timePtr(r.LastUsedAt), Revoked: r.Revoked(),
				Owner: r.Owner, Description: r.Description, RotatedFrom: r.RotatedFrom, ReplacedBy: r.ReplacedBy,
				Warnings: keyWarnings(r, now)})
		}
		return c.printJSON(out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tSTATUS\tNOTES")
	for _, r := range recs {
		status := "active"
		switch {
		case r.Revoked():
			status = "revoked"
		case r.Expired(now):
			status = "expired"
		case r.ReplacedBy != "":
			status = "rotated (in grace)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shown(r.ID), shown(r.Name), r.Scopes.String(), day(r.CreatedAt),
			orDash(day(r.ExpiresAt)), orDash(minute(r.LastUsedAt)), status, strings.Join(keyWarnings(r, now), "; "))
	}
	return tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// minute formats t to the minute, or "" for the zero time.
func minute(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) apikeyRevoke(ctx context.Context, args []string) error {
	cmd := newCommand("apikey revoke")
	reason := cmd.fs.String("reason", "revoked with the audexum CLI", "why the key is revoked (kept with the key)")
	id, err := cmd.parseOne(args, "key ID")
	if err != nil {
		return err
	}
	if err := keyIDArg(cmd.name, id); err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	if err := sys.keys.Revoke(ctx, id, *reason); err != nil {
		return keyNotFound(err, id)
	}
	fmt.Fprintf(c.stdout, "Revoked API key %s.\n", id)
	return nil
}

func (c *cli) apikeyRotate(ctx context.Context, args []string) error {
	cmd := newCommand("apikey rotate")
	var grace durationFlag
	cmd.fs.Var(&grace, "grace", "how long the old key keeps working (default 24h, at most 7d; 0s refuses it at once, for a leaked key)")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	id, err := cmd.parseOne(args, "key ID")
	if err != nil {
		return err
	}
	if err := keyIDArg(cmd.name, id); err != nil {
		return err
	}
	if grace.set && (grace.d < 0 || grace.d > apikey.MaxRotationGrace) {
		return cmd.usagef("--grace must be 0s (a leaked key: the old one is refused at once) to 7d")
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	var key string
	var rec apikey.Record
	if grace.set {
		key, rec, err = sys.keys.RotateWithGrace(ctx, id, grace.d)
	} else {
		key, rec, err = sys.keys.Rotate(ctx, id)
	}
	if err != nil {
		return keyNotFound(err, id)
	}
	return c.printNewKey("Rotated to new", key, rec, *asJSON)
}

// keyIDArg refuses a whole API key where its ID is wanted: the ID is the
// part between the environment and the secret, and the whole key, typed
// on a command line, is now in the shell's history.
func keyIDArg(cmd, arg string) error {
	if p, err := apikey.Parse(arg); err == nil {
		return usagef("%s: that is a whole API key, not a key ID: pass its ID, %s (and treat the key as exposed: it is in your shell history now)", cmd, p.ID)
	}
	return nil
}

// keyNotFound names the kind and the ID when no key has it.
func keyNotFound(err error, id string) error {
	if errors.Is(err, apikey.ErrNotFound) {
		return fmt.Errorf("no API key with ID %s (see: audexum apikey list)", shown(id))
	}
	return err
}
