package oauth_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/oauth/oauthtest"
)

func TestMemoryClientStore(t *testing.T) {
	oauthtest.RunClientStore(t, func(*testing.T) oauth.ClientStore { return oauth.NewMemoryClientStore() })
}

func TestMemoryGrantStore(t *testing.T) {
	oauthtest.RunGrantStore(t, func(*testing.T) oauth.GrantStore { return oauth.NewMemoryGrantStore() })
}

// TestMemoryGrantStoreSweepKeepsRevocations: the store sweeps what has
// ended every so many operations; a revocation whose token has not yet
// expired survives however many sweeps run, and an ended one goes.
func TestMemoryGrantStoreSweepKeepsRevocations(t *testing.T) {
	ctx := context.Background()
	s := oauth.NewMemoryGrantStore()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.RevokeAccessToken(ctx, "live", start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAccessToken(ctx, "ended", start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	at := start.Add(time.Hour)
	for i := range 3000 { // several sweeps' worth of operations
		c := &oauth.Code{Hash: oauth.HashSecret(fmt.Sprint("code-", i)), GrantID: fmt.Sprint("g-", i), CreatedAt: at, ExpiresAt: at.Add(time.Minute)}
		if err := s.CreateCode(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := s.IsRevoked(ctx, "live"); !ok {
		t.Errorf("revocation of a token that has not expired was swept")
	}
	if ok, _ := s.IsRevoked(ctx, "ended"); ok {
		t.Errorf("revocation of an expired token was kept through the sweeps")
	}
}
