package oauthtest

import (
	"errors"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/oauth"
)

// concurrency is the number of goroutines the suites race against one
// code, one refresh token or one client ID.
const concurrency = 50

// RunGrantStore runs the contract tests of oauth.GrantStore against the
// stores newStore returns. newStore is called once per subtest and must
// return an empty store.
func RunGrantStore(t *testing.T, newStore func(t *testing.T) oauth.GrantStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, oauth.GrantStore)
	}{
		{"CodeClaim", testCodeClaim},
		{"CodeUnknown", testCodeUnknown},
		{"CodeExpiredStillClaimedOnce", testCodeExpiredStillClaimedOnce},
		{"CodeConcurrentClaims", testCodeConcurrentClaims},
		{"GrantCreateAndLookup", testGrantCreateAndLookup},
		{"DPoPBinding", testDPoPBinding},
		{"RotateHead", testRotateHead},
		{"RotateWithinGrace", testRotateWithinGrace},
		{"RotateAtGraceStart", testRotateAtGraceStart},
		{"RotateReplayRevokesGrant", testRotateReplayRevokesGrant},
		{"RotateUnknown", testRotateUnknown},
		{"RevokeGrant", testRevokeGrant},
		{"RevokeUnknownGrantBlocksCreation", testRevokeUnknownGrantBlocksCreation},
		{"RevokeAccessToken", testRevokeAccessToken},
		{"RevocationKeptUntilExpiry", testRevocationKeptUntilExpiry},
		{"ConcurrentRotationWithinGrace", testConcurrentRotationWithinGrace},
		{"ConcurrentRotationWithoutGrace", testConcurrentRotationWithoutGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// code returns a new authorization code.
func code() *oauth.Code {
	return &oauth.Code{
		Hash:          randomHash(),
		ClientID:      "client-1",
		Subject:       "user-1",
		RedirectURI:   "https://app.example/cb?x=1",
		Scopes:        auth.MustScopes("read", "write"),
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		GrantID:       randomID(),
		CreatedAt:     base,
		ExpiresAt:     base.Add(time.Minute),
	}
}

// grant returns a new grant and its first refresh token.
func grant() (*oauth.Grant, *oauth.RefreshToken) {
	g := &oauth.Grant{
		ID:        randomID(),
		ClientID:  "client-1",
		Subject:   "user-1",
		Scopes:    auth.MustScopes("read"),
		CreatedAt: base,
		ExpiresAt: base.Add(30 * 24 * time.Hour),
	}
	return g, &oauth.RefreshToken{
		Hash:                 randomHash(),
		GrantID:              g.ID,
		IssuedAt:             base,
		AccessTokenID:        "jti-" + randomID(),
		AccessTokenExpiresAt: base.Add(time.Hour),
	}
}

// next returns a new refresh token of g, issued at at, to rotate to.
func next(g *oauth.Grant, at time.Time) *oauth.RefreshToken {
	return &oauth.RefreshToken{
		Hash:                 randomHash(),
		GrantID:              g.ID,
		IssuedAt:             at,
		AccessTokenID:        "jti-" + randomID(),
		AccessTokenExpiresAt: at.Add(time.Hour),
	}
}

// mustCreate stores a new grant in s and returns it with its first
// refresh token.
func mustCreate(t *testing.T, s oauth.GrantStore) (*oauth.Grant, *oauth.RefreshToken) {
	t.Helper()
	g, h := grant()
	if err := s.CreateGrant(t.Context(), g, h); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	return g, h
}

// heads counts the tokens among hashes that are still their grant's
// head.
func heads(t *testing.T, s oauth.GrantStore, hashes []oauth.Hash) int {
	t.Helper()
	n := 0
	for _, h := range hashes {
		_, tok, err := s.RefreshToken(t.Context(), h)
		if errors.Is(err, oauth.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("RefreshToken: %v", err)
		}
		if tok.RotatedAt.IsZero() {
			n++
		}
	}
	return n
}

func testCodeClaim(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	c := code()
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	if err := s.CreateCode(ctx, c); !errors.Is(err, oauth.ErrAlreadyExists) {
		t.Errorf("CreateCode twice: got %v, want ErrAlreadyExists", err)
	}
	at := base.Add(10 * time.Second)
	got, err := s.ClaimCode(ctx, c.Hash, at)
	if err != nil {
		t.Fatalf("ClaimCode: %v", err)
	}
	want := *c
	want.UsedAt = at
	if d := diff(&want, got); d != "" {
		t.Errorf("ClaimCode: %s", d)
	}
	// The second claim reports reuse and returns the code, so the
	// caller can revoke what the first claim produced.
	again, err := s.ClaimCode(ctx, c.Hash, at.Add(time.Second))
	if !errors.Is(err, oauth.ErrCodeUsed) {
		t.Fatalf("second ClaimCode: got %v, want ErrCodeUsed", err)
	}
	if again == nil || again.GrantID != c.GrantID {
		t.Errorf("second ClaimCode returned %+v, want the code with GrantID %q", again, c.GrantID)
	}
}

func testCodeUnknown(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	if _, err := s.ClaimCode(ctx, randomHash(), base); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("ClaimCode: got %v, want ErrNotFound", err)
	}
}

func testCodeExpiredStillClaimedOnce(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	c := code()
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	late := c.ExpiresAt.Add(time.Second)
	got, err := s.ClaimCode(ctx, c.Hash, late)
	if err != nil {
		t.Fatalf("ClaimCode of an expired code: got %v, want the code (expiry is the caller's check)", err)
	}
	if !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Errorf("ExpiresAt: got %v, want %v", got.ExpiresAt, c.ExpiresAt)
	}
	if _, err := s.ClaimCode(ctx, c.Hash, late); !errors.Is(err, oauth.ErrCodeUsed) {
		t.Errorf("second ClaimCode: got %v, want ErrCodeUsed", err)
	}
}

