package apikey_test

import (
	"testing"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/apikey/apikeytest"
)

func TestMemoryStoreContract(t *testing.T) {
	apikeytest.Run(t, func(*testing.T) apikey.Store { return apikey.NewMemoryStore() })
}

// The zero MemoryStore is ready to use.
func TestZeroMemoryStoreContract(t *testing.T) {
	apikeytest.Run(t, func(*testing.T) apikey.Store { return new(apikey.MemoryStore) })
}
