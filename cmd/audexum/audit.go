package main

import (
	"errors"
	"net/http"
	osuser "os/user"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// cliActor is the actor the CLI's changes are audited under: "cli:" and
// the OS user name, or "cli:unknown" when the OS cannot say.
func cliActor() string {
	u, err := osuser.Current()
	if err != nil || u.Username == "" {
		return "cli:" + sqlstore.UnknownActor
	}
	return "cli:" + u.Username
}

// failureRow is the audit_failures row a failed authentication counts
// in: its reason label (the same bounded set as the metrics, see
// reasons), and the key ID only when the failure shows the key exists (a
// wrong secret for a stored key, a revoked or expired key). Any other
// claimed ID is the caller's invention, and recording it would let an
// attacker create rows at will, so it counts under "unknown". A refusal
// after authentication (a missing scope, no account, a rate limit) has a
// verified principal: it counts under that credential (sqlstore.UsageID:
// the key ID, or the application's client ID), so a portal shows an
// application's refusals too.
func failureRow(e auth.Event) (keyID, reason string) {
	reason = reasonLabel(e.Err)
	if id := sqlstore.UsageID(e.Principal); id != "" {
		return id, reason
	}
	if e.CredentialID != "" && (errors.Is(e.Err, apikey.ErrSecretMismatch) ||
		errors.Is(e.Err, auth.ErrRevoked) || errors.Is(e.Err, auth.ErrExpired)) {
		return e.CredentialID, reason
	}
	return sqlstore.UnknownKeyID, reason
}

// clientNetwork is the network r came from, as the throttle counts it (an
// IPv4 address, an IPv6 /64; proxies are not trusted, as serve's Throttle
// trusts none), for the recent failures a portal shows the owner of a
// credential. "unknown" when the address does not parse.
func clientNetwork(r *http.Request) string {
	if r == nil {
		return "unknown"
	}
	p := auth.ClientNetwork(r, nil)
	switch {
	case !p.IsValid():
		return "unknown"
	case p.Addr().Is4():
		return p.Addr().String()
	}
	return p.String()
}
