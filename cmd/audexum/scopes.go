package main

import "github.com/audexum/auth"

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