func testCodeConcurrentClaims(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	c := code()
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	errs := race(concurrency, func(int) error {
		_, err := s.ClaimCode(ctx, c.Hash, base.Add(time.Second))
		return err
	})
	if n := wins(t, "ClaimCode", errs, oauth.ErrCodeUsed); n != 1 {
		t.Errorf("got %d successful claims, want exactly 1", n)
	}
}

func testGrantCreateAndLookup(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	gotG, gotT, err := s.RefreshToken(ctx, h.Hash)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if d := diff(g, gotG); d != "" {
		t.Errorf("grant: %s", d)
	}
	if d := diff(h, gotT); d != "" {
		t.Errorf("token: %s", d)
	}
	g2, h2 := grant()
	g2.ID = g.ID
	if err := s.CreateGrant(ctx, g2, h2); !errors.Is(err, oauth.ErrAlreadyExists) {
		t.Errorf("CreateGrant with a taken ID: got %v, want ErrAlreadyExists", err)
	}
	if _, _, err := s.RefreshToken(ctx, randomHash()); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("RefreshToken of an unknown hash: got %v, want ErrNotFound", err)
	}
}

// testDPoPBinding: a code's dpop_jkt and a grant's key binding (RFC 9449
// §10 and §5) come back from every read, the rotated tokens' included.
func testDPoPBinding(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	const jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	c := code()
	c.DPoPJKT = jkt
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
	got, err := s.ClaimCode(ctx, c.Hash, base)
	if err != nil || got.DPoPJKT != jkt {
		t.Fatalf("ClaimCode: got %+v, %v; want DPoPJKT %q", got, err, jkt)
	}
	g, h := grant()
	g.DPoPJKT = jkt
	if err := s.CreateGrant(ctx, g, h); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	n := next(g, base.Add(time.Minute))
	if err := s.RotateRefreshToken(ctx, h.Hash, n, base.Add(time.Minute), base); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	for _, hash := range []oauth.Hash{h.Hash, n.Hash} {
		gg, _, err := s.RefreshToken(ctx, hash)
		if err != nil {
			t.Fatalf("RefreshToken: %v", err)
		}
		if d := diff(g, gg); d != "" {
			t.Errorf("RefreshToken grant: %s", d)
		}
	}
	// And an unbound grant stays unbound.
	u, uh := mustCreate(t, s)
	if gg, _, err := s.RefreshToken(ctx, uh.Hash); err != nil || gg.DPoPJKT != "" || gg.ID != u.ID {
		t.Errorf("unbound grant: got %+v, %v", gg, err)
	}
}

