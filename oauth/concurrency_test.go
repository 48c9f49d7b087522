package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/audexum/auth/oauth"
)

const racers = 50

// TestConcurrentCodeRedemption: 50 goroutines redeem one code through the
// handler; exactly one gets tokens.
func TestConcurrentCodeRedemption(t *testing.T) {
	f := newFixture(t)
	v := f.exchangeValues(f.webCode(t))
	recs := make([]*httptest.ResponseRecorder, racers)
	var wg sync.WaitGroup
	for i := range racers {
		r := basic(form("/oauth/token", v), f.webID, f.webSecret)
		wg.Go(func() { recs[i] = f.serve(r) })
	}
	wg.Wait()
	var winner *httptest.ResponseRecorder
	wins := 0
	for i, w := range recs {
		switch w.Code {
		case http.StatusOK:
			wins++
			winner = w
		case http.StatusBadRequest:
			if got := decodeToken(t, w).Error; got != "invalid_grant" {
				t.Errorf("request %d: got error %q, want invalid_grant", i, got)
			}
		default:
			t.Errorf("request %d: got status %d, want 200 or 400", i, w.Code)
		}
	}
	if wins != 1 {
		t.Fatalf("got %d successful redemptions, want exactly 1", wins)
	}
	// The other 49 were replays of a used code: whatever the winner got
	// is revoked (RFC 6749 §4.1.2), however the requests interleaved.
	tb := decodeToken(t, winner)
	p, err := f.verifier.Verify(context.Background(), tb.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if revoked, err := f.srv.IsRevoked(context.Background(), p.CredentialID); err != nil || !revoked {
		t.Errorf("IsRevoked(winner's access token): got %v, %v; want true", revoked, err)
	}
	if tb.RefreshToken != "" {
		w := f.serve(basic(form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}), f.webID, f.webSecret))
		if w.Code != http.StatusBadRequest {
			t.Errorf("refresh with the winner's refresh token: got %d, want 400", w.Code)
		}
	}
}

// TestConcurrentRefresh: 50 goroutines refresh one token at the same
// instant. All are within the grace window, so all may succeed, but the
// grant must end with exactly one live refresh token: every other one
// returned is already superseded, and the next use of any of them after
// the window revokes the grant.
func TestConcurrentRefresh(t *testing.T) {
	f := newFixture(t)
	tb := f.tokens(t)
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}
	recs := make([]*httptest.ResponseRecorder, racers)
	var wg sync.WaitGroup
	for i := range racers {
		r := basic(form("/oauth/token", v), f.webID, f.webSecret)
		wg.Go(func() { recs[i] = f.serve(r) })
	}
	wg.Wait()
	live := 0
	for i, w := range recs {
		if w.Code != http.StatusOK {
			t.Errorf("refresh %d within the grace window: got %d, want 200", i, w.Code)
			continue
		}
		_, tok, err := f.grants.RefreshToken(context.Background(), oauth.HashSecret(decodeToken(t, w).RefreshToken))
		if err != nil {
			t.Fatalf("RefreshToken: %v", err)
		}
		if tok.RotatedAt.IsZero() {
			live++
		}
	}
	if live != 1 {
		t.Errorf("got %d live refresh tokens in the grant, want exactly 1", live)
	}
}

// TestConcurrentRefreshWithoutGrace: with the grace window over for the
// replays, at most one of the concurrent refreshes wins and the family
// ends revoked, never with two heads.
func TestConcurrentRefreshAfterGrace(t *testing.T) {
	f := newFixture(t)
	tb := f.tokens(t)
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tb.RefreshToken}}
	// Rotate once, then let the window pass: every racer replays.
	if w := f.serve(basic(form("/oauth/token", v), f.webID, f.webSecret)); w.Code != 200 {
		t.Fatalf("first refresh: got %d", w.Code)
	}
	f.clock.Advance(oauth.DefaultRefreshGrace + 1)
	codes := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		r := basic(form("/oauth/token", v), f.webID, f.webSecret)
		wg.Go(func() { codes[i] = f.serve(r).Code })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusBadRequest {
			t.Errorf("replay %d: got %d, want 400", i, c)
		}
	}
	g, _, err := f.grants.RefreshToken(context.Background(), oauth.HashSecret(tb.RefreshToken))
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if !g.Revoked() {
		t.Errorf("grant not revoked after replays")
	}
}
