package apikey

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/audexum/auth"
	"github.com/audexum/auth/internal/label"
)

// Lifetimes. The 90-day default follows the product's advice to rotate
// keys at least every 90 days.
const (
	DefaultTTL           = 90 * 24 * time.Hour
	DefaultRotationGrace = 24 * time.Hour
	MaxRotationGrace     = 7 * 24 * time.Hour
)

// Limits on the free-text fields of a key.
const (
	MaxNameLength        = 200
	MaxOwnerLength       = 200
	MaxDescriptionLength = 2000
	MaxReasonLength      = 500
)

// ManagerConfig configures a [Manager].
type ManagerConfig struct {
	// Store keeps the records. Required.
	Store Store

	// Hasher hashes new keys. If nil, plain SHA-256. A [Verifier] built
	// from this Manager uses the same Hasher.
	Hasher *Hasher

	// Prefix is the first field of new keys: 2 to 8 lower-case letters or
	// digits. If empty, [DefaultPrefix] ("adx").
	Prefix string

	// DefaultTTL is the lifetime of a new key, and of the key a rotation
	// creates. If zero, [DefaultTTL] (90 days).
	DefaultTTL time.Duration

	// RotationGrace is how long a rotated-out key keeps working, so
	// clients can switch: its expiry becomes the earlier of its own and
	// now + RotationGrace. If zero, [DefaultRotationGrace] (24 h); at most
	// [MaxRotationGrace] (7 days). To cut a key off at once, revoke it.
	RotationGrace time.Duration

	// ScopeCatalog is the server's scope catalog: if set, Create refuses a
	// key with a scope outside it, and Rotate a key whose scopes are no
	// longer all in it, so no new key carries a scope the server does not
	// define. Give the same catalog to the oauth package.
	//
	// If nil, keys may have any well-formed scopes. That is not weaker
	// than it looks: a catalog says which scopes exist, not who may have
	// them, so it grants nothing; a nil one only loses the refusal of
	// typos and of scopes with no meaning yet. Where untrusted users choose
	// scopes, decide which they may have before calling Create either way.
	ScopeCatalog *auth.ScopeCatalog

	// Now returns the current time. If nil, [time.Now].
	Now func() time.Time
}

// Manager creates, lists, rotates and revokes keys. Create one with
// [NewManager]; it is safe for concurrent use.
type Manager struct {
	store  Store
	hasher *Hasher
	prefix string
	ttl    time.Duration
	grace  time.Duration
	scopes *auth.ScopeCatalog
	now    func() time.Time

	mu     sync.Mutex
	subs   map[uint64]func(id string)
	nextID uint64
}

