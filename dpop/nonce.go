package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// DefaultNonceLifetime is how long one server nonce is current when
// Config.NonceLifetime is zero. A nonce is accepted while it is current
// and for one lifetime after, so a client's nonce is good for 5 to 10
// minutes.
const DefaultNonceLifetime = 5 * time.Minute

// NonceKeySize is the size of Config.NonceKey.
const NonceKeySize = 32

// nonces derives the server nonces (RFC 9449 §8, §9) from a key and the
// clock: the nonce of period t is base64url(t, HMAC-SHA256(key, t)[:16]).
// Instances that share the key issue and accept the same nonces, with
// nothing stored; a nonce from before the previous period, or made up,
// never matches.
type nonces struct {
	key    []byte
	period time.Duration
	cur    atomic.Pointer[nonceSlot]
}

// nonceSlot is the current and previous nonce of one period, computed
// once per period.
type nonceSlot struct {
	n                 int64
	current, previous string
}

func (ns *nonces) make(n int64) string {
	var buf [8 + 16]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(n))
	m := hmac.New(sha256.New, ns.key)
	m.Write([]byte("audexum dpop nonce\x00"))
	m.Write(buf[:8])
	copy(buf[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// slot returns the nonces of the period now falls in.
func (ns *nonces) slot(now time.Time) *nonceSlot {
	n := now.UnixNano() / int64(ns.period)
	if s := ns.cur.Load(); s != nil && s.n == n {
		return s
	}
	s := &nonceSlot{n: n, current: ns.make(n), previous: ns.make(n - 1)}
	ns.cur.Store(s)
	return s
}

// valid reports whether nonce is the current or the previous one.
func (ns *nonces) valid(nonce string, now time.Time) bool {
	s := ns.slot(now)
	return nonce != "" && (nonce == s.current || nonce == s.previous)
}
