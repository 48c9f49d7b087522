package dbtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/sqlstore"
)

// changesSince returns the changes recorded after seq.
func changesSince(t *testing.T, s *sqlstore.Store, seq int64) []sqlstore.Change {
	t.Helper()
	cs, err := s.Changes(t.Context(), seq, 100)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	for i := range cs {
		cs[i].Seq = 0 // compared by kind and ID
	}
	return cs
}

func latest(t *testing.T, s *sqlstore.Store) int64 {
	t.Helper()
	seq, err := s.LatestChange(t.Context())
	if err != nil {
		t.Fatalf("LatestChange: %v", err)
	}
	return seq
}

func serverClient(id string) *oauth.Client {
	return &oauth.Client{ID: id, Name: id, Type: oauth.ClientServer, GrantTypes: []string{oauth.GrantClientCredentials},
		Secrets: []oauth.ClientSecret{{Hash: oauth.HashSecret("s-" + id), CreatedAt: t0}}, CreatedAt: t0}
}

// TestChangeLogRecordsEveryChange: each store method that changes a record
// a server caches writes exactly its change to the log, and a refused
// call writes none.
func TestChangeLogRecordsEveryChange(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		s := openStore(t, db)
		ctx := t.Context()
		clients := s.Clients()
		keys, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		var keyID, rotatedID string
		var keySet *jwt.KeyManager
		ck := func(kind sqlstore.Kind, id string) sqlstore.Change { return sqlstore.Change{Kind: kind, ID: id} }
		steps := []struct {
			name string
			do   func() error
			want func() []sqlstore.Change
		}{
			{"create client", func() error { return clients.CreateClient(ctx, serverClient("c1")) },
				func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindClient, "c1")} }},
			{"create client again (refused)", func() error {
				if err := clients.CreateClient(ctx, serverClient("c1")); !errors.Is(err, oauth.ErrAlreadyExists) {
					return err
				}
				return nil
			}, func() []sqlstore.Change { return nil }},
			{"rotate client secret", func() error {
				return clients.RotateClientSecret(ctx, "c1", oauth.ClientSecret{Hash: oauth.HashSecret("new"), CreatedAt: t0}, t0.Add(time.Hour))
			}, func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindClient, "c1")} }},
			{"delete client", func() error { return clients.DeleteClient(ctx, "c1") },
				func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindClient, "c1")} }},
			{"delete unknown client (refused)", func() error {
				if err := clients.DeleteClient(ctx, "c1"); !errors.Is(err, oauth.ErrNotFound) {
					return err
				}
				return nil
			}, func() []sqlstore.Change { return nil }},
			{"create API key", func() error {
				_, rec, err := keys.Create(ctx, apikey.CreateParams{Name: "k", Owner: "o"})
				keyID = rec.ID
				return err
			}, func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindAPIKey, keyID)} }},
			{"rotate API key", func() error {
				_, rec, err := keys.Rotate(ctx, keyID)
				rotatedID = rec.ID
				return err
			}, func() []sqlstore.Change {
				return []sqlstore.Change{ck(sqlstore.KindAPIKey, keyID), ck(sqlstore.KindAPIKey, rotatedID)}
			}},
			{"revoke API key", func() error { return keys.Revoke(ctx, rotatedID, "") },
				func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindAPIKey, rotatedID)} }},
			{"revoke API key again (refused)", func() error {
				if err := keys.Revoke(ctx, rotatedID, ""); !errors.Is(err, apikey.ErrAlreadyRevoked) {
					return err
				}
				return nil
			}, func() []sqlstore.Change { return nil }},
			// Last-used times are not something a cache must drop.
			{"touch last used", func() error {
				return s.APIKeys().TouchLastUsed(ctx, map[string]time.Time{keyID: time.Now()})
			}, func() []sqlstore.Change { return nil }},
			{"first signing keys", func() error {
				keySet, err = jwt.NewKeyManager(jwt.KeyManagerConfig{Store: s.SigningKeys()})
				return err
			}, func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindSigningKey, "")} }},
			{"rotate signing keys", func() error { return keySet.Rotate(ctx) },
				func() []sqlstore.Change { return []sqlstore.Change{ck(sqlstore.KindSigningKey, "")} }},
		}
		for _, st := range steps {
			before := latest(t, s)
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if diff := cmp.Diff(st.want(), changesSince(t, s, before)); diff != "" {
				t.Errorf("%s: changes (-want +got):\n%s", st.name, diff)
			}
		}
	})
}