// NewManager returns a Manager for cfg. It fails with an error wrapping
// [ErrInvalidConfig] if Store is nil, Prefix is not valid, or a duration is
// negative or out of range.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	m := &Manager{
		store:  cfg.Store,
		hasher: cfg.Hasher,
		prefix: cfg.Prefix,
		ttl:    cfg.DefaultTTL,
		grace:  cfg.RotationGrace,
		scopes: cfg.ScopeCatalog,
		now:    cfg.Now,
	}
	if m.store == nil {
		return nil, fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	}
	var err error
	if m.prefix, err = checkPrefix(m.prefix); err != nil {
		return nil, err
	}
	switch {
	case m.ttl < 0:
		return nil, fmt.Errorf("%w: negative DefaultTTL", ErrInvalidConfig)
	case m.ttl == 0:
		m.ttl = DefaultTTL
	}
	switch {
	case m.grace < 0:
		return nil, fmt.Errorf("%w: negative RotationGrace", ErrInvalidConfig)
	case m.grace == 0:
		m.grace = DefaultRotationGrace
	case m.grace > MaxRotationGrace:
		return nil, fmt.Errorf("%w: RotationGrace above %v", ErrInvalidConfig, MaxRotationGrace)
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

func checkPrefix(p string) (string, error) {
	if p == "" {
		return DefaultPrefix, nil
	}
	if len(p) < minPrefixLength || len(p) > maxPrefixLength || !validPrefix(p) {
		return "", fmt.Errorf("%w: Prefix must be %d to %d lower-case letters or digits", ErrInvalidConfig, minPrefixLength, maxPrefixLength)
	}
	return p, nil
}

// subscribe registers fn to be called with the ID of every key whose
// record the Manager changed, after the store has changed it and before
// the changing method returns. The returned function unregisters fn.
func (m *Manager) subscribe(fn func(id string)) (cancel func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs == nil {
		m.subs = make(map[uint64]func(string))
	}
	n := m.nextID
	m.nextID++
	m.subs[n] = fn
	return func() {
		m.mu.Lock()
		delete(m.subs, n)
		m.mu.Unlock()
	}
}

func (m *Manager) changed(ids ...string) {
	m.mu.Lock()
	subs := make([]func(string), 0, len(m.subs))
	for _, fn := range m.subs {
		subs = append(subs, fn)
	}
	m.mu.Unlock()
	for _, fn := range subs {
		for _, id := range ids {
			fn(id)
		}
	}
}

// timeNow is the manager's clock in UTC at microsecond precision, the
// finest a SQL store keeps, so stored and returned records agree.
func (m *Manager) timeNow() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// CreateParams describes a new key.
type CreateParams struct {
	// Name is a short label shown in listings. Required; at most
	// [MaxNameLength] bytes of UTF-8.
	Name string
	// Description is optional, at most [MaxDescriptionLength] bytes.
	Description string
	// Owner is who the key acts for: the principal's Subject. For a key
	// that belongs to an account (in its developer portal, acting for it
	// behind auth.RequireAccount), the account's ID, never a name that
	// could be renamed; otherwise any label. Required; at most
	// [MaxOwnerLength] bytes.
	Owner string
	// Scopes are the permissions the key grants. Grant the fewest that
	// work. Empty means a key that passes no scope check. With a
	// [ManagerConfig.ScopeCatalog], each must be in the catalog (matched
	// case-sensitively).
	Scopes auth.Scopes
	// Env is the key's environment. If empty, [EnvLive].
	Env Env
	// TTL is the key's lifetime. If zero, the Manager's DefaultTTL.
	TTL time.Duration
	// NoExpiry makes a key that never expires. It is never the default:
	// such a key stays valid until revoked, however long it leaks for.
	// TTL must then be zero.
	NoExpiry bool
}

func (p *CreateParams) check() error {
	switch {
	case !label.Valid(p.Name, MaxNameLength):
		return fmt.Errorf("%w: Name must be 1 to %d bytes of UTF-8, not only white space, without control or format characters", ErrInvalidParams, MaxNameLength)
	case p.Owner == "" || len(p.Owner) > MaxOwnerLength || !utf8.ValidString(p.Owner):
		return fmt.Errorf("%w: Owner must be 1 to %d bytes of UTF-8", ErrInvalidParams, MaxOwnerLength)
	case p.Description != "" && !label.Valid(p.Description, MaxDescriptionLength):
		return fmt.Errorf("%w: Description must be at most %d bytes of UTF-8, without control or format characters", ErrInvalidParams, MaxDescriptionLength)
	case p.Env != "" && p.Env != EnvLive && p.Env != EnvTest:
		return fmt.Errorf("%w: Env must be %q or %q", ErrInvalidParams, EnvLive, EnvTest)
	case p.TTL < 0:
		return fmt.Errorf("%w: negative TTL", ErrInvalidParams)
	case p.NoExpiry && p.TTL != 0:
		return fmt.Errorf("%w: TTL set with NoExpiry", ErrInvalidParams)
	}
	return nil
}

// maxIDAttempts bounds retries on an ID collision, which with 71 bits of
// randomness per ID does not happen; a store that keeps reporting one is
// broken.
const maxIDAttempts = 3

// Create makes a new key and stores its record. It returns the key itself
// (the only time it is ever available: store it or show it to the user
// now) and the stored record. It fails with an error wrapping
// [ErrInvalidParams] for unusable params (also wrapping
// [auth.ErrUnknownScope], with a message naming the scope and the known
// ones, for a scope outside the [ManagerConfig.ScopeCatalog]), or the
// store's error.
func (m *Manager) Create(ctx context.Context, p CreateParams) (key string, rec Record, err error) {
	if err := p.check(); err != nil {
		return "", Record{}, err
	}
	if err := m.checkScopes(p.Scopes); err != nil {
		return "", Record{}, err
	}
	now := m.timeNow()
	rec = Record{
		Env:         p.Env,
		Name:        p.Name,
		Description: p.Description,
		Owner:       p.Owner,
		Scopes:      p.Scopes,
		CreatedAt:   now,
	}
	if rec.Env == "" {
		rec.Env = EnvLive
	}
	switch {
	case p.NoExpiry:
	case p.TTL != 0:
		rec.ExpiresAt = now.Add(p.TTL)
	default:
		rec.ExpiresAt = now.Add(m.ttl)
	}
	for range maxIDAttempts {
		if key, err = m.newKey(&rec); err != nil {
			return "", Record{}, err
		}
		err = m.store.CreateKey(ctx, rec)
		if !errors.Is(err, ErrDuplicateID) {
			break
		}
	}
	if err != nil {
		return "", Record{}, fmt.Errorf("apikey: create: %w", err)
	}
	// A negative cache entry for the new ID would be a near-impossible
	// coincidence; clearing it costs nothing.
	m.changed(rec.ID)
	return key, rec, nil
}

// checkScopes enforces the scope catalog, if there is one.
func (m *Manager) checkScopes(s auth.Scopes) error {
	if m.scopes == nil {
		return nil
	}
	if err := m.scopes.Check(s); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidParams, err)
	}
	return nil
}

