package jwt

import (
	"time"

	"github.com/audexum/auth"
)

// The verified-token cache (Config.CacheSize) is an internal/cache Map
// keyed by the whole token string, so a repeated token costs a map lookup
// instead of a signature check. Only tokens that passed every check enter
// it, so a client cannot fill it with junk. It is bounded: at most
// CacheSize tokens; when full, a new token takes the place of one the
// cache may forget (see cacheUntil) or else of the least used of 8 drawn
// at random, so a flood of new tokens does not push out the ones clients
// repeat. Hits take a read lock only.

// cacheEntry is a verified token: its principal, the time claims and the
// key that verified it, which are checked again on every hit.
type cacheEntry struct {
	p             *auth.Principal
	exp, nbf, iat float64
	has           uint16
	by            signingKey
}

// cacheForget is how long after a token stops being accepted (its "exp"
// plus the leeway) the cache forgets it. Until then a client retrying the
// expired token is refused by a lookup, not a signature check; and it is
// the hit's own check of "exp", never the cache's expiry, that refuses it.
const cacheForget = time.Minute

// cacheUntil is when the cache may forget a token expiring at exp (Unix
// seconds, bounded by the MaxTokenLifetime check).
func (v *Verifier) cacheUntil(exp float64) time.Time {
	return time.Unix(int64(exp+v.leeway), 0).Add(cacheForget)
}
