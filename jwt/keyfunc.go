package jwt

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/MicahParks/jwkset"
)

// A service that already runs github.com/MicahParks/keyfunc/v3 gives the
// Verifier its Keyfunc (Config.Keyfunc). Only its JWK Set storage is used,
// and only from the background: the keys it holds are bound as JWKS keys
// are and copied into a source of their own, which requests read like any
// other. So a request never calls the storage, whose KeyRead on an
// unknown kid can wait on keyfunc's rate limiter for up to a minute and
// fetch on the request's context; verifying costs what it costs with the
// other sources; and the storage's keys are checked by this package's
// rules, not keyfunc's (which let a key without "alg" verify any
// algorithm its type fits, and keep RSA keys of any size).

// keyfuncReadInterval is how often Config.Keyfunc's storage is read when
// RefreshInterval is not shorter. Reading keyfunc's storage is a copy of a
// few keys in memory, so keys it drops stop verifying soon after keyfunc
// notices, rather than up to a RefreshInterval later.
const keyfuncReadInterval = time.Minute

// keyfuncLabel names Config.Keyfunc in errors and for OnRefreshError.
const keyfuncLabel = "keyfunc"

// addKeyfunc adds the source of Config.Keyfunc's keys, empty until it is
// first read.
func (v *Verifier) addKeyfunc(cfg Config) error {
	if cfg.Keyfunc == nil {
		return nil
	}
	st := cfg.Keyfunc.Storage()
	if st == nil {
		return configError("Keyfunc has no storage")
	}
	v.keyfunc = &keySource{store: jwkset.NewMemoryStorage(), url: keyfuncLabel, keyfunc: st}
	v.sources = append(v.sources, v.keyfunc)
	return nil
}

// readKeyfunc reads Config.Keyfunc's storage and makes its usable keys the
// keyfunc source's set, within FetchTimeout and on the Verifier's context.
// For an unknown kid it first asks the storage for that kid: keyfunc's
// default storage then fetches its URLs, under its own rate limit. A read
// that finds no usable key fails and keeps the previous keys, as a JWKS
// fetch does. Reads are serialised, so an older read never replaces a
// newer one.
func (v *Verifier) readKeyfunc(unknown bool, kid string) error {
	src := v.keyfunc
	ctx, cancel := context.WithTimeout(v.bg, v.fetchTimeout)
	defer cancel()
	src.mu.Lock()
	defer src.mu.Unlock()
	err := func() error {
		if unknown {
			// The answer does not matter: a key it finds is in the
			// snapshot read next. Its errors (not found, rate limited,
			// a failed fetch) are keyfunc's to report.
			src.keyfunc.KeyRead(ctx, kid)
		}
		all, err := src.keyfunc.KeyReadAll(ctx)
		if err != nil {
			return err
		}
		keys, err := bindStorageKeys(all, v.allowed)
		if err != nil {
			return err
		}
		return v.replaceLocked(ctx, src, keys)
	}()
	if err != nil {
		err = fmt.Errorf("%w: %s: %v", ErrFetch, keyfuncLabel, err)
		if v.onRefreshError != nil {
			v.onRefreshError(keyfuncLabel, err)
		}
	}
	return err
}

// bindStorageKeys returns the usable keys of a jwkset storage, each bound
// to one algorithm by the rules JWKS documents follow ([usableKey]), the
// first of each kid. Private keys count as their public halves, as the
// private members of a JWKS document are ignored. No usable key at all is
// an error.
func bindStorageKeys(all []jwkset.JWK, allowed []*algorithm) ([]jwkset.JWK, error) {
	var out []jwkset.JWK
	seen := make(map[string]bool, len(all))
	for _, j := range all {
		m := j.Marshal()
		if seen[m.KID] {
			continue
		}
		key := j.Key()
		if priv, ok := key.(interface{ Public() crypto.PublicKey }); ok {
			key = priv.Public()
		}
		if k, ok := usableKey(key, m, allowed); ok {
			seen[m.KID] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no usable key in the storage")
	}
	return out, nil
}