// newKey generates a key for rec's environment and sets rec's ID, hash and
// pepper version.
func (m *Manager) newKey(rec *Record) (string, error) {
	key, id := generate(m.prefix, rec.Env)
	v := m.hasher.currentVersion()
	sum, ok := m.hasher.hash(key, v)
	if !ok {
		return "", fmt.Errorf("%w: current pepper missing", ErrInvalidConfig)
	}
	rec.ID, rec.Hash, rec.PepperVersion = id, sum, v
	return key, nil
}

// Get returns the record of the key with the given ID, or an error
// wrapping [ErrNotFound].
func (m *Manager) Get(ctx context.Context, id string) (Record, error) {
	rec, err := m.store.Key(ctx, id)
	if err != nil {
		return Record{}, fmt.Errorf("apikey: get: %w", err)
	}
	return rec, nil
}

// List returns the records f selects, ordered by creation time. Records
// hold no secrets.
func (m *Manager) List(ctx context.Context, f Filter) ([]Record, error) {
	recs, err := m.store.ListKeys(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("apikey: list: %w", err)
	}
	return recs, nil
}

// Revoke revokes the key with the given ID for the given reason (kept in
// the record; at most [MaxReasonLength] bytes). When Revoke returns nil,
// no request that a [Verifier] built on this Manager begins afterwards
// accepts the key; verifiers in other processes stop within their cache
// TTL. It fails with an error wrapping [ErrNotFound],
// [ErrAlreadyRevoked] (the first revocation stands) or the store's error.
func (m *Manager) Revoke(ctx context.Context, id, reason string) error {
	if len(reason) > MaxReasonLength || !utf8.ValidString(reason) {
		return fmt.Errorf("%w: reason must be at most %d bytes of UTF-8", ErrInvalidParams, MaxReasonLength)
	}
	err := m.store.RevokeKey(ctx, id, m.timeNow(), reason)
	if err != nil && !errors.Is(err, ErrAlreadyRevoked) {
		return fmt.Errorf("apikey: revoke: %w", err)
	}
	// Also on ErrAlreadyRevoked: another process may have revoked it, and
	// this process's cache must not keep a stale positive entry.
	m.changed(id)
	if err != nil {
		return fmt.Errorf("apikey: revoke: %w", err)
	}
	return nil
}

