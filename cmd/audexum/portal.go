package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/audexum/auth/portal"
	"github.com/audexum/auth/sqlstore"
)

// The Developer Portal that serve mounts at /portal/. The portal package
// does the pages, and its ManagerKeys and ClientManagerApps fit the key manager
// and client registry the CLI uses; what is here fits the rest to this
// server's tables: accounts (the users of `user add`, argon2id in
// users.go), sessions and usage (sqlstore). Everything the portal changes
// goes through the same stores as the CLI, so it is audited (actor
// "portal:USERNAME") and on the change log that running servers follow.

// newPortal returns the portal on a's stores. signUp offers
// /portal/signup (serve --allow-signup).
func newPortal(a *app, signUp bool) (*portal.Portal, error) {
	accounts := portalAccounts{users: a.sys.users}
	cfg := portal.Config{
		Accounts: accounts,
		Sessions: &portalSessions{
			store: a.sys.store.Sessions(),
			idle:  portal.DefaultIdleTimeout,
			onError: func(err error) {
				a.metrics.storeErrors.WithLabelValues("portal").Inc()
				a.logger.Error("portal: prune sessions", "err", err)
			},
		},
		Keys:         portal.ManagerKeys{Manager: a.sys.keys},
		Applications: portal.ClientManagerApps{Manager: a.sys.registry, Clients: a.sys.store.Clients()},
		Usage:        portalUsage{audit: a.sys.store.AuditLog()},
		ScopeCatalog: scopeCatalog,
		WithActor:    sqlstore.WithActor,
		// The consent page's counter: a guesser's failures at either
		// sign-in page count together.
		SignInAttempts: a.signIns,
		OnError: func(r *http.Request, err error) {
			a.metrics.storeErrors.WithLabelValues("portal").Inc()
			a.logger.Error("portal", "path", r.URL.Path, "err", err)
		},
	}
	if signUp {
		cfg.SignUp = accounts
	}
	return portal.New(cfg)
}

// portalAccounts is the portal's Accounts and AccountCreator: the users
// of `user add`.
type portalAccounts struct{ users *userStore }

// Authenticate implements portal.Accounts. The stamp is the hash the
// password was verified against, which sqlstore's CreateSession checks.
func (pa portalAccounts) Authenticate(ctx context.Context, username, password string) (portal.Account, error) {
	u, err := pa.users.authenticate(ctx, username, password)
	switch {
	case errors.Is(err, errBadCredentials):
		return portal.Account{}, portal.ErrBadCredentials
	case err != nil:
		return portal.Account{}, err
	}
	return portal.Account{ID: u.ID, Username: u.Username, PasswordStamp: u.passwordHash}, nil
}

// Account implements portal.Accounts.
func (pa portalAccounts) Account(ctx context.Context, id string) (portal.Account, error) {
	u, err := pa.users.byID(ctx, id)
	switch {
	case errors.Is(err, sqlstore.ErrUserNotFound):
		return portal.Account{}, fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	case err != nil:
		return portal.Account{}, err
	}
	return portal.Account{ID: u.ID, Username: u.Username}, nil
}

// ChangePassword implements portal.Accounts; the portal ends the other
// sessions next.
func (pa portalAccounts) ChangePassword(ctx context.Context, id, current, next string) error {
	err := pa.users.changePassword(ctx, id, current, next)
	switch {
	case errors.Is(err, errBadCredentials):
		return portal.ErrBadCredentials
	case errors.Is(err, errInvalidPassword):
		return fmt.Errorf("%w: %w", portal.ErrInvalidPassword, err)
	case errors.Is(err, sqlstore.ErrUserNotFound):
		return fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	}
	return err
}

// CreateAccount implements portal.AccountCreator: `user add` from the
// sign-up page, audited as the new user.
func (pa portalAccounts) CreateAccount(ctx context.Context, username, password string) (portal.Account, error) {
	u, err := pa.users.add(ctx, username, password, time.Now())
	switch {
	case errors.Is(err, errUserExists):
		return portal.Account{}, portal.ErrUsernameTaken
	case errors.Is(err, errInvalidPassword):
		return portal.Account{}, fmt.Errorf("%w: %w", portal.ErrInvalidPassword, err)
	case err != nil:
		return portal.Account{}, err
	}
	// No PasswordStamp: no password was checked, and nobody else knows
	// this one yet.
	return portal.Account{ID: u.ID, Username: u.Username}, nil
}

// sessionPruneInterval is how often a sign-in also deletes the sessions
// of every user that have ended (sqlstore's CreateSession deletes the
// signing-in user's own).
const sessionPruneInterval = time.Minute

// portalSessions is the portal's Sessions: sqlstore's user_sessions.
type portalSessions struct {
	store *sqlstore.Sessions
	// idle is the portal's idle timeout, which sqlstore enforces too.
	idle    time.Duration
	onError func(error)

	mu         sync.Mutex
	lastPruned time.Time
}