// TestChangeLogSameTransaction: a change whose log entry cannot be written
// does not happen, so no process can miss a change that took effect.
func TestChangeLogSameTransaction(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		h := db.open(t)
		s := openStoreOn(t, h, db.dialect)
		ctx := t.Context()
		clients := s.Clients()
		if err := clients.CreateClient(ctx, serverClient("kept")); err != nil {
			t.Fatal(err)
		}
		keys, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		_, rec, err := keys.Create(ctx, apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		keySet, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: s.SigningKeys()})
		if err != nil {
			t.Fatal(err)
		}
		activeBefore := keySet.ActiveKeyID()

		// The log made unwritable (renamed away, on both engines).
		if _, err := h.ExecContext(ctx, `ALTER TABLE changes RENAME TO changes_away`); err != nil {
			t.Fatal(err)
		}
		if err := clients.CreateClient(ctx, serverClient("new")); err == nil {
			t.Error("CreateClient without a change log: got nil error")
		}
		if _, err := clients.Client(ctx, "new"); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("client whose change was not logged: got %v, want ErrNotFound", err)
		}
		if err := clients.RotateClientSecret(ctx, "kept", oauth.ClientSecret{Hash: oauth.HashSecret("x"), CreatedAt: t0}, t0); err == nil {
			t.Error("RotateClientSecret without a change log: got nil error")
		}
		if err := clients.DeleteClient(ctx, "kept"); err == nil {
			t.Error("DeleteClient without a change log: got nil error")
		}
		if c, err := clients.Client(ctx, "kept"); err != nil || len(c.Secrets) != 1 {
			t.Errorf("client after refused rotation and deletion: %+v, %v; want it unchanged", c, err)
		}
		if _, _, err := keys.Create(ctx, apikey.CreateParams{Name: "k2", Owner: "o"}); err == nil {
			t.Error("API key Create without a change log: got nil error")
		}
		if _, _, err := keys.Rotate(ctx, rec.ID); err == nil {
			t.Error("API key Rotate without a change log: got nil error")
		}
		if err := keys.Revoke(ctx, rec.ID, ""); err == nil {
			t.Error("API key Revoke without a change log: got nil error")
		}
		if list, err := s.APIKeys().ListKeys(ctx, apikey.Filter{}); err != nil || len(list) != 1 || list[0].Revoked() || list[0].ReplacedBy != "" {
			t.Errorf("API keys after refused create, rotation and revocation: %+v, %v; want the one key unchanged", list, err)
		}
		if err := keySet.Rotate(ctx); err == nil {
			t.Error("signing key rotation without a change log: got nil error")
		}
		if _, err := h.ExecContext(ctx, `ALTER TABLE changes_away RENAME TO changes`); err != nil {
			t.Fatal(err)
		}
		if err := keySet.Reload(ctx); err != nil || keySet.ActiveKeyID() != activeBefore {
			t.Errorf("signing keys after a refused rotation: active %s, %v; want %s", keySet.ActiveKeyID(), err, activeBefore)
		}
	})
}

// propagationBound is the documented delay for a change to reach a
// follower: within 2 s on SQLite (polling, 1 s by default) and 100 ms on
// PostgreSQL (LISTEN/NOTIFY).
func propagationBound(d sqlstore.Dialect) time.Duration {
	if d == sqlstore.Postgres {
		return 100 * time.Millisecond
	}
	return 2 * time.Second
}

// until polls check every 5 ms until it returns true, and fails the test
// if that takes longer than bound. It returns how long it took.
func until(t *testing.T, bound time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > bound {
			t.Fatalf("%s: not true within %v", what, bound)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline, not waiting for readiness
	}
	d := time.Since(start)
	t.Logf("%s: after %v", what, d.Round(time.Millisecond))
	return d
}

// follow runs s.Follow with f until the test ends.
func follow(t *testing.T, s *sqlstore.Store, f sqlstore.Followers) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Follow(ctx, f) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	})
}

