package dbtest

import (
	"errors"
	"testing"
	"time"

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

// TestGrantStoreSweeps: codes and grants expired for longer than the
// retention, and revoked access-token IDs past their expiry, are deleted
// by later writes; recent ones stay.
func TestGrantStoreSweeps(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		gs := openStore(t, db).Grants()
		ctx := t.Context()
		oldCode := &oauth.Code{Hash: randomHash(), ClientID: "c", GrantID: "g0", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		oldGrant := &oauth.Grant{ID: "old", ClientID: "c", Subject: "u", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		oldHead := &oauth.RefreshToken{Hash: randomHash(), IssuedAt: t0}
		if err := gs.CreateCode(ctx, oldCode); err != nil {
			t.Fatal(err)
		}
		if err := gs.CreateGrant(ctx, oldGrant, oldHead); err != nil {
			t.Fatal(err)
		}
		if err := gs.RevokeAccessToken(ctx, "old-jti", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		later := t0.Add(3 * time.Hour)
		newCode := &oauth.Code{Hash: randomHash(), ClientID: "c", GrantID: "g1", CreatedAt: later, ExpiresAt: later.Add(time.Minute)}
		if err := gs.CreateCode(ctx, newCode); err != nil {
			t.Fatal(err)
		}
		newGrant := &oauth.Grant{ID: "new", ClientID: "c", Subject: "u", CreatedAt: later, ExpiresAt: later.Add(time.Hour)}
		if err := gs.CreateGrant(ctx, newGrant, &oauth.RefreshToken{Hash: randomHash(), IssuedAt: later}); err != nil {
			t.Fatal(err)
		}

		if _, err := gs.ClaimCode(ctx, oldCode.Hash, later); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("code expired 3 h ago: ClaimCode got %v, want ErrNotFound (swept)", err)
		}
		if _, _, err := gs.RefreshToken(ctx, oldHead.Hash); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("token of a grant expired 2 h ago: got %v, want ErrNotFound (swept)", err)
		}
		if revoked, err := gs.IsRevoked(ctx, "old-jti"); err != nil || revoked {
			t.Errorf("revocation expired 2 h ago: IsRevoked got %v, %v; want false (swept)", revoked, err)
		}
		if _, err := gs.ClaimCode(ctx, newCode.Hash, later); err != nil {
			t.Errorf("fresh code: ClaimCode got %v", err)
		}
	})
}
