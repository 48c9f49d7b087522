package apikey

import (
	"crypto/rand"
	"hash/crc32"
)

// Env is the environment a key belongs to, the second field of the key.
// Keeping test keys out of production (and production keys out of test
// systems) is the verifier's job: see [VerifierConfig.Environments].
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

// base62 is the digit order of every base62 field, the checksum included:
// digits, then upper case, then lower case ("0-9A-Za-z"). It is part of
// the format. (math/big's base 62 uses a different order; do not use it to
// compute checksums.)
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// digit62 maps a byte to its base62 value, or 0xff for a byte outside the
// alphabet. Non-ASCII bytes (the pieces of a Cyrillic look-alike) all map
// to 0xff.
var digit62 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base62); i++ {
		t[base62[i]] = byte(i)
	}
	return t
}()

// Parsed holds the public fields of a well-formed key. It never holds the
// secret, so it is safe to log.
type Parsed struct {
	Prefix string
	Env    Env
	ID     string
}

// Parse checks that key has the format
//
//	<prefix>_<env>_<id>_<secret><checksum>
//
// with a prefix of 2 to 8 lower-case letters or digits, env "live" or
// "test", a 12-character id, a 32-character secret and a 6-character
// checksum, the last three in base62, and that the checksum matches. It
// says nothing about whether the key exists: that is [Verifier.Verify]'s
// job.
//
// Parse does no I/O and never allocates. Its errors are exactly
// [ErrMalformed], [ErrWrongEnvironment] or [ErrChecksum] (comparable with
// ==); they never echo the key.
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
		if len(key) <= plen || key[plen] != '_' || key[:plen] != prefix {
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
	if !isBase62(id) || !isBase62(tail) {
		return Parsed{}, ErrMalformed
	}
	env := Env(rest[1 : 1+envLength])
	if env != EnvLive && env != EnvTest {
		return Parsed{}, ErrWrongEnvironment
	}
	body := key[:len(key)-ChecksumLength]
	if decodeChecksum(key[len(key)-ChecksumLength:]) != uint64(checksum(body)) {
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

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if digit62[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// decodeChecksum reads a checksum field already known to be base62. Six
// base62 digits are below 62^6 < 2^36, so the value fits; values above
// 2^32-1 never equal a CRC-32 and are refused by the comparison.
func decodeChecksum(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*62 + uint64(digit62[s[i]])
	}
	return v
}

// appendChecksum appends c in base62, left-padded with '0' to
// ChecksumLength digits.
func appendChecksum(b []byte, c uint32) []byte {
	var d [ChecksumLength]byte
	v := c
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = base62[v%62]
		v /= 62
	}
	return append(b, d[:]...)
}

// crcTables holds the slicing-by-8 tables for CRC-32/IEEE (the reflected
// polynomial 0xEDB88320, as in hash/crc32). The checksum is computed here
// over the key string itself: hash/crc32 takes a []byte, and converting
// the request's string would allocate on the refusal path.
var crcTables = func() (t [8][256]uint32) {
	t[0] = *crc32.IEEETable
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// checksum returns the CRC-32/IEEE of s, equal to crc32.ChecksumIEEE.
func checksum(s string) uint32 {
	t := &crcTables
	crc := ^uint32(0)
	for len(s) >= 8 {
		crc ^= uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		crc = t[0][s[7]] ^ t[1][s[6]] ^ t[2][s[5]] ^ t[3][s[4]] ^
			t[4][crc>>24] ^ t[5][crc>>16&0xff] ^ t[6][crc>>8&0xff] ^ t[7][crc&0xff]
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		crc = t[0][byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// generate returns a new key and its ID. The random characters come from
// crypto/rand by rejection sampling: a byte is used only if it is below
// 248 (the largest multiple of 62 that fits a byte), so every character is
// exactly uniform; bytes 248-255 are dropped rather than folded in with a
// modulo, which would favour the first eight digits.
func generate(prefix string, env Env) (key, id string) {
	b := make([]byte, 0, len(prefix)+fixedLength)
	b = append(b, prefix...)
	b = append(b, '_')
	b = append(b, env...)
	b = append(b, '_')
	idStart := len(b)
	b = appendRandom62(b, IDLength)
	idEnd := len(b)
	b = append(b, '_')
	b = appendRandom62(b, SecretLength)
	b = appendChecksum(b, checksum(string(b)))
	key = string(b)
	// The ID is copied out: a substring would keep the whole key, secret
	// included, alive for as long as the record that holds the ID.
	id = string(b[idStart:idEnd])
	clear(b)
	return key, id
}

const rejectFrom = 256 - 256%62 // 248

func appendRandom62(b []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		// crypto/rand.Read never fails: on a broken system source the
		// program crashes rather than return predictable bytes.
		rand.Read(buf[:])
		for _, c := range buf {
			if c >= rejectFrom {
				continue
			}
			b = append(b, base62[c%62])
			n--
			if n == 0 {
				break
			}
		}
	}
	clear(buf[:])
	return b
}
