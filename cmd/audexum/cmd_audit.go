package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/audexum/auth/sqlstore"
)

// auditUsage is `audexum audit -h`, with the --json shape.
const auditUsage = `usage: audexum audit [--since DURATION] [--json] [--data-dir DIR] [--db DSN]

Prints the audit trail: lifecycle events of API keys, OAuth clients and
users (who did what, when), and failed authentications counted per minute,
key ID and reason, from the last DURATION (Go syntax or days, e.g. 90m,
36h, 7d; default 24h; 0 for everything).

Failures are attributed to a key ID only when the key exists (wrong
secret, revoked, expired); all others count under "unknown". Reasons are
the outcome labels of the audexum_authentications_total metric.

--json prints one object:

  {
    "since": "2026-11-25T12:00:00Z",          // null with --since 0
    "events": [                                // oldest first
      {
        "seq": 1,
        "at": "2026-11-25T12:34:56.789Z",
        "kind": "api_key",                     // api_key | oauth_client | user
        "action": "created",                   // created | rotated | revoked |
                                               // deleted | secret_rotated |
                                               // password_changed
        "subject_id": "3kTMd9xQ2LpZ",          // key, client or user ID
        "actor": "cli:alice",                  // "unknown" if not known
        "details": {                           // non-secret; empty fields left out
          "name": "…", "owner": "…", "type": "…", "scopes": ["…"],
          "redirect_uris": ["…"], "grant_types": ["…"],
          "expires_at": "…", "rotated_to": "…", "rotated_from": "…",
          "old_valid_until": "…", "reason": "…"
        }
      }
    ],
    "failures": [                              // by minute, key ID, reason
      {"minute": "2026-11-25T12:34:00Z", "key_id": "unknown", "reason": "malformed", "count": 12}
    ]
  }

"events" and "failures" are always arrays. The output never holds a key,
a secret or a hash.`

// auditJSON is the --json shape of `audit` (documented in auditUsage).
type auditJSON struct {
	Since    *time.Time         `json:"since"`
	Events   []auditEventJSON   `json:"events"`
	Failures []auditFailureJSON `json:"failures"`
}

type auditEventJSON struct {
	Seq       int64                 `json:"seq"`
	At        time.Time             `json:"at"`
	Kind      string                `json:"kind"`
	Action    string                `json:"action"`
	SubjectID string                `json:"subject_id"`
	Actor     string                `json:"actor"`
	Details   sqlstore.AuditDetails `json:"details"`
}

type auditFailureJSON struct {
	Minute time.Time `json:"minute"`
	KeyID  string    `json:"key_id"`
	Reason string    `json:"reason"`
	Count  int64     `json:"count"`
}

func (c *cli) audit(ctx context.Context, args []string) error {
	cmd := newCommand("audit")
	cmd.usage = auditUsage + "\n"
	since := durationFlag{d: 24 * time.Hour}
	cmd.fs.Var(&since, "since", "how far back to look, e.g. 90m, 36h or 7d (default 24h; 0 for everything)")
	asJSON := cmd.fs.Bool("json", false, "print JSON")
	if err := cmd.parse(args); err != nil {
		return err
	}
	sys, err := cmd.open(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	var from time.Time
	if since.d > 0 {
		from = time.Now().Add(-since.d).UTC()
	}
	log := sys.store.AuditLog()
	events, err := log.Events(ctx, from)
	if err != nil {
		return err
	}
	failures, err := log.Failures(ctx, from)
	if err != nil {
		return err
	}
	if *asJSON {
		out := auditJSON{Events: []auditEventJSON{}, Failures: []auditFailureJSON{}}
		if !from.IsZero() {
			out.Since = &from
		}
		for _, e := range events {
			out.Events = append(out.Events, auditEventJSON{Seq: e.Seq, At: e.At.UTC(), Kind: string(e.Kind),
				Action: string(e.Action), SubjectID: e.SubjectID, Actor: e.Actor, Details: e.Details})
		}
		for _, f := range failures {
			out.Failures = append(out.Failures, auditFailureJSON{Minute: f.Minute.UTC(), KeyID: f.KeyID, Reason: f.Reason, Count: f.Count})
		}
		return c.printJSON(out)
	}

	fmt.Fprintln(c.stdout, "EVENTS")
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tACTION\tSUBJECT\tACTOR\tDETAILS")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Kind, e.Action,
			shown(e.SubjectID), shown(e.Actor), shown(orDash(detailsText(e.Details))))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nFAILED AUTHENTICATIONS (per minute)")
	tw = tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MINUTE\tKEY\tREASON\tCOUNT")
	for _, f := range failures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", f.Minute.UTC().Format("2006-01-02 15:04"), f.KeyID, f.Reason, f.Count)
	}
	return tw.Flush()
}

// detailsText is the DETAILS column: the set fields as key=value.
func detailsText(d sqlstore.AuditDetails) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+quoteIfSpace(v))
		}
	}
	addTime := func(k string, t *time.Time) {
		if t != nil {
			add(k, t.UTC().Format(time.RFC3339))
		}
	}
	add("name", d.Name)
	add("owner", d.Owner)
	add("type", d.Type)
	add("scopes", strings.Join(d.Scopes, ","))
	add("redirect_uris", strings.Join(d.RedirectURIs, ","))
	add("grant_types", strings.Join(d.GrantTypes, ","))
	addTime("expires_at", d.ExpiresAt)
	add("rotated_to", d.RotatedTo)
	add("rotated_from", d.RotatedFrom)
	addTime("old_valid_until", d.OldValidUntil)
	add("reason", d.Reason)
	return strings.Join(parts, " ")
}

func quoteIfSpace(s string) string {
	if strings.ContainsAny(s, " \t\n\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
