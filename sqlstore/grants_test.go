package sqlstore_test

import (
	"testing"

	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/oauth/oauthtest"
)

func TestGrantStoreContract(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		oauthtest.RunGrantStore(t, func(t *testing.T) oauth.GrantStore {
			return openStore(t, db.fresh(t)).Grants()
		})
	})
}
