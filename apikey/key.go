package apikey

import (
	b62 "github.com/audexum/auth/internal/base62"
)

// Env is the environment a key belongs to, the second field of the key.
// Keeping test keys out of production (and production keys out of test
// systems) is the verifier's job: see [Config.Environments].
type Env string

// The two environments a key can name.
const (
	EnvLive Env = "live"
	EnvTest Env = "test"
)

// DefaultPrefix is the key prefix when a config leaves it empty.
const DefaultPrefix = "adx"

// Sizes of the key's fields, in characters.
const (
	IDLength       = 12
	SecretLength   = 32
	ChecksumLength = 6

	minPrefixLength = 2
	maxPrefixLength = 8
	envLength       = 4
	// fixedLength is everything but the prefix: "_live_" + id + "_" +
	// secret + checksum.
	fixedLength = 1 + envLength + 1 + IDLength + 1 + SecretLength + ChecksumLength
	// MaxKeyLength is the length of a key with the longest prefix.
	MaxKeyLength = maxPrefixLength + fixedLength
)

// Every base62 field, the checksum included, uses the digit order of
// [b62.Alphabet]: digits, then upper case, then lower case ("0-9A-Za-z").
// It is part of the format. (math/big's base 62 uses a different order; do
// not use it to compute checksums.) Non-ASCII bytes, such as the pieces of
// a Cyrillic look-alike, are never base62 digits.

// Parsed holds the public fields of a well-formed key. It never holds the
// secret, so it is safe to log.
type Parsed struct {
	Prefix string
	Env    Env
	ID     string
}

// Parse checks that key has the format of the package documentation (Key
// format), any valid prefix, and that the checksum matches. It says nothing
// about whether the key exists: that is [Verifier.Verify]'s job. It does no
// I/O and never allocates. Its errors are exactly [ErrMalformed],
// [ErrWrongEnvironment] or [ErrChecksum] (comparable with ==); they never
// echo the key.
func Parse(key string) (Parsed, error) {
	return parse(key, "")
}

// parse is Parse with an expected prefix; "" accepts any valid prefix.
// Checks run cheapest first and the error is a bare sentinel, so a hostile
// credential costs no allocation.
func parse(key, prefix string) (Parsed, error) {
	var plen int
	if prefix != "" {
		plen = len(prefix)
		if len(key) <= plen || key[plen] != '_' || key[:plen] != prefix { //consttime:public the prefix is the public start of every key
			return Parsed{}, ErrWrongPrefix
		}
		if len(key) != plen+fixedLength {
			return Parsed{}, ErrMalformed
		}
	} else {
		plen = len(key) - fixedLength
		if plen < minPrefixLength || plen > maxPrefixLength || !validPrefix(key[:plen]) {
			return Parsed{}, ErrMalformed
		}
	}
	// After the prefix: "_env_" + id + "_" + secret + checksum.
	rest := key[plen:]
	if rest[0] != '_' || rest[1+envLength] != '_' || rest[2+envLength+IDLength] != '_' {
		return Parsed{}, ErrMalformed
	}
	id := rest[2+envLength : 2+envLength+IDLength]
	tail := rest[3+envLength+IDLength:] // secret + checksum
	if !b62.Valid(id) || !b62.Valid(tail) {
		return Parsed{}, ErrMalformed
	}
	env := Env(rest[1 : 1+envLength])
	if env != EnvLive && env != EnvTest {
		return Parsed{}, ErrWrongEnvironment
	}
	body := key[:len(key)-ChecksumLength]
	if b62.Decode(key[len(key)-ChecksumLength:]) != uint64(b62.CRC32(body)) {
		return Parsed{}, ErrChecksum
	}
	return Parsed{Prefix: key[:plen], Env: env, ID: id}, nil
}

// validPrefix reports whether p is made of lower-case ASCII letters and
// digits only. Its length is checked by the callers.
func validPrefix(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// generate returns a new key and its ID. The random characters come from
// crypto/rand by rejection sampling ([b62.AppendRandom]), so every
// character is exactly uniform.
func generate(prefix string, env Env) (key, id string) {
	b := make([]byte, 0, len(prefix)+fixedLength)
	b = append(b, prefix...)
	b = append(b, '_')
	b = append(b, env...)
	b = append(b, '_')
	idStart := len(b)
	b = b62.AppendRandom(b, IDLength)
	idEnd := len(b)
	b = append(b, '_')
	b = b62.AppendRandom(b, SecretLength)
	b = b62.AppendUint32(b, b62.CRC32(string(b)), ChecksumLength)
	key = string(b)
	// The ID is copied out: a substring would keep the whole key, secret
	// included, alive for as long as the record that holds the ID.
	id = string(b[idStart:idEnd])
	clear(b)
	return key, id
}
