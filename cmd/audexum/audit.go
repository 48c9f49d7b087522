package main

import (
	"errors"
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
// attacker create rows at will, so it counts under "unknown".
func failureRow(e auth.Event) (keyID, reason string) {
	reason = reasonLabel(e.Err)
	if e.CredentialID != "" && (errors.Is(e.Err, apikey.ErrSecretMismatch) ||
		errors.Is(e.Err, auth.ErrRevoked) || errors.Is(e.Err, auth.ErrExpired)) {
		return e.CredentialID, reason
	}
	return sqlstore.UnknownKeyID, reason
}
