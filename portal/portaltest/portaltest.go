// Package portaltest provides an in-memory implementation of every store
// a [portal.Portal] needs, for tests and examples: a [Store] is at once
// the portal's Accounts, AccountCreator, Sessions, Keys, Applications and
// Usage, records who did what ([Store.Actions]), and can be told to fail.
//
// It is not for production: passwords are hashed with one SHA-256, not a
// slow password hash, and nothing is kept across restarts.
package portaltest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/audexum/auth/oauth"
	"github.com/audexum/auth/portal"
)

type actorKey struct{}

// WithActor returns ctx naming actor as the one who acts, as
// sqlstore.WithActor does; give it to portal.Config.WithActor.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// actorFrom returns the actor WithActor put in ctx, or "".
func actorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// Action is a change made to a Store: who made it (the actor of the
// call's context), what it was, and the ID it was made to.
type Action struct {
	Actor, Op, ID string
}

// defaultKeyTTL is what a key lives when KeyParams.TTL is zero, and what
// the key a rotation creates lives (as apikey.DefaultTTL).
const defaultKeyTTL = 90 * 24 * time.Hour

type account struct {
	portal.Account
	salt, hash [32]byte
}

// event is one Record call.
type event struct {
	c                   portal.Credential
	at                  time.Time
	requests, throttled int64
	failures            map[string]int64
}

// Store is an in-memory store for a portal. Create one with [New]; it is
// safe for concurrent use.
type Store struct {
	now func() time.Time

	mu       sync.Mutex
	err      error
	accounts map[string]*account // by ID
	byName   map[string]string   // username to ID
	dummy    account
	sessions map[portal.SessionHash]portal.Session
	keys     map[string]portal.Key
	apps     map[string]portal.App
	events   []event
	recent   map[portal.Credential][]portal.Failure
	actions  []Action
}

// New returns an empty Store whose clock is now (time.Now if nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{
		now:      now,
		accounts: map[string]*account{},
		byName:   map[string]string{},
		sessions: map[portal.SessionHash]portal.Session{},
		keys:     map[string]portal.Key{},
		apps:     map[string]portal.App{},
		recent:   map[portal.Credential][]portal.Failure{},
	}
	s.dummy = newAccount(portal.Account{}, "not a password")
	return s
}

func newAccount(a portal.Account, password string) account {
	acc := account{Account: a}
	rand.Read(acc.salt[:])
	acc.hash = hashPassword(acc.salt, password)
	return acc
}

func hashPassword(salt [32]byte, password string) [32]byte {
	return sha256.Sum256(append(salt[:], password...))
}

// SetError makes every later call of a store method fail with err (nil:
// work again), as a database that went away.
func (s *Store) SetError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Actions returns the changes made so far, oldest first.
func (s *Store) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.actions)
}

func (s *Store) did(ctx context.Context, op, id string) {
	s.actions = append(s.actions, Action{Actor: actorFrom(ctx), Op: op, ID: id})
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// AddAccount adds an account and returns it.
func (s *Store) AddAccount(username, password string) portal.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := portal.Account{ID: "usr_" + randomID(12), Username: username}
	acc := newAccount(a, password)
	s.accounts[a.ID] = &acc
	s.byName[username] = a.ID
	return a
}

// DeleteAccount deletes an account, as an operator might.
func (s *Store) DeleteAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[id]; ok {
		delete(s.byName, a.Username)
		delete(s.accounts, id)
	}
}

// Authenticate implements [portal.Accounts]. An unknown username costs
// the same hash and comparison as a known one.
func (s *Store) Authenticate(ctx context.Context, username, password string) (portal.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.Account{}, err
	}
	acc := &s.dummy
	id, known := s.byName[username]
	if known {
		acc = s.accounts[id]
	}
	h := hashPassword(acc.salt, password)
	if subtle.ConstantTimeCompare(h[:], acc.hash[:]) != 1 || !known {
		return portal.Account{}, portal.ErrBadCredentials
	}
	a := acc.Account
	a.PasswordStamp = acc.stamp()
	return a, nil
}

