package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"

	"github.com/audexum/auth/internal/jws"
)

// Defaults of [KeyManagerConfig].
const (
	// DefaultJWKSMaxAge is the Cache-Control max-age of the JWKS handler
	// when KeyManagerConfig.JWKSMaxAge is zero.
	DefaultJWKSMaxAge = 5 * time.Minute
	// generatedRSABits is the size of generated RSA keys.
	generatedRSABits = 2048
)

// KeyManagerConfig configures a [KeyManager].
type KeyManagerConfig struct {
	// Algorithm is the algorithm of the keys the set generates: [ES256],
	// [RS256] or [EdDSA] (any algorithm of [Config.Algorithms] works). If
	// empty, ES256. Keys already in the store keep their own algorithm.
	Algorithm string

	// Store persists the private keys. If nil, they live in memory only
	// ([NewMemoryKeyStore]) and a restart makes new ones, so tokens signed
	// before it stop verifying.
	Store KeyStore

	// MaxTokenLifetime is the longest lifetime a [Signer] may give a token
	// signed with this set. A retired key stays published this long (plus
	// [MaxLeeway]) after its retirement, until every token it signed has
	// expired. If zero, [DefaultMaxTokenLifetime]. A [Verifier] given the
	// set must accept tokens this long (its Config.MaxTokenLifetime).
	MaxTokenLifetime time.Duration

	// JWKSMaxAge is the Cache-Control max-age of [KeyManager.JWKSHandler]. If
	// zero, [DefaultJWKSMaxAge].
	JWKSMaxAge time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// KeyStore persists the private keys of a [KeyManager], so they survive a
// restart and several instances share them. Implementations must be safe
// for concurrent use. SaveKeys replaces the whole set (a handful of keys);
// LoadKeys returns what the last SaveKeys stored, or nothing. The keys are
// secrets: keep them encrypted at rest.
//
// A shared store may refuse a SaveKeys computed from a stale copy (another
// instance rotated meanwhile): [KeyManager.Rotate] then fails without
// changing anything, and the caller reloads ([KeyManager.Reload]) and
// decides again.
type KeyStore interface {
	LoadKeys(ctx context.Context) ([]StoredKey, error)
	SaveKeys(ctx context.Context, keys []StoredKey) error
}

// StoredKey is one key of a [KeyManager] in serialised form.
type StoredKey struct {
	// ID is the key's "kid": its RFC 7638 thumbprint (SHA-256,
	// base64url). It is checked against the key when loaded.
	ID string
	// Algorithm is the one JWS algorithm the key signs with.
	Algorithm string
	// PrivateKey is the private key, PKCS #8 DER.
	PrivateKey []byte
	// CreatedAt is when the key was generated.
	CreatedAt time.Time
	// ActivatedAt is when the key started signing. Zero for the next key,
	// published ahead of its use so verifiers already know it when it
	// becomes active.
	ActivatedAt time.Time
	// RetiredAt is when the key stopped signing. Zero while it signs or is
	// next. A retired key is published until RetiredAt plus the maximum
	// token lifetime and leeway, then dropped (see [Config.KeyManager]).
	RetiredAt time.Time
}

// MemoryKeyStore is a [KeyStore] in memory, for tests and single-process
// servers that accept new keys on restart. It is safe for concurrent use.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys []StoredKey
}

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore { return &MemoryKeyStore{} }

// LoadKeys returns a copy of the saved keys.
func (m *MemoryKeyStore) LoadKeys(context.Context) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneStored(m.keys), nil
}

// SaveKeys replaces the saved keys with a copy of keys.
func (m *MemoryKeyStore) SaveKeys(_ context.Context, keys []StoredKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = cloneStored(keys)
	return nil
}

func cloneStored(keys []StoredKey) []StoredKey {
	out := slices.Clone(keys)
	for i := range out {
		out[i].PrivateKey = slices.Clone(out[i].PrivateKey)
	}
	return out
}

// KeyManager holds the signing keys of an authorization server: one active
// key that signs, one next key published ahead, and retired keys still
// published until the tokens they signed have expired. Create one with
// [NewKeyManager]; sign with a [Signer]; publish with [KeyManager.JWKSHandler]. A
// KeyManager is safe for concurrent use.
type KeyManager struct {
	alg         *algorithm
	store       KeyStore
	maxLifetime time.Duration
	maxAge      time.Duration
	now         func() time.Time

	mu     sync.Mutex // serialises changes
	keys   []*setKey  // next, active, retired; guarded by mu
	active atomic.Pointer[setKey]
	jwks   atomic.Pointer[[]byte] // published JSON
	public *jwkset.MemoryJWKSet   // published public keys, for an in-process Verifier
	// retired maps the ID of every published key to when it was retired,
	// in Unix seconds, +Inf while it signs or is next: an in-process
	// Verifier refuses tokens a key signed after its retirement. Replaced
	// whole with public, read without a lock on every request.
	retired atomic.Pointer[map[string]float64]
}

