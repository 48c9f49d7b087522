package dbtest

import (
	"testing"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/apikey/apikeytest"
)

func TestAPIKeyStoreContract(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		apikeytest.Run(t, func(t *testing.T) apikey.Store {
			// A fresh database per subtest: the contract wants an empty
			// store each time.
			return openStore(t, db.fresh(t)).APIKeys()
		})
	})
}