// stamp is the account's PasswordStamp: its password hash, which a
// password change replaces.
func (acc *account) stamp() string { return hex.EncodeToString(acc.hash[:]) }

// Account implements [portal.Accounts].
func (s *Store) Account(ctx context.Context, id string) (portal.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.Account{}, err
	}
	acc, ok := s.accounts[id]
	if !ok {
		return portal.Account{}, portal.ErrNotFound
	}
	return acc.Account, nil
}

// ChangePassword implements [portal.Accounts]. It refuses the password
// "password123" with ErrInvalidPassword, as a store that checks a list of
// breached passwords would.
func (s *Store) ChangePassword(ctx context.Context, id, current, next string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	acc, ok := s.accounts[id]
	if !ok {
		return portal.ErrNotFound
	}
	h := hashPassword(acc.salt, current)
	if subtle.ConstantTimeCompare(h[:], acc.hash[:]) != 1 {
		return portal.ErrBadCredentials
	}
	if next == "password123" {
		return portal.ErrInvalidPassword
	}
	*acc = newAccount(acc.Account, next)
	s.did(ctx, "change_password", id)
	return nil
}

// CreateAccount implements [portal.AccountCreator].
func (s *Store) CreateAccount(ctx context.Context, username, password string) (portal.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.Account{}, err
	}
	if _, taken := s.byName[username]; taken {
		return portal.Account{}, portal.ErrUsernameTaken
	}
	if password == "password123" {
		return portal.Account{}, portal.ErrInvalidPassword
	}
	a := portal.Account{ID: "usr_" + randomID(12), Username: username}
	acc := newAccount(a, password)
	s.accounts[a.ID] = &acc
	s.byName[username] = a.ID
	s.did(ctx, "create_account", a.ID)
	return a, nil
}

// CreateSession implements [portal.Sessions]. It refuses a session whose
// PasswordStamp is set and no longer the account's, or whose account is
// gone, with ErrBadCredentials.
func (s *Store) CreateSession(ctx context.Context, sess portal.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	if sess.PasswordStamp != "" {
		acc, ok := s.accounts[sess.AccountID]
		if !ok || subtle.ConstantTimeCompare([]byte(acc.stamp()), []byte(sess.PasswordStamp)) != 1 {
			return portal.ErrBadCredentials
		}
	}
	sess.PasswordStamp = "" // not kept
	s.sessions[sess.Hash] = sess
	s.did(ctx, "create_session", sess.AccountID)
	return nil
}

// Session implements [portal.Sessions].
func (s *Store) Session(ctx context.Context, h portal.SessionHash) (portal.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.Session{}, err
	}
	sess, ok := s.sessions[h]
	if !ok {
		return portal.Session{}, portal.ErrNotFound
	}
	return sess, nil
}

// TouchSession implements [portal.Sessions].
func (s *Store) TouchSession(ctx context.Context, h portal.SessionHash, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	if sess, ok := s.sessions[h]; ok && at.After(sess.LastSeenAt) {
		sess.LastSeenAt = at
		s.sessions[h] = sess
	}
	return nil
}

// DeleteSession implements [portal.Sessions].
func (s *Store) DeleteSession(ctx context.Context, h portal.SessionHash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	if sess, ok := s.sessions[h]; ok {
		delete(s.sessions, h)
		s.did(ctx, "delete_session", sess.AccountID)
	}
	return nil
}

// DeleteAccountSessions implements [portal.Sessions].
func (s *Store) DeleteAccountSessions(ctx context.Context, accountID string) error {
	return s.deleteSessions(ctx, accountID, nil)
}

// DeleteOtherSessions implements [portal.Sessions].
func (s *Store) DeleteOtherSessions(ctx context.Context, accountID string, keep portal.SessionHash) error {
	return s.deleteSessions(ctx, accountID, &keep)
}

