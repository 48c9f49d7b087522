package dbtest

import (
	"testing"

	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/oauth/oauthtest"
)

func TestClientStoreContract(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		oauthtest.RunClientStore(t, func(t *testing.T) oauth.ClientStore {
			return openStore(t, db.fresh(t)).Clients()
		})
	})
}
