package dbtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/audexum/auth/sqlstore"
)

func TestClaimIssuer(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		a, b := openStore(t, db), openStore(t, db)
		if err := a.ClaimIssuer(ctx, "https://auth.example"); err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if err := b.ClaimIssuer(ctx, "https://auth.example"); err != nil {
			t.Errorf("same issuer from another instance: %v", err)
		}
		err := b.ClaimIssuer(ctx, "https://127.0.0.1:8443")
		if !errors.Is(err, sqlstore.ErrIssuerMismatch) || !strings.Contains(err.Error(), "https://auth.example") || !strings.Contains(err.Error(), "https://127.0.0.1:8443") {
			t.Errorf("another issuer: err = %v, want ErrIssuerMismatch naming both", err)
		}
		if err := a.ClaimIssuer(ctx, ""); !errors.Is(err, sqlstore.ErrInvalidConfig) {
			t.Errorf("empty issuer: err = %v, want ErrInvalidConfig", err)
		}
	})
}

// TestClaimIssuerRace: of instances starting at once with different
// issuers, exactly one records its own.
func TestClaimIssuerRace(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		stores := []*sqlstore.Store{openStore(t, db), openStore(t, db)}
		var ok atomic.Int64
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				err := stores[i%2].ClaimIssuer(context.Background(), fmt.Sprintf("https://instance%d.example", i))
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, sqlstore.ErrIssuerMismatch):
					t.Errorf("ClaimIssuer: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 {
			t.Errorf("%d instances recorded their issuer, want 1", ok.Load())
		}
	})
}