func (s *Store) deleteSessions(ctx context.Context, accountID string, keep *portal.SessionHash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	for h, sess := range s.sessions {
		if sess.AccountID == accountID && (keep == nil || h != *keep) { //consttime:public a test fake's map keys
			delete(s.sessions, h)
		}
	}
	s.did(ctx, "delete_sessions", accountID)
	return nil
}

// Sessions returns every stored session, to check what the store holds.
func (s *Store) Sessions() []portal.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.sessions))
}

// PutKey stores k as it is, without any check: a record from an older
// version or another tool, or one with a past creation time.
func (s *Store) PutKey(k portal.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = k
}

// ListKeys implements [portal.Keys].
func (s *Store) ListKeys(ctx context.Context, owner string) ([]portal.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return nil, err
	}
	var out []portal.Key
	for _, k := range s.keys {
		if k.Owner == owner {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b portal.Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Key implements [portal.Keys].
func (s *Store) Key(ctx context.Context, id string) (portal.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.Key{}, err
	}
	k, ok := s.keys[id]
	if !ok {
		return portal.Key{}, portal.ErrNotFound
	}
	return k, nil
}

// newKey makes a key with the shape of an apikey key (without a valid
// checksum) and its record.
func (s *Store) newKey(p portal.KeyParams, now time.Time) (string, portal.Key) {
	id := randomID(12)
	ttl := p.TTL
	if ttl == 0 {
		ttl = defaultKeyTTL
	}
	k := portal.Key{
		ID: id, Owner: p.Owner, Name: p.Name, Description: p.Description, Scopes: p.Scopes,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	return "adx_test_" + id + "_" + randomID(38), k
}

// CreateKey implements [portal.Keys]. A zero TTL means 90 days, as does
// the key a rotation creates.
func (s *Store) CreateKey(ctx context.Context, p portal.KeyParams) (string, portal.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return "", portal.Key{}, err
	}
	secret, k := s.newKey(p, s.now())
	s.keys[k.ID] = k
	s.did(ctx, "create_key", k.ID)
	return secret, k, nil
}

// RotateKey implements [portal.Keys].
func (s *Store) RotateKey(ctx context.Context, id string, grace time.Duration) (string, portal.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return "", portal.Key{}, err
	}
	old, ok := s.keys[id]
	if !ok {
		return "", portal.Key{}, portal.ErrNotFound
	}
	now := s.now()
	if !old.RevokedAt.IsZero() || old.ReplacedBy != "" || (!old.ExpiresAt.IsZero() && !now.Before(old.ExpiresAt)) {
		return "", portal.Key{}, portal.ErrConflict
	}
	secret, next := s.newKey(portal.KeyParams{Owner: old.Owner, Name: old.Name, Description: old.Description, Scopes: old.Scopes}, now)
	old.ReplacedBy = next.ID
	if until := now.Add(grace); old.ExpiresAt.IsZero() || until.Before(old.ExpiresAt) {
		old.ExpiresAt = until
	}
	s.keys[id] = old
	s.keys[next.ID] = next
	s.did(ctx, "rotate_key", id)
	return secret, next, nil
}

// RevokeKey implements [portal.Keys].
func (s *Store) RevokeKey(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	k, ok := s.keys[id]
	switch {
	case !ok:
		return portal.ErrNotFound
	case !k.RevokedAt.IsZero():
		return portal.ErrConflict
	}
	k.RevokedAt = s.now()
	s.keys[id] = k
	s.did(ctx, "revoke_key", id)
	return nil
}

// PutApp stores a as it is, without any check.
func (s *Store) PutApp(a portal.App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ID] = a
}

// ListApps implements [portal.Applications].
func (s *Store) ListApps(ctx context.Context, owner string) ([]portal.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return nil, err
	}
	var out []portal.App
	for _, a := range s.apps {
		if a.Owner == owner {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b portal.App) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// App implements [portal.Applications].
func (s *Store) App(ctx context.Context, id string) (portal.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.App{}, err
	}
	a, ok := s.apps[id]
	if !ok {
		return portal.App{}, portal.ErrNotFound
	}
	return a, nil
}

