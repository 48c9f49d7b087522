package sqlstore_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
)

// TestStoreErrorsAreUnavailable: when the database cannot answer, the
// stores return its error wrapped, never a sentinel that means a verdict
// (not found), and the API key verifier turns it into auth.ErrUnavailable
// (503): never "unknown key" (401), never allow.
func TestStoreErrorsAreUnavailable(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		key, rec, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := apikey.NewVerifier(apikey.VerifierConfig{Store: s.APIKeys(), CacheTTL: -1, LastUsedInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		h.Close() // the database goes away under the store

		verdicts := []error{apikey.ErrNotFound, oauth.ErrNotFound, auth.ErrUnknownCredential, auth.ErrInvalidCredential}
		check := func(op string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s: got nil, want the database's error", op)
				return
			}
			for _, s := range verdicts {
				if errors.Is(err, s) {
					t.Errorf("%s: got %v, a verdict; want the database's error", op, err)
				}
			}
			if !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s: got %q, want it wrapped by sqlstore", op, err)
			}
		}
		_, err = s.APIKeys().Get(t.Context(), rec.ID)
		check("Get", err)
		_, err = s.Clients().Client(t.Context(), "c")
		check("Client", err)
		_, _, err = s.Grants().RefreshToken(t.Context(), oauth.Hash{})
		check("RefreshToken", err)
		_, err = s.Grants().IsRevoked(t.Context(), "jti")
		check("IsRevoked", err)

		_, err = v.Verify(t.Context(), key)
		if !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("Verify with the database gone: got %v, want auth.ErrUnavailable", err)
		}
	})
}
