// Package base62 generates and checks the base62 fields of the credentials
// this module issues (API keys, client secrets, codes, refresh tokens):
// uniform random characters, fixed-width numbers and the CRC-32 checksum
// over a string. It is plumbing shared by apikey and oauth, not API.
package base62

import (
	"crypto/rand"
	"hash/crc32"
)

// Alphabet is the digit order of every base62 field: digits, then upper
// case, then lower case ("0-9A-Za-z"). It is part of the credential
// formats; math/big uses another order.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// values maps a byte to its base62 value, or 0xff for a byte outside the
// alphabet.
var values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = byte(i)
	}
	return t
}()

// Value returns the base62 value of c and whether c is a base62 digit.
func Value(c byte) (byte, bool) {
	v := values[c]
	return v, v != 0xff
}

// Valid reports whether every byte of s is a base62 digit.
func Valid(s string) bool {
	for i := 0; i < len(s); i++ {
		if values[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// rejectFrom is the largest multiple of 62 that fits a byte. Random bytes
// at or above it are dropped rather than folded in with a modulo, which
// would favour the first eight digits: every character is exactly uniform.
const rejectFrom = 256 - 256%62 // 248

// AppendRandom appends n uniformly random base62 characters from
// crypto/rand to b.
func AppendRandom(b []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		// crypto/rand.Read never fails: on a broken system source the
		// program crashes rather than issue predictable values.
		rand.Read(buf[:])
		for _, c := range buf {
			if c >= rejectFrom {
				continue
			}
			b = append(b, Alphabet[c%62])
			if n--; n == 0 {
				break
			}
		}
	}
	clear(buf[:])
	return b
}

// AppendUint32 appends v in base62, left-padded with '0' to width digits
// (v must fit: 6 digits hold any uint32).
func AppendUint32(b []byte, v uint32, width int) []byte {
	start := len(b)
	for range width {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start && v > 0; i-- {
		b[i] = Alphabet[v%62]
		v /= 62
	}
	return b
}

// Decode returns the value of s, which must be base62 (see [Valid]) and at
// most 10 digits long. Six digits are below 62^6 < 2^36, so a checksum
// field decodes without overflow; a value above 2^32-1 never equals a
// CRC-32.
func Decode(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*62 + uint64(values[s[i]])
	}
	return v
}

// crcTables holds the slicing-by-8 tables for CRC-32/IEEE (the reflected
// polynomial 0xEDB88320, as in hash/crc32).
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

// CRC32 returns the CRC-32/IEEE of s, equal to crc32.ChecksumIEEE. It
// works on the string itself: hash/crc32 takes a []byte, and converting a
// request's string would allocate on the refusal path.
func CRC32(s string) uint32 {
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
