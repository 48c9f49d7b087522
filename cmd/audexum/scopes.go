package main

import (
	"strings"

	"github.com/audexum/auth"
)

// scopeCatalog is the server's scope policy, declared here and nowhere
// else. The API's routes (api.go) check these scopes; openSystem hands the
// catalog to the key manager and the client registry, serve to the
// authorization server, and the consent page shows its descriptions. A
// scope added to a route must be added here, or no credential can get it.
var scopeCatalog = auth.MustScopeCatalog([]auth.ScopeInfo{
	{Name: "data:read", Description: "read your data"},
	{Name: "data:write", Description: "create and change your data"},
	{Name: "profile:read", Description: "see your profile (your username)"},
})

// scopeFlagUsage is the help text of --scope for commands that create a
// credential.
var scopeFlagUsage = "scope to grant, one per flag: repeat --scope for each (required; case-sensitive; known: " + scopeCatalog.String() + ")"

// scopeFlags checks the --scope values of the command cmd, which creates
// a credential, and returns them as a set. Every refusal is a usage error
// that tells how to write the command right: no scope at all (a
// credential that passes no scope check is a mistake, not a policy), a
// list joined into one value, a malformed scope, or one outside the
// catalog, with the known ones or, for a case variant, the one meant.
func scopeFlags(cmd string, vals []string) (auth.Scopes, error) {
	if len(vals) == 0 {
		return auth.Scopes{}, usagef("%s: at least one --scope is required; known scopes: %s", cmd, scopeCatalog)
	}
	for _, v := range vals {
		if _, known := scopeCatalog.Describe(v); known {
			continue
		}
		// "a,b" is one valid (and unknown) scope token to the grammar,
		// and "a b" an invalid one; either way the user meant a list.
		parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		if len(parts) > 1 {
			return auth.Scopes{}, usagef("%s: --scope %q holds several scopes; repeat --scope for each: --scope %s", cmd, v, strings.Join(parts, " --scope "))
		}
	}
	sc, err := auth.NewScopes(vals...)
	if err != nil {
		return auth.Scopes{}, usagef("%s: %v", cmd, err)
	}
	if err := scopeCatalog.Check(sc); err != nil {
		return auth.Scopes{}, usagef("%s: %v", cmd, err)
	}
	return sc, nil
}
