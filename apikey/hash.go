package apikey

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
)

// HashSize is the size of a stored key hash.
const HashSize = sha256.Size

// MinPepperLength is the shortest pepper [NewHasher] accepts, in bytes.
const MinPepperLength = 32

// HasherConfig configures a [Hasher].
type HasherConfig struct {
	// Peppers are server-side secrets, by version (1 and up), mixed into
	// key hashes with HMAC-SHA256. A database leak then does not let an
	// attacker test guesses offline without the pepper too, which lives in
	// the server's configuration, not in the database. Each must be at
	// least [MinPepperLength] bytes of random data. Keep every version
	// that stored keys still use: a key whose pepper is missing is answered
	// "unavailable", never allowed. If empty, keys are hashed with plain
	// SHA-256 (still safe: keys carry 190 bits of randomness, so an
	// offline search of the hashes is hopeless).
	Peppers map[int][]byte

	// Current is the pepper version new keys are hashed with. It must be
	// a key of Peppers. If zero, new keys use plain SHA-256 (version 0).
	// Changing it affects only keys created afterwards; each stored key
	// records its version.
	Current int
}

// Hasher hashes keys for storage and verification: SHA-256 of the whole
// key, or HMAC-SHA256 keyed with a versioned pepper. A nil *Hasher hashes
// with SHA-256 only. A Hasher is immutable and safe for concurrent use.
type Hasher struct {
	peppers map[int][]byte
	current int
}

// NewHasher returns a Hasher for cfg. It fails with an error wrapping
// [ErrInvalidConfig] if a pepper version is not positive, a pepper is
// shorter than [MinPepperLength], or Current names no pepper.
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	h := &Hasher{peppers: make(map[int][]byte, len(cfg.Peppers)), current: cfg.Current}
	for v, p := range cfg.Peppers {
		if v <= 0 {
			return nil, fmt.Errorf("%w: pepper version %d is not positive", ErrInvalidConfig, v)
		}
		if len(p) < MinPepperLength {
			return nil, fmt.Errorf("%w: pepper version %d is shorter than %d bytes", ErrInvalidConfig, v, MinPepperLength)
		}
		// Copied, so the caller cannot change a pepper under us.
		h.peppers[v] = append([]byte(nil), p...)
	}
	if cfg.Current < 0 {
		return nil, fmt.Errorf("%w: negative current pepper version", ErrInvalidConfig)
	}
	if _, ok := h.peppers[cfg.Current]; cfg.Current != 0 && !ok {
		return nil, fmt.Errorf("%w: current pepper version %d is not configured", ErrInvalidConfig, cfg.Current)
	}
	return h, nil
}

// currentVersion is the pepper version for new keys.
func (h *Hasher) currentVersion() int {
	if h == nil {
		return 0
	}
	return h.current
}

// hash returns the hash of key under pepper version v (0: SHA-256), or
// false if v is not configured.
func (h *Hasher) hash(key string, v int) ([HashSize]byte, bool) {
	if v == 0 {
		// Copied to the stack: converting the string for sha256.Sum256
		// would allocate on every request.
		var buf [MaxKeyLength]byte
		if len(key) > len(buf) {
			// Not a key (verification parses first); hashed all the
			// same so the function has no precondition.
			return sha256.Sum256([]byte(key)), true
		}
		n := copy(buf[:], key)
		sum := sha256.Sum256(buf[:n])
		clear(buf[:n])
		return sum, true
	}
	if h == nil {
		return [HashSize]byte{}, false
	}
	p, ok := h.peppers[v]
	if !ok {
		return [HashSize]byte{}, false
	}
	m := hmac.New(sha256.New, p)
	m.Write([]byte(key))
	var sum [HashSize]byte
	m.Sum(sum[:0])
	return sum, true
}

// equalHash compares two hashes in constant time, so the time taken says
// nothing about how much of a forged hash matched.
func equalHash(a, b *[HashSize]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