// clientTokens is a stand-in access-token verifier: any credential is a
// valid token of the client it names.
var clientTokens = auth.VerifierFunc(func(_ context.Context, cred string) (*auth.Principal, error) {
	return &auth.Principal{Subject: cred, ClientID: cred, Method: auth.MethodClientCredentials}, nil
})

// TestFollowAcrossHandles: two processes (two handles) share a database.
// Changes made through one reach the caches of the other, which Follow
// keeps, within the documented bound, although those caches would keep
// their answers for an hour: a client created after the other process
// refused its tokens, its deletion, an API key created after the other
// process refused it, and a rotation of the signing keys. On PostgreSQL
// the follower's poll is an hour, so only LISTEN/NOTIFY can deliver in
// time; on SQLite the poll is the default. What b cached before it
// followed (a client and an API key it refused, its key set) is dropped
// when it starts.
func TestFollowAcrossHandles(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		ctx := t.Context()
		bound := propagationBound(db.dialect)
		a := openStore(t, db)
		cfg := sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true}
		if db.dialect == sqlstore.Postgres {
			cfg.PollInterval = time.Hour
		}
		var errMu sync.Mutex
		var errs []error
		cfg.OnError = func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() }
		b := openStoreCfg(t, db.open(t), cfg)

		// Process b's caches, each keeping answers for an hour.
		gate, err := oauth.NewClientGate(oauth.ClientGateConfig{Verifier: clientTokens, Clients: b.Clients(), CacheTTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		keysB, err := apikey.NewVerifier(apikey.Config{Store: b.APIKeys(), CacheTTL: time.Hour,
			NegativeCacheTTL: time.Hour, LastUsedInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer keysB.Close()
		setB, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: b.SigningKeys()})
		if err != nil {
			t.Fatal(err)
		}
		setA, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: a.SigningKeys()})
		if err != nil {
			t.Fatal(err)
		}

		// Before b follows: a rotation made after b's key set loaded, and
		// a client b refused, are not missed (Follow starts from a clean
		// slate).
		if _, err := gate.Verify(ctx, "early"); !errors.Is(err, oauth.ErrClientDeleted) {
			t.Fatalf("token of a client that does not exist yet: got %v, want ErrClientDeleted", err)
		}
		if err := a.Clients().CreateClient(ctx, serverClient("early")); err != nil {
			t.Fatal(err)
		}
		if err := setA.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		// Keys are made in a scratch store, so b can be shown one
		// before it is stored.
		scratch, err := apikey.NewManager(apikey.ManagerConfig{Store: apikey.NewMemoryStore()})
		if err != nil {
			t.Fatal(err)
		}
		earlyKey, earlyRec, err := scratch.Create(ctx, apikey.CreateParams{Name: "early", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keysB.Verify(ctx, earlyKey); !errors.Is(err, auth.ErrUnknownCredential) {
			t.Fatalf("key not yet stored: got %v, want ErrUnknownCredential", err)
		}
		if err := a.APIKeys().CreateKey(ctx, earlyRec); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var seen []sqlstore.Change
		follow(t, b, sqlstore.Followers{APIKeys: keysB, Clients: gate, SigningKeys: setB,
			OnChange: func(c sqlstore.Change, err error) {
				mu.Lock()
				seen = append(seen, c)
				mu.Unlock()
				if err != nil {
					t.Errorf("applying %+v: %v", c, err)
				}
			}})
		// Follow's start (reading the log's end, reloading the keys) is
		// not a propagation delay: held to the looser bound.
		until(t, 2*time.Second, "change made before Follow started: client accepted", func() bool {
			_, err := gate.Verify(ctx, "early")
			return err == nil
		})
		until(t, 2*time.Second, "change made before Follow started: signing keys reloaded", func() bool {
			return setB.ActiveKeyID() == setA.ActiveKeyID()
		})
		until(t, 2*time.Second, "change made before Follow started: API key accepted", func() bool {
			_, err := keysB.Verify(ctx, earlyKey)
			return err == nil
		})
		// Let Follow's first read of the log pass (on SQLite it waits a
		// poll), so the measurements below are of steady state.
		time.Sleep(100 * time.Millisecond)

		// A client created in a: b refused its token before (and cached
		// that for an hour), and accepts it once the change arrives.
		if _, err := gate.Verify(ctx, "backend"); !errors.Is(err, oauth.ErrClientDeleted) {
			t.Fatalf("token of a client that does not exist yet: got %v, want ErrClientDeleted", err)
		}
		if err := a.Clients().CreateClient(ctx, serverClient("backend")); err != nil {
			t.Fatal(err)
		}
		until(t, bound, "client created in another process accepted", func() bool {
			_, err := gate.Verify(ctx, "backend")
			return err == nil
		})
		if err := a.Clients().DeleteClient(ctx, "backend"); err != nil {
			t.Fatal(err)
		}
		until(t, bound, "client deleted in another process refused", func() bool {
			_, err := gate.Verify(ctx, "backend")
			return errors.Is(err, oauth.ErrClientDeleted)
		})

		// An API key b was shown before it existed (b caches "unknown"
		// for an hour), created in a.
		key, rec, err := scratch.Create(ctx, apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := keysB.Verify(ctx, key); !errors.Is(err, auth.ErrUnknownCredential) {
			t.Fatalf("key not yet stored: got %v, want ErrUnknownCredential", err)
		}
		if err := a.APIKeys().CreateKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		until(t, bound, "API key created in another process accepted", func() bool {
			_, err := keysB.Verify(ctx, key)
			return err == nil
		})

		// Signing keys rotated in a.
		if err := setA.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		until(t, bound, "signing keys rotated in another process reloaded", func() bool {
			return setB.ActiveKeyID() == setA.ActiveKeyID()
		})

		mu.Lock()
		if len(seen) == 0 || seen[0].Kind != sqlstore.KindAll {
			t.Errorf("first change applied: got %+v, want the clean slate of KindAll", seen)
		}
		mu.Unlock()
		errMu.Lock()
		defer errMu.Unlock()
		for _, err := range errs {
			t.Errorf("follower error: %v", err)
		}
	})
}

