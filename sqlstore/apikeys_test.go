package sqlstore_test

import (
	"testing"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/apikey/apikeytest"
	"github.com/audexum/auth/sqlstore"
)

func TestAPIKeyStoreContract(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		apikeytest.Run(t, func(t *testing.T) apikey.Store {
			// A fresh database per subtest: the contract wants an empty
			// store each time.
			var fresh testDB
			if db.dialect == sqlstore.SQLite {
				fresh = sqliteDB(t)
			} else {
				fresh = postgresDB(t)
			}
			return openStore(t, fresh).APIKeys()
		})
	})
}
