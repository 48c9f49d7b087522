package oauth_test

import (
	"testing"

	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/oauth/oauthtest"
)

func TestMemoryClientStore(t *testing.T) {
	oauthtest.RunClientStore(t, func(*testing.T) oauth.ClientStore { return oauth.NewMemoryClientStore() })
}

func TestMemoryGrantStore(t *testing.T) {
	oauthtest.RunGrantStore(t, func(*testing.T) oauth.GrantStore { return oauth.NewMemoryGrantStore() })
}
