package dbtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// racers is how many goroutines race for one thing, spread over two
// *sql.DB handles (two pools: as far as the database can tell, two
// processes).
const racers = 50

// twoHandles opens two Stores on separate handles of one database.
func twoHandles(t *testing.T, db testDB) [2]*sqlstore.Store {
	return [2]*sqlstore.Store{openStore(t, db), openStore(t, db)}
}

// race runs fn(i) for i in [0, racers) in goroutines released at once and
// returns the errors.
func race(fn func(i int) error) []error {
	errs := make([]error, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func randomHash() oauth.Hash {
	var h oauth.Hash
	rand.Read(h[:])
	return h
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestConcurrentCodeClaim(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		c := &oauth.Code{
			Hash: randomHash(), ClientID: "c", Subject: "u", RedirectURI: "https://app.example/cb",
			Scopes: auth.MustScopes("read"), CodeChallenge: "x", GrantID: "g1",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Minute),
		}
		if err := st[0].Grants().CreateCode(t.Context(), c); err != nil {
			t.Fatalf("CreateCode: %v", err)
		}
		errs := race(func(i int) error {
			_, err := st[i%2].Grants().ClaimCode(context.Background(), c.Hash, t0.Add(time.Second))
			return err
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, oauth.ErrCodeUsed):
				t.Errorf("claim %d: got %v, want nil or ErrCodeUsed", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful claims, want exactly 1", wins)
		}
	})
}

func TestConcurrentRefresh(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		g := &oauth.Grant{ID: "grant-1", ClientID: "c", Subject: "u", Scopes: auth.MustScopes("read"),
			CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
		head := &oauth.RefreshToken{Hash: randomHash(), GrantID: g.ID, IssuedAt: t0, AccessTokenID: "at-0",
			AccessTokenExpiresAt: t0.Add(time.Hour)}
		if err := st[0].Grants().CreateGrant(t.Context(), g, head); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		now := t0.Add(time.Minute)
		nexts := make([]*oauth.RefreshToken, racers)
		for i := range nexts {
			nexts[i] = &oauth.RefreshToken{Hash: randomHash(), GrantID: g.ID, IssuedAt: now,
				AccessTokenID: fmt.Sprintf("at-%d", i+1), AccessTokenExpiresAt: now.Add(time.Hour)}
		}
		// Within the grace window: every refresh of the one token
		// succeeds, and each supersedes the head before it.
		errs := race(func(i int) error {
			return st[i%2].Grants().RotateRefreshToken(context.Background(), head.Hash, nexts[i], now, now.Add(-10*time.Second))
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("refresh %d: %v", i, err)
			}
		}
		heads := 0
		for _, n := range append([]*oauth.RefreshToken{head}, nexts...) {
			_, tok, err := st[1].Grants().RefreshToken(t.Context(), n.Hash)
			if err != nil {
				t.Fatalf("RefreshToken: %v", err)
			}
			if tok.RotatedAt.IsZero() {
				heads++
			}
		}
		if heads != 1 {
			t.Errorf("got %d live heads after %d concurrent refreshes, want exactly 1", heads, racers)
		}
	})
}

func TestConcurrentAPIKeyRotation(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		st := twoHandles(t, db)
		var managers [2]*apikey.Manager
		for i := range managers {
			m, err := apikey.NewManager(apikey.ManagerConfig{Store: st[i].APIKeys()})
			if err != nil {
				t.Fatalf("NewManager: %v", err)
			}
			managers[i] = m
		}
		_, rec, err := managers[0].Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		errs := race(func(i int) error {
			_, _, err := managers[i%2].Rotate(context.Background(), rec.ID)
			return err
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, apikey.ErrNotActive):
				t.Errorf("rotation %d: got %v, want nil or ErrNotActive", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("got %d successful rotations, want exactly 1", wins)
		}
		recs, err := st[1].APIKeys().ListKeys(t.Context(), apikey.Filter{})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(recs) != 2 {
			t.Errorf("got %d keys after concurrent rotations, want 2 (the old and exactly one new)", len(recs))
		}
	})
}