// RegisterApp implements [portal.Applications]. Web and server
// applications get a secret; mobile ones none.
func (s *Store) RegisterApp(ctx context.Context, p portal.AppParams) (portal.App, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return portal.App{}, "", err
	}
	if p.Type == oauth.ClientServer && len(p.RedirectURIs) > 0 {
		return portal.App{}, "", errors.New("portaltest: a server client cannot have redirect URIs")
	}
	a := portal.App{
		ID: oauth.ClientIDPrefix + "_" + randomID(16), Owner: p.Owner, Name: p.Name, Type: p.Type,
		RedirectURIs: slices.Clone(p.RedirectURIs), Scopes: p.Scopes, CreatedAt: s.now(),
	}
	var secret string
	if p.Type.Confidential() {
		secret = oauth.SecretPrefix + "_" + randomID(43)
	}
	s.apps[a.ID] = a
	s.did(ctx, "register_app", a.ID)
	return a, secret, nil
}

// RotateAppSecret implements [portal.Applications].
func (s *Store) RotateAppSecret(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return "", err
	}
	a, ok := s.apps[id]
	switch {
	case !ok:
		return "", portal.ErrNotFound
	case !a.Type.Confidential():
		return "", errors.New("portaltest: a public client has no secret")
	}
	s.did(ctx, "rotate_app_secret", id)
	return oauth.SecretPrefix + "_" + randomID(43), nil
}

// DeleteApp implements [portal.Applications].
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return err
	}
	if _, ok := s.apps[id]; !ok {
		return portal.ErrNotFound
	}
	delete(s.apps, id)
	s.did(ctx, "delete_app", id)
	return nil
}

// Record adds usage of c at time at: requests authenticated, requests
// throttled and failed attempts by reason.
func (s *Store) Record(c portal.Credential, at time.Time, requests, throttled int64, failures map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event{c: c, at: at, requests: requests, throttled: throttled, failures: maps.Clone(failures)})
}

// AddFailure adds f to c's recent failures. It does not change the
// counts: Record those.
func (s *Store) AddFailure(c portal.Credential, f portal.Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent[c] = append(s.recent[c], f)
}

// Buckets implements [portal.Usage]: it sums the recorded usage into the
// intervals asked for and leaves out those without any.
func (s *Store) Buckets(ctx context.Context, c portal.Credential, from time.Time, step time.Duration, n int) ([]portal.Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return nil, err
	}
	byIndex := map[int]*portal.Bucket{}
	for _, e := range s.events {
		d := e.at.Sub(from)
		if e.c != c || d < 0 || d >= time.Duration(n)*step {
			continue
		}
		i := int(d / step)
		b := byIndex[i]
		if b == nil {
			b = &portal.Bucket{Start: from.Add(time.Duration(i) * step), Failures: map[string]int64{}}
			byIndex[i] = b
		}
		b.Requests += e.requests
		b.Throttled += e.throttled
		for r, v := range e.failures {
			b.Failures[r] += v
		}
	}
	var out []portal.Bucket
	for _, i := range slices.Sorted(maps.Keys(byIndex)) {
		out = append(out, *byIndex[i])
	}
	return out, nil
}

// RecentFailures implements [portal.Usage].
func (s *Store) RecentFailures(ctx context.Context, c portal.Credential, limit int) ([]portal.Failure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err; err != nil {
		return nil, err
	}
	out := slices.Clone(s.recent[c])
	slices.SortStableFunc(out, func(a, b portal.Failure) int { return b.At.Compare(a.At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// The Store implements every store interface of the portal.
var (
	_ portal.Accounts       = (*Store)(nil)
	_ portal.AccountCreator = (*Store)(nil)
	_ portal.Sessions       = (*Store)(nil)
	_ portal.Keys           = (*Store)(nil)
	_ portal.Applications   = (*Store)(nil)
	_ portal.Usage          = (*Store)(nil)
)