func testRotateHead(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	at := base.Add(time.Minute)
	n := next(g, at)
	if err := s.RotateRefreshToken(ctx, h.Hash, n, at, at.Add(-10*time.Second)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	_, old, err := s.RefreshToken(ctx, h.Hash)
	if err != nil {
		t.Fatalf("RefreshToken(old): %v", err)
	}
	if !old.RotatedAt.Equal(at) {
		t.Errorf("old RotatedAt: got %v, want %v", old.RotatedAt, at)
	}
	gotG, head, err := s.RefreshToken(ctx, n.Hash)
	if err != nil {
		t.Fatalf("RefreshToken(new): %v", err)
	}
	if d := diff(n, head); d != "" {
		t.Errorf("new head: %s", d)
	}
	if gotG.ID != g.ID || gotG.Revoked() {
		t.Errorf("grant after rotation: got %+v, want %q not revoked", gotG, g.ID)
	}
}

func testRotateWithinGrace(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	t1 := base.Add(time.Minute)
	n1 := next(g, t1)
	if err := s.RotateRefreshToken(ctx, h.Hash, n1, t1, t1.Add(-10*time.Second)); err != nil {
		t.Fatalf("first RotateRefreshToken: %v", err)
	}
	// The same old token again, 5 s later, with a 10 s grace: a
	// concurrent refresh. It succeeds and supersedes n1.
	t2 := t1.Add(5 * time.Second)
	n2 := next(g, t2)
	if err := s.RotateRefreshToken(ctx, h.Hash, n2, t2, t2.Add(-10*time.Second)); err != nil {
		t.Fatalf("RotateRefreshToken within grace: got %v, want nil", err)
	}
	if got := heads(t, s, []oauth.Hash{h.Hash, n1.Hash, n2.Hash}); got != 1 {
		t.Errorf("got %d heads, want 1", got)
	}
	_, tok, err := s.RefreshToken(ctx, n2.Hash)
	if err != nil || !tok.RotatedAt.IsZero() {
		t.Errorf("newest token: got %+v, %v; want the head", tok, err)
	}
}

func testRotateAtGraceStart(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	t1 := base.Add(time.Minute)
	if err := s.RotateRefreshToken(ctx, h.Hash, next(g, t1), t1, t1.Add(-10*time.Second)); err != nil {
		t.Fatalf("first RotateRefreshToken: %v", err)
	}
	// The old token again when the grace period starts exactly at
	// its rotation: still within it, so not a replay.
	t2 := t1.Add(10 * time.Second)
	if err := s.RotateRefreshToken(ctx, h.Hash, next(g, t2), t2, t1); err != nil {
		t.Errorf("RotateRefreshToken with graceFrom = RotatedAt: got %v, want nil", err)
	}
}

func testRotateReplayRevokesGrant(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	t1 := base.Add(time.Minute)
	n1 := next(g, t1)
	if err := s.RotateRefreshToken(ctx, h.Hash, n1, t1, t1.Add(-10*time.Second)); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	t2 := t1.Add(time.Minute) // outside the 10 s grace
	n2 := next(g, t2)
	err := s.RotateRefreshToken(ctx, h.Hash, n2, t2, t2.Add(-10*time.Second))
	if !errors.Is(err, oauth.ErrRefreshReused) {
		t.Fatalf("replay: got %v, want ErrRefreshReused", err)
	}
	if _, _, err := s.RefreshToken(ctx, n2.Hash); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("replay stored its new token: RefreshToken got %v, want ErrNotFound", err)
	}
	gotG, _, err := s.RefreshToken(ctx, n1.Hash)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if !gotG.Revoked() {
		t.Errorf("grant not revoked after replay")
	}
	// The access tokens issued with the family are revoked too.
	for _, jti := range []string{h.AccessTokenID, n1.AccessTokenID} {
		if ok, err := s.IsRevoked(ctx, jti); err != nil || !ok {
			t.Errorf("IsRevoked(%s): got %v, %v; want true", jti, ok, err)
		}
	}
	// The head is dead as well.
	n3 := next(g, t2)
	if err := s.RotateRefreshToken(ctx, n1.Hash, n3, t2, t2.Add(-10*time.Second)); !errors.Is(err, oauth.ErrGrantRevoked) {
		t.Errorf("rotating the head of a revoked grant: got %v, want ErrGrantRevoked", err)
	}
}

