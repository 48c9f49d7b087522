package dbtest

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
		v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), CacheTTL: -1, LastUsedInterval: -1})
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
		_, err = s.APIKeys().Key(t.Context(), rec.ID)
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

// TestHostileIDsAreNotFound: IDs no engine can store (invalid UTF-8, NUL)
// are answered "not found", never with an error that would read as the
// store being down (PostgreSQL rejects such text outright).
func TestHostileIDsAreNotFound(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		for _, id := range []string{
			"\xff\xfe",    // not UTF-8
			"client\x00x", // NUL: the end of a C string
			"\xc0\x80",    // overlong NUL
		} {
			if _, err := s.Clients().Client(t.Context(), id); !errors.Is(err, oauth.ErrNotFound) {
				t.Errorf("Client(%q): got %v, want ErrNotFound", id, err)
			}
			if err := s.Clients().DeleteClient(t.Context(), id); !errors.Is(err, oauth.ErrNotFound) {
				t.Errorf("DeleteClient(%q): got %v, want ErrNotFound", id, err)
			}
			if _, err := s.APIKeys().Key(t.Context(), id); !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("Get(%q): got %v, want ErrNotFound", id, err)
			}
			if revoked, err := s.Grants().IsRevoked(t.Context(), id); err != nil || revoked {
				t.Errorf("IsRevoked(%q): got %v, %v; want false, nil", id, revoked, err)
			}
			if err := s.Grants().RevokeGrant(t.Context(), id, t0); err != nil {
				t.Errorf("RevokeGrant(%q): got %v, want nil", id, err)
			}
		}
	})
}