// Rotate replaces the key with the given ID by a new one with the same
// name, description, owner, scopes and environment and a fresh DefaultTTL
// term, and returns the new key (shown once, as by Create) and its record.
// The old key keeps working until the earlier of its own expiry and now +
// RotationGrace, so clients can switch over.
//
// Rotation is atomic: of several concurrent rotations of one key exactly
// one succeeds. It refuses a key that is revoked, expired or already
// rotated with an error wrapping [ErrNotActive] and [auth.ErrRevoked],
// [auth.ErrExpired] or [ErrAlreadyRotated]; an unknown ID gives
// [ErrNotFound]. A key with a scope no longer in the
// [ManagerConfig.ScopeCatalog] is not rotated (an error wrapping
// [ErrInvalidParams] and [auth.ErrUnknownScope]): revoke it and create one
// with the scopes the catalog has.
func (m *Manager) Rotate(ctx context.Context, id string) (key string, rec Record, err error) {
	return m.RotateWithGrace(ctx, id, m.grace)
}

// RotateWithGrace is [Manager.Rotate] with a grace period of its own
// instead of RotationGrace: at most [MaxRotationGrace], and zero for a key
// that leaked, whose replacement must take over at once (the old key is
// refused from now on, as if revoked, while the new one keeps its name,
// owner and scopes). A negative or too long grace is an error wrapping
// [ErrInvalidParams].
func (m *Manager) RotateWithGrace(ctx context.Context, id string, grace time.Duration) (key string, rec Record, err error) {
	if grace < 0 || grace > MaxRotationGrace {
		return "", Record{}, fmt.Errorf("%w: rotation grace must be 0 to %v", ErrInvalidParams, MaxRotationGrace)
	}
	old, err := m.store.Key(ctx, id)
	if err != nil {
		return "", Record{}, fmt.Errorf("apikey: rotate: %w", err)
	}
	now := m.timeNow()
	if err := inactive(&old, now); err != nil {
		return "", Record{}, err
	}
	if err := m.checkScopes(old.Scopes); err != nil {
		return "", Record{}, err
	}
	rec = Record{
		Env:         old.Env,
		Name:        old.Name,
		Description: old.Description,
		Owner:       old.Owner,
		Scopes:      old.Scopes,
		CreatedAt:   now,
		ExpiresAt:   now.Add(m.ttl),
		RotatedFrom: old.ID,
	}
	for range maxIDAttempts {
		if key, err = m.newKey(&rec); err != nil {
			return "", Record{}, err
		}
		err = m.store.RotateKey(ctx, old.ID, rec, now.Add(grace), now)
		if !errors.Is(err, ErrDuplicateID) {
			break
		}
	}
	if errors.Is(err, ErrNotActive) {
		// Lost a race (or the key changed since Get): say why, if the
		// store can tell us.
		if cur, gerr := m.store.Key(ctx, id); gerr == nil {
			if why := inactive(&cur, now); why != nil {
				return "", Record{}, why
			}
		}
	}
	if err != nil {
		return "", Record{}, fmt.Errorf("apikey: rotate: %w", err)
	}
	m.changed(old.ID, rec.ID)
	return key, rec, nil
}

// inactive explains why a key cannot be rotated, or returns nil.
func inactive(r *Record, now time.Time) error {
	switch {
	case r.Revoked():
		return fmt.Errorf("%w: %w", ErrNotActive, auth.ErrRevoked)
	case r.ReplacedBy != "":
		return fmt.Errorf("%w: %w", ErrNotActive, ErrAlreadyRotated)
	case r.Expired(now):
		return fmt.Errorf("%w: %w", ErrNotActive, auth.ErrExpired)
	}
	return nil
}

// Expiring returns the keys that still work now but expire within the
// given duration, for expiry notices. Revoked, expired and rotated-out keys
// are left out (a rotated-out key expires by design).
func (m *Manager) Expiring(ctx context.Context, within time.Duration) ([]Record, error) {
	if within <= 0 {
		return nil, fmt.Errorf("%w: Expiring needs a positive duration", ErrInvalidParams)
	}
	now := m.timeNow()
	recs, err := m.store.ListKeys(ctx, Filter{ExpiresBefore: now.Add(within)})
	if err != nil {
		return nil, fmt.Errorf("apikey: expiring: %w", err)
	}
	out := recs[:0]
	for _, r := range recs {
		if r.Active(now) && r.ReplacedBy == "" {
			out = append(out, r)
		}
	}
	return out, nil
}