// CreateSession implements portal.Sessions. The password hash the
// sign-in verified goes to sqlstore, which refuses the session if a
// password change replaced the hash meanwhile (ErrPasswordChanged) or the
// user is gone: the sign-in's password is no longer right.
func (ps *portalSessions) CreateSession(ctx context.Context, s portal.Session) error {
	err := ps.store.CreateSession(ctx, sqlstore.Session{
		Hash: s.Hash, UserID: s.AccountID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
		IdleTimeout: ps.idle, ExpiresAt: s.ExpiresAt,
	}, s.PasswordStamp)
	switch {
	case errors.Is(err, sqlstore.ErrPasswordChanged), errors.Is(err, sqlstore.ErrUserNotFound):
		return fmt.Errorf("%w: %w", portal.ErrBadCredentials, err)
	case err != nil:
		return err
	}
	ps.prune(ctx, s.CreatedAt)
	return nil
}

// prune deletes ended sessions of every user, at most once per
// sessionPruneInterval. A failure does not fail the sign-in: ended
// sessions are refused whether or not they are deleted.
func (ps *portalSessions) prune(ctx context.Context, now time.Time) {
	ps.mu.Lock()
	due := now.Sub(ps.lastPruned) >= sessionPruneInterval
	if due {
		ps.lastPruned = now
	}
	ps.mu.Unlock()
	if !due {
		return
	}
	if _, err := ps.store.PruneSessions(ctx, now); err != nil && ps.onError != nil {
		ps.onError(err)
	}
}

func sessionFrom(s sqlstore.Session) portal.Session {
	return portal.Session{Hash: s.Hash, AccountID: s.UserID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt}
}

// Session implements portal.Sessions. sqlstore's Session records the use
// itself (at most once a minute), so the portal seldom needs to touch it.
func (ps *portalSessions) Session(ctx context.Context, h portal.SessionHash) (portal.Session, error) {
	s, err := ps.store.Session(ctx, h, time.Now())
	switch {
	case errors.Is(err, sqlstore.ErrSessionNotFound):
		return portal.Session{}, fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	case err != nil:
		return portal.Session{}, err
	}
	return sessionFrom(s), nil
}

// TouchSession implements portal.Sessions: a read at at moves LastSeenAt
// forward.
func (ps *portalSessions) TouchSession(ctx context.Context, h portal.SessionHash, at time.Time) error {
	_, err := ps.store.Session(ctx, h, at)
	if errors.Is(err, sqlstore.ErrSessionNotFound) {
		return nil
	}
	return err
}

// DeleteSession implements portal.Sessions.
func (ps *portalSessions) DeleteSession(ctx context.Context, h portal.SessionHash) error {
	return ps.store.DeleteSession(ctx, h)
}

// DeleteAccountSessions implements portal.Sessions.
func (ps *portalSessions) DeleteAccountSessions(ctx context.Context, accountID string) error {
	_, err := ps.store.DeleteUserSessions(ctx, accountID)
	return err
}

// DeleteOtherSessions implements portal.Sessions.
func (ps *portalSessions) DeleteOtherSessions(ctx context.Context, accountID string, keep portal.SessionHash) error {
	_, err := ps.store.DeleteOtherSessions(ctx, accountID, keep)
	return err
}

// portalUsage is the portal's Usage: the request counts, failure counts
// and recent failures serve records (see failureRow), summed by sqlstore
// into hours and UTC days.
type portalUsage struct{ audit *sqlstore.AuditLog }

// Buckets implements portal.Usage for the two windows the portal asks
// for: hourly and daily, ending with the interval that holds
// from+(n-1)*step. sqlstore's windows are 24 hours and 30 days, the
// portal's too; other intervals are ignored by the portal.
func (pu portalUsage) Buckets(ctx context.Context, c portal.Credential, from time.Time, step time.Duration, n int) ([]portal.Bucket, error) {
	last := from.Add(time.Duration(n-1) * step)
	var (
		bs  []sqlstore.UsageBucket
		err error
	)
	switch step {
	case time.Hour:
		bs, err = pu.audit.HourlyUsage(ctx, c.ID, last)
	case 24 * time.Hour:
		bs, err = pu.audit.DailyUsage(ctx, c.ID, last)
	default:
		return nil, fmt.Errorf("usage: no counts by %v", step)
	}
	if err != nil {
		return nil, err
	}
	out := make([]portal.Bucket, len(bs))
	for i, b := range bs {
		out[i] = portal.Bucket{Start: b.Start, Requests: b.Requests}
		for reason, n := range b.Failures {
			// Refusals for too many requests are not failed
			// authentications: the portal counts them apart.
			if throttledReason(reason) {
				out[i].Throttled += n
				continue
			}
			if out[i].Failures == nil {
				out[i].Failures = map[string]int64{}
			}
			out[i].Failures[reason] += n
		}
	}
	return out, nil
}

// RecentFailures implements portal.Usage.
func (pu portalUsage) RecentFailures(ctx context.Context, c portal.Credential, limit int) ([]portal.Failure, error) {
	fs, err := pu.audit.RecentFailures(ctx, c.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Failure, len(fs))
	for i, f := range fs {
		out[i] = portal.Failure{At: f.At, Reason: f.Reason, Network: parseNetwork(f.Network)}
	}
	return out, nil
}

// parseNetwork reads a network as clientNetwork writes it: an address
// (IPv4) or a prefix (an IPv6 /64); the zero Prefix for "unknown".
func parseNetwork(s string) netip.Prefix {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen())
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	return netip.Prefix{}
}