// setKey is a key of the set, ready to sign.
type setKey struct {
	stored StoredKey
	signer jose.Signer
	public jwkset.JWK
}

// NewKeyManager returns a key set that loads its keys from cfg.Store,
// generating and saving an active and a next key if there are none. It
// fails with an error wrapping [ErrInvalidConfig] for an unknown
// algorithm, or [ErrKeyStore] when the store fails or holds a key that
// does not parse or match its ID.
func NewKeyManager(cfg KeyManagerConfig) (*KeyManager, error) {
	ks := &KeyManager{
		store:       cfg.Store,
		maxLifetime: orDefault(cfg.MaxTokenLifetime, DefaultMaxTokenLifetime),
		maxAge:      orDefault(cfg.JWKSMaxAge, DefaultJWKSMaxAge),
		now:         cfg.Now,
		public:      jwkset.NewMemoryStorage(),
	}
	name := cfg.Algorithm
	if name == "" {
		name = ES256
	}
	if ks.alg = lookupAlgorithm(name); ks.alg == nil {
		return nil, configError("key set algorithm %q is not supported", name)
	}
	if cfg.MaxTokenLifetime < 0 || cfg.JWKSMaxAge < 0 {
		return nil, configError("negative duration")
	}
	if ks.store == nil {
		ks.store = NewMemoryKeyStore()
	}
	if ks.now == nil {
		ks.now = time.Now
	}
	if err := ks.Reload(context.Background()); err != nil {
		return nil, err
	}
	return ks, nil
}

// Reload reads the keys from the store again, for a server sharing its
// store with instances that may have rotated. It generates and saves an
// active and a next key when the store lacks them.
func (ks *KeyManager) Reload(ctx context.Context) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	keys, err := ks.load(ctx)
	if err != nil {
		return err
	}
	now := ks.now()
	changed := false
	if activeOf(keys) == nil {
		k, err := ks.generate(now)
		if err != nil {
			return err
		}
		k.stored.ActivatedAt = now
		keys, changed = append(keys, k), true
	}
	if nextOf(keys) == nil {
		k, err := ks.generate(now)
		if err != nil {
			return err
		}
		keys, changed = append(keys, k), true
	}
	if changed {
		if err := ks.save(ctx, keys); err != nil {
			// Another instance sharing the store may have saved its
			// first keys just before: use them if they are complete.
			again, lerr := ks.load(ctx)
			if lerr != nil || activeOf(again) == nil || nextOf(again) == nil {
				return err
			}
			keys = again
		}
	}
	return ks.install(ctx, keys)
}