// failingKeyStore is a key store whose Load fails while fail is set.
type failingKeyStore struct {
	jwt.KeyStore
	fail atomic.Bool
}

func (f *failingKeyStore) LoadKeys(ctx context.Context) ([]jwt.StoredKey, error) {
	if f.fail.Load() {
		return nil, errors.New("database is down")
	}
	return f.KeyStore.LoadKeys(ctx)
}

// TestFollowRetriesFailedReload: a reload of the signing keys that fails
// is reported and tried again until it succeeds.
func TestFollowRetriesFailedReload(t *testing.T) {
	db := sqliteDB(t)
	ctx := t.Context()
	a := openStore(t, db)
	b := openStoreCfg(t, db.open(t), sqlstore.Config{Dialect: db.dialect, InsecurePlaintextSigningKeys: true, PollInterval: 20 * time.Millisecond})
	setA, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: a.SigningKeys()})
	if err != nil {
		t.Fatal(err)
	}
	storeB := &failingKeyStore{KeyStore: b.SigningKeys()}
	setB, err := jwt.NewKeyManager(jwt.KeyManagerConfig{Store: storeB})
	if err != nil {
		t.Fatal(err)
	}
	started, failed := make(chan struct{}), make(chan struct{})
	var startOnce, failOnce sync.Once
	follow(t, b, sqlstore.Followers{SigningKeys: setB, OnChange: func(c sqlstore.Change, err error) {
		switch {
		case c.Kind == sqlstore.KindAll:
			startOnce.Do(func() { close(started) })
		case err != nil && c.Kind == sqlstore.KindSigningKey:
			failOnce.Do(func() { close(failed) })
		}
	}})
	// Follow's first reload (KindAll) must be done before the store
	// fails: a slow start that read the log after the rotation would
	// report the failure under KindAll instead, and the wait below would
	// time out.
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not start")
	}
	storeB.fail.Store(true)
	if err := setA.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("no failed reload reported")
	}
	if setB.ActiveKeyID() == setA.ActiveKeyID() {
		t.Fatal("reloaded from a failing store")
	}
	storeB.fail.Store(false)
	until(t, 2*time.Second, "reload retried", func() bool { return setB.ActiveKeyID() == setA.ActiveKeyID() })
}
