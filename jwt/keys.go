package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/MicahParks/jwkset"
)

// Keys live in jwkset storage, one store per source, each key stored with
// the one algorithm it is bound to as its "alg". Lookups go through the
// storage API with the request's context.

// keySource is one place keys come from.
type keySource struct {
	store   jwkset.Storage
	url     string         // "" for given keys and key sets
	keySet  *KeyManager    // the in-process key set store publishes; nil for other sources
	keyfunc jwkset.Storage // Config.Keyfunc's storage, read into store; nil for other sources

	mu          sync.Mutex // serialises replacing the set
	loaded      bool       // a set was loaded; guarded by mu, mirrored in refresher.loaded
	fingerprint string     // of the loaded set, to notice removed or changed keys
}

func newLoadedSource(store jwkset.Storage) *keySource {
	return &keySource{store: store, loaded: true}
}

func (s *keySource) isLoaded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loaded
}

// signingKey names the key that verified a token, for the checks that
// depend on the key rather than on the token.
type signingKey struct {
	keySet *KeyManager // the key set the key belongs to; nil for other sources
	kid    string
}

// addGivenKeys adds one source holding Config.JWKS and Config.Keys.
func (v *Verifier) addGivenKeys(cfg Config) error {
	if len(cfg.JWKS) == 0 && len(cfg.Keys) == 0 {
		return nil
	}
	ctx := context.Background()
	store := jwkset.NewMemoryStorage()
	if len(cfg.JWKS) > 0 {
		keys, err := parseJWKS(cfg.JWKS, v.allowed)
		if err != nil {
			return configError("JWKS: %v", err)
		}
		for _, k := range keys {
			store.KeyWrite(ctx, k)
		}
	}
	for i, pk := range cfg.Keys {
		alg := v.allowedAlgorithm(pk.Algorithm)
		if alg == nil {
			return configError("Keys[%d]: algorithm %q is not in Algorithms", i, pk.Algorithm)
		}
		k, ok := bindKey(pk.Key, pk.KeyID, alg)
		if !ok {
			return configError("Keys[%d]: key of type %T cannot verify %s (RSA keys need %d bits)", i, pk.Key, alg.Name, minRSABits)
		}
		store.KeyWrite(ctx, k)
	}
	v.sources = append(v.sources, newLoadedSource(store))
	return nil
}

// fingerprint identifies a key set by its key IDs, algorithms and public
// parameters, so a refresh can tell whether anything changed.
func fingerprint(keys []jwkset.JWK) string {
	var b strings.Builder
	for _, k := range keys {
		m := k.Marshal()
		for _, s := range []string{m.KID, string(m.ALG), m.N, m.E, m.X, m.Y, "\n"} {
			b.WriteString(s)
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// parseJWKS reads a JWK Set and returns its usable keys, each bound to one
// algorithm. Keys that are unsupported, not for signatures, too weak, or
// fit no allowed algorithm are skipped, not fatal; a set with no usable key
// at all is an error.
func parseJWKS(data []byte, allowed []*algorithm) ([]jwkset.JWK, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	var out []jwkset.JWK
	seen := make(map[string]bool, len(set.Keys))
	for _, m := range set.Keys {
		if seen[m.KID] {
			continue // one key per kid: the first
		}
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue
		}
		if k, ok := usableKey(j.Key(), m, allowed); ok {
			seen[m.KID] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no usable key in JWK Set")
	}
	return out, nil
}

// usableKey returns a JWK of the public key bound to one allowed
// algorithm, or false when the JWK m describes is not for verifying
// signatures or fits no allowed algorithm (see [bindAlgorithm] and
// [bindKey]). The rules are the same whatever the key came from.
func usableKey(key crypto.PublicKey, m jwkset.JWKMarshal, allowed []*algorithm) (jwkset.JWK, bool) {
	if m.USE != "" && m.USE != jwkset.UseSig {
		return jwkset.JWK{}, false // RFC 7517 §4.2: an encryption key never verifies
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return jwkset.JWK{}, false // RFC 7517 §4.3
	}
	alg := bindAlgorithm(key, string(m.ALG), allowed)
	if alg == nil {
		return jwkset.JWK{}, false
	}
	return bindKey(key, m.KID, alg)
}

// bindAlgorithm returns the one algorithm key will verify: the JWK's "alg"
// if it names one, else the first allowed algorithm that fits the key's
// type and curve. It returns nil when the key fits no allowed algorithm.
func bindAlgorithm(key crypto.PublicKey, named string, allowed []*algorithm) *algorithm {
	for _, a := range allowed {
		if (named == "" || a.Name == named) && a.Fits(key) {
			return a
		}
	}
	return nil
}

// bindKey returns a JWK of the public key bound to alg, or false when the
// key does not fit alg or is too weak (RSA under 2048 bits).
func bindKey(key crypto.PublicKey, kid string, alg *algorithm) (jwkset.JWK, bool) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return jwkset.JWK{}, false
		}
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		return jwkset.JWK{}, false
	}
	if !alg.Fits(key) {
		return jwkset.JWK{}, false
	}
	j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		ALG: jwkset.ALG(alg.Name),
		KID: kid,
		USE: jwkset.UseSig,
	}})
	return j, err == nil
}

// lookup returns the key named kid from the sources, and the key set it
// belongs to if any, or ErrUnknownKey. A key bound to another algorithm
// than alg is refused (RFC 8725 §3.1): an RS256 key never checks a PS256
// token.
func (v *Verifier) lookup(ctx context.Context, kid string, alg *algorithm) (crypto.PublicKey, *KeyManager, error) {
	for _, src := range v.sources {
		j, err := src.store.KeyRead(ctx, kid)
		if err != nil {
			if errors.Is(err, jwkset.ErrKeyNotFound) {
				continue
			}
			return nil, nil, ErrNoKeys
		}
		if string(j.Marshal().ALG) != alg.Name {
			return nil, nil, ErrAlgorithm
		}
		return j.Key(), src.keySet, nil
	}
	return nil, nil, ErrUnknownKey
}

// checkKidless verifies a token without "kid" with at most
// maxKidlessTries keys bound to its algorithm (RFC 7515 §4.1.4 leaves the
// key to the application; trying every key would let one token cost many
// signature checks). It reports the key that verified: a key set's key
// is held to its retirement whether or not the token names it.
func (v *Verifier) checkKidless(ctx context.Context, alg *algorithm, signed, sig []byte, by *signingKey) error {
	tries := 0
	for _, src := range v.sources {
		keys, err := src.store.KeyReadAll(ctx)
		if err != nil {
			return ErrNoKeys
		}
		for _, j := range keys {
			if string(j.Marshal().ALG) != alg.Name {
				continue
			}
			if tries == maxKidlessTries {
				return ErrBadSignature
			}
			tries++
			if alg.Verify(j.Key(), signed, sig) {
				*by = signingKey{keySet: src.keySet, kid: j.Marshal().KID}
				return nil
			}
		}
	}
	switch {
	case tries > 0:
		return ErrBadSignature
	case !v.allLoaded():
		return ErrNoKeys
	}
	return ErrUnknownKey
}