func testRotateUnknown(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, _ := grant()
	if err := s.RotateRefreshToken(ctx, randomHash(), next(g, base), base, base); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func testRevokeGrant(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := mustCreate(t, s)
	at := base.Add(time.Minute)
	if err := s.RevokeGrant(ctx, g.ID, at); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	if err := s.RevokeGrant(ctx, g.ID, at.Add(time.Minute)); err != nil {
		t.Fatalf("RevokeGrant twice: %v", err)
	}
	gotG, _, err := s.RefreshToken(ctx, h.Hash)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if !gotG.RevokedAt.Equal(at) {
		t.Errorf("RevokedAt: got %v, want the first revocation %v", gotG.RevokedAt, at)
	}
	if ok, err := s.IsRevoked(ctx, h.AccessTokenID); err != nil || !ok {
		t.Errorf("IsRevoked(access token of the grant): got %v, %v; want true", ok, err)
	}
	if err := s.RotateRefreshToken(ctx, h.Hash, next(g, at), at, at); !errors.Is(err, oauth.ErrGrantRevoked) {
		t.Errorf("RotateRefreshToken on a revoked grant: got %v, want ErrGrantRevoked", err)
	}
}

func testRevokeUnknownGrantBlocksCreation(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	g, h := grant()
	if err := s.RevokeGrant(ctx, g.ID, base); err != nil {
		t.Fatalf("RevokeGrant of an unknown ID: %v", err)
	}
	if err := s.CreateGrant(ctx, g, h); !errors.Is(err, oauth.ErrAlreadyExists) {
		t.Errorf("CreateGrant after RevokeGrant: got %v, want ErrAlreadyExists", err)
	}
}

func testRevokeAccessToken(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	if ok, err := s.IsRevoked(ctx, "jti-1"); err != nil || ok {
		t.Errorf("IsRevoked before: got %v, %v; want false", ok, err)
	}
	if err := s.RevokeAccessToken(ctx, "jti-1", base.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if err := s.RevokeAccessToken(ctx, "jti-1", base.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeAccessToken twice: %v", err)
	}
	if ok, err := s.IsRevoked(ctx, "jti-1"); err != nil || !ok {
		t.Errorf("IsRevoked after: got %v, %v; want true", ok, err)
	}
	if ok, err := s.IsRevoked(ctx, "jti-2"); err != nil || ok {
		t.Errorf("IsRevoked(other): got %v, %v; want false", ok, err)
	}
}

func testRevocationKeptUntilExpiry(t *testing.T, s oauth.GrantStore) {
	ctx := t.Context()
	if err := s.RevokeAccessToken(ctx, "jti-1", base.Add(2*time.Hour)); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	// A second revocation with an earlier expiry does not shorten
	// the first.
	if err := s.RevokeAccessToken(ctx, "jti-1", base.Add(30*time.Minute)); err != nil {
		t.Fatalf("RevokeAccessToken again: %v", err)
	}
	// Work later on, while the token could still verify, may sweep
	// ended revocations, never this one.
	g, h := grant()
	g.CreatedAt, h.IssuedAt = base.Add(90*time.Minute), base.Add(90*time.Minute)
	if err := s.CreateGrant(ctx, g, h); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	if ok, err := s.IsRevoked(ctx, "jti-1"); err != nil || !ok {
		t.Errorf("IsRevoked half an hour before the token expires: got %v, %v; want true", ok, err)
	}
}

// rotateConcurrently rotates one grant's head token concurrently, each
// goroutine to its own next token, at a minute past base with graceFrom
// that minute plus graceOffset. It returns the head's hash, the rotations'
// errors, and every token's hash (the head's first).
func rotateConcurrently(t *testing.T, s oauth.GrantStore, graceOffset time.Duration) (oauth.Hash, []error, []oauth.Hash) {
	g, h := mustCreate(t, s)
	at := base.Add(time.Minute)
	nexts := make([]*oauth.RefreshToken, concurrency)
	hashes := []oauth.Hash{h.Hash}
	for i := range nexts {
		nexts[i] = next(g, at)
		hashes = append(hashes, nexts[i].Hash)
	}
	errs := race(concurrency, func(i int) error {
		return s.RotateRefreshToken(t.Context(), h.Hash, nexts[i], at, at.Add(graceOffset))
	})
	return h.Hash, errs, hashes
}

func testConcurrentRotationWithinGrace(t *testing.T, s oauth.GrantStore) {
	_, errs, hashes := rotateConcurrently(t, s, -10*time.Second)
	for i, err := range errs {
		if err != nil {
			t.Errorf("rotation %d within grace: got %v, want nil", i, err)
		}
	}
	if got := heads(t, s, hashes); got != 1 {
		t.Errorf("got %d heads after concurrent rotations, want exactly 1", got)
	}
}

func testConcurrentRotationWithoutGrace(t *testing.T, s oauth.GrantStore) {
	// graceFrom after now: no replay is tolerated.
	head, errs, hashes := rotateConcurrently(t, s, time.Nanosecond)
	if n := wins(t, "rotation", errs, oauth.ErrRefreshReused, oauth.ErrGrantRevoked); n != 1 {
		t.Errorf("got %d successful rotations, want exactly 1", n)
	}
	if got := heads(t, s, hashes); got > 1 {
		t.Errorf("got %d heads, want at most 1", got)
	}
	gotG, _, err := s.RefreshToken(t.Context(), head)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	if !gotG.Revoked() {
		t.Errorf("grant not revoked after concurrent replays")
	}
}
