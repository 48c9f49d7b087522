package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/jwt"
	"github.com/audexum/auth/oauth"
)

// Followers are the caches of a server that [Store.Follow] keeps current
// with the change log. Set the ones the server has; nil ones are skipped.
type Followers struct {
	// APIKeys is the server's API key verifier. Follow drops a key from
	// its cache when the key is created, revoked or rotated
	// ([apikey.Verifier.Invalidate]).
	APIKeys *apikey.Verifier

	// Clients is the gate in front of the server's access-token verifier.
	// Follow drops a client from it when the client is created, its
	// secrets change or it is deleted ([oauth.ClientGate.Invalidate]), so
	// a new client's tokens work and a deleted client's stop working.
	Clients *oauth.ClientGate

	// SigningKeys is the key set the server signs with. Follow reloads it
	// when the keys are saved ([jwt.KeyManager.Reload]), so a rotation made
	// by another process (the CLI, another instance) is signed with and
	// published here too. A failed reload is tried again every
	// [Config.PollInterval] until it succeeds.
	SigningKeys *jwt.KeyManager

	// OnChange, if set, is called after each change was applied, with the
	// error of applying it: nil, or a failed reload of SigningKeys (then
	// again with each retry). For metrics and logs; it runs on Follow's
	// goroutine and must not block. If nil, those errors go to
	// [Config.OnError].
	OnChange func(c Change, err error)
}

// reloadTimeout bounds one reload of the signing keys, so a database that
// hangs cannot stop Follow from applying the other changes for long.
const reloadTimeout = 10 * time.Second

// Follow keeps the caches in f current with the change log until ctx
// ends; then it returns ctx.Err(). Run it in a goroutine of its own, one
// per process, once the caches exist; it may start before or after the
// server starts serving.
//
// Every change to a record a server caches is on the log, written in the
// same transaction as the change, by whichever process made it: API key
// creations, revocations and rotations; client creations, secret
// rotations and deletions; saves of the signing keys. A change made by
// any process sharing the database reaches f's caches within about
// [Config.PollInterval] (1 s by default, so within 2 s), on SQLite as on
// PostgreSQL; on PostgreSQL with [Config.WaitForNotification]
// (LISTEN/NOTIFY), within 100 ms. Grant and access-token revocations are
// not on the log: a [oauth.RevocationCache] sees those of other processes
// within its MaxAge.
//
// Follow first reads where the log ends and then treats everything
// cached before as stale (as for a change of [KindAll]: it empties the
// caches of keys and clients and reloads the signing keys), so no change
// made while the caches filled is missed. It does the same whenever the
// log may have lost changes for it (see [Store.Watch]). Errors reading
// the log go to [Config.OnError], and Follow keeps trying.
func (s *Store) Follow(ctx context.Context, f Followers) error {
	fl := &follower{s: s, f: f, ctx: ctx}
	var from int64
	for {
		var err error
		if from, err = s.LatestChange(ctx); err == nil {
			break
		}
		s.report(err)
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	fl.apply(Change{Seq: from, Kind: KindAll})
	return s.watch(ctx, from, fl.apply, fl.retry)
}

// follower applies changes to the caches of a Followers. Its methods run
// on Follow's goroutine only.
type follower struct {
	s   *Store
	f   Followers
	ctx context.Context

	// pending is the change whose reload of the signing keys failed;
	// retried after each read of the log.
	pending *Change
}

func (fl *follower) apply(c Change) {
	var err error
	switch c.Kind {
	case KindAPIKey:
		if fl.f.APIKeys != nil {
			fl.f.APIKeys.Invalidate(c.ID)
		}
	case KindClient:
		if fl.f.Clients != nil {
			fl.f.Clients.Invalidate(c.ID)
		}
	case KindSigningKey:
		err = fl.reload(c)
	case KindAll:
		if fl.f.APIKeys != nil {
			fl.f.APIKeys.InvalidateAll()
		}
		if fl.f.Clients != nil {
			fl.f.Clients.InvalidateAll()
		}
		err = fl.reload(c)
	default:
		// A kind a newer program writes: nothing here caches it.
		return
	}
	fl.done(c, err)
}

// reload reloads the signing keys, and remembers c for a retry if that
// fails.
func (fl *follower) reload(c Change) error {
	if fl.f.SigningKeys == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(fl.ctx, reloadTimeout)
	defer cancel()
	if err := fl.f.SigningKeys.Reload(ctx); err != nil {
		fl.pending = &c
		return fmt.Errorf("sqlstore: reloading the signing keys after change %d: %w", c.Seq, err)
	}
	fl.pending = nil
	return nil
}

// retry runs after each read of the log: it retries a failed reload.
func (fl *follower) retry() {
	if fl.pending == nil || fl.ctx.Err() != nil {
		return
	}
	c := *fl.pending
	fl.done(c, fl.reload(c))
}

func (fl *follower) done(c Change, err error) {
	switch {
	case fl.f.OnChange != nil:
		fl.f.OnChange(c, err)
	case err != nil:
		fl.s.report(err)
	}
}