// load reads and parses the stored keys.
func (ks *KeyManager) load(ctx context.Context) ([]*setKey, error) {
	stored, err := ks.store.LoadKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: load: %w", ErrKeyStore, err)
	}
	keys := make([]*setKey, 0, len(stored)+2)
	for _, s := range stored {
		k, err := parseStoredKey(s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Rotate makes the next key active, retires the active key (it stays
// published until the tokens it signed have expired), generates a new next
// key, drops retired keys whose tokens have all expired, and saves the set.
// On error nothing changes.
func (ks *KeyManager) Rotate(ctx context.Context) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := ks.now()
	next, err := ks.generate(now)
	if err != nil {
		return err
	}
	keep := now.Add(-ks.maxLifetime - MaxLeeway)
	keys := make([]*setKey, 0, len(ks.keys)+1)
	for _, old := range ks.keys {
		k := *old
		switch {
		case !k.stored.RetiredAt.IsZero():
			if k.stored.RetiredAt.Before(keep) {
				continue
			}
		case k.stored.ActivatedAt.IsZero():
			k.stored.ActivatedAt = now
		default:
			k.stored.RetiredAt = now
		}
		keys = append(keys, &k)
	}
	keys = append(keys, next)
	if err := ks.save(ctx, keys); err != nil {
		return err
	}
	return ks.install(ctx, keys)
}

func activeOf(keys []*setKey) *setKey {
	var a *setKey
	for _, k := range keys {
		if k.stored.RetiredAt.IsZero() && !k.stored.ActivatedAt.IsZero() &&
			(a == nil || k.stored.ActivatedAt.After(a.stored.ActivatedAt)) {
			a = k
		}
	}
	return a
}

func nextOf(keys []*setKey) *setKey {
	for _, k := range keys {
		if k.stored.ActivatedAt.IsZero() && k.stored.RetiredAt.IsZero() {
			return k
		}
	}
	return nil
}

func (ks *KeyManager) save(ctx context.Context, keys []*setKey) error {
	stored := make([]StoredKey, len(keys))
	for i, k := range keys {
		stored[i] = k.stored
	}
	if err := ks.store.SaveKeys(ctx, stored); err != nil {
		return fmt.Errorf("%w: save: %w", ErrKeyStore, err)
	}
	return nil
}

// install makes keys the current set: the active key signs, every key is
// published. ks.mu is held.
func (ks *KeyManager) install(ctx context.Context, keys []*setKey) error {
	pub := make([]jwkset.JWK, len(keys))
	for i, k := range keys {
		pub[i] = k.public
	}
	retired := make(map[string]float64, len(keys))
	for _, k := range keys {
		retired[k.stored.ID] = math.Inf(1)
		if at := k.stored.RetiredAt; !at.IsZero() {
			retired[k.stored.ID] = float64(at.Unix()) + float64(at.Nanosecond())/1e9
		}
	}
	if err := ks.public.KeyReplaceAll(ctx, pub); err != nil {
		return err
	}
	ks.retired.Store(&retired)
	doc, err := ks.public.JSONPublic(ctx)
	if err != nil {
		return fmt.Errorf("jwt: marshal JWKS: %w", err)
	}
	ks.keys = keys
	ks.active.Store(activeOf(keys))
	b := []byte(doc)
	ks.jwks.Store(&b)
	return nil
}

// generate makes a new key of the set's algorithm, not yet active.
func (ks *KeyManager) generate(now time.Time) (*setKey, error) {
	var priv crypto.Signer
	var err error
	switch ks.alg.Family {
	case jws.FamilyEC:
		priv, err = ecdsa.GenerateKey(ks.alg.Curve, rand.Reader)
	case jws.FamilyRSA, jws.FamilyPSS:
		priv, err = rsa.GenerateKey(rand.Reader, generatedRSABits)
	case jws.FamilyEd:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("jwt: encode key: %w", err)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	return newSetKey(StoredKey{ID: kid, Algorithm: ks.alg.Name, PrivateKey: der, CreatedAt: now}, priv)
}

func parseStoredKey(s StoredKey) (*setKey, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(s.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %v", ErrKeyStore, s.ID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key %q is a %T", ErrKeyStore, s.ID, parsed)
	}
	if kid, err := thumbprint(priv.Public()); err != nil || kid != s.ID {
		return nil, fmt.Errorf("%w: key %q does not match its ID", ErrKeyStore, s.ID)
	}
	return newSetKey(s, priv)
}

func newSetKey(s StoredKey, priv crypto.Signer) (*setKey, error) {
	alg := lookupAlgorithm(s.Algorithm)
	if alg == nil || !alg.Fits(priv.Public()) {
		return nil, fmt.Errorf("%w: key %q cannot sign %q", ErrKeyStore, s.ID, s.Algorithm)
	}
	pub, ok := bindKey(priv.Public(), s.ID, alg)
	if !ok {
		return nil, fmt.Errorf("%w: key %q is too weak", ErrKeyStore, s.ID)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg.Name), Key: jose.JSONWebKey{Key: priv, KeyID: s.ID}},
		// RFC 9068 §2.1: access tokens are typed "at+jwt".
		(&jose.SignerOptions{}).WithType("at+jwt"),
	)
	if err != nil {
		return nil, fmt.Errorf("jwt: signer for key %q: %w", s.ID, err)
	}
	return &setKey{stored: s, signer: signer, public: pub}, nil
}

// thumbprint returns the RFC 7638 JWK thumbprint of pub (SHA-256,
// base64url), the key's "kid".
func thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwt: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// PublicJWKS returns the JWK Set document of the published public keys
// (next, active and retired), each with "kid", "alg" and "use": "sig".
// It never contains private key material.
func (ks *KeyManager) PublicJWKS() ([]byte, error) {
	return slices.Clone(*ks.jwks.Load()), nil
}

// retiredAt returns when the published key kid was retired, in Unix
// seconds (+Inf if it was not), and false if the set does not publish it.
// It does not allocate.
func (ks *KeyManager) retiredAt(kid string) (float64, bool) {
	at, ok := (*ks.retired.Load())[kid]
	return at, ok
}

// ActiveKeyID returns the "kid" of the key that signs now.
func (ks *KeyManager) ActiveKeyID() string { return ks.active.Load().stored.ID }
