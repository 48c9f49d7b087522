package oauth

import (
	"crypto/rand"
	"hash/crc32"
)

// Every credential the server hands out (client secret, authorization
// code, refresh token) has the same shape:
//
//	<prefix>_<43 base62 random characters><6 base62 CRC-32 checksum>
//
// 43 base62 characters carry 256 bits of randomness. Only letters, digits
// and "_" appear, so a value never needs URL or form encoding (in a Basic
// header, a query or a form), and the fixed prefix lets secret scanners
// recognise leaked values and lets handlers refuse a value of the wrong
// kind before any store lookup. The checksum refuses typos and random
// probes without a store access; it adds no secrecy.
const (
	randomLength   = 43
	checksumLength = 6
)

// Prefixes of the generated values.
const (
	// ClientIDPrefix starts every generated client ID.
	ClientIDPrefix = "adxc"
	// SecretPrefix starts every client secret.
	SecretPrefix = "adxcs"
	// CodePrefix starts every authorization code.
	CodePrefix = "adxac"
	// RefreshTokenPrefix starts every refresh token.
	RefreshTokenPrefix = "adxrt"
)

// clientIDLength is the number of random base62 characters of a generated
// client ID (about 119 bits: IDs are public but should not be guessable
// in sequence).
const clientIDLength = 20

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// rejectFrom is the largest multiple of 62 that fits a byte: random bytes
// at or above it are dropped so every character is exactly uniform.
const rejectFrom = 256 - 256%62

func appendRandom62(b []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		// crypto/rand.Read never returns an error; on a broken system
		// source the program crashes rather than issue guessable values.
		rand.Read(buf[:])
		for _, c := range buf {
			if c >= rejectFrom {
				continue
			}
			b = append(b, base62[c%62])
			if n--; n == 0 {
				break
			}
		}
	}
	clear(buf[:])
	return b
}

func appendChecksum(b []byte, c uint32) []byte {
	var d [checksumLength]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = base62[c%62]
		c /= 62
	}
	return append(b, d[:]...)
}

// newValue returns a new credential with the given prefix.
func newValue(prefix string) string {
	b := make([]byte, 0, len(prefix)+1+randomLength+checksumLength)
	b = append(b, prefix...)
	b = append(b, '_')
	b = appendRandom62(b, randomLength)
	b = appendChecksum(b, crc32.ChecksumIEEE(b))
	s := string(b)
	clear(b)
	return s
}

// newClientID returns a new client ID: ClientIDPrefix, "_", 20 base62
// characters.
func newClientID() string {
	b := make([]byte, 0, len(ClientIDPrefix)+1+clientIDLength)
	b = append(b, ClientIDPrefix...)
	b = append(b, '_')
	return string(appendRandom62(b, clientIDLength))
}

// validValue reports whether s has the shape newValue(prefix) produces,
// checksum included. It does not allocate.
func validValue(s, prefix string) bool {
	if len(s) != len(prefix)+1+randomLength+checksumLength || s[:len(prefix)] != prefix || s[len(prefix)] != '_' {
		return false
	}
	tail := s[len(prefix)+1:]
	var sum uint64
	for i := 0; i < len(tail); i++ {
		d := digit62(tail[i])
		if d < 0 {
			return false
		}
		if i >= randomLength {
			sum = sum*62 + uint64(d)
		}
	}
	body := s[:len(s)-checksumLength]
	return sum == uint64(crc32Update(body))
}

func digit62(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// crc32Update is crc32.ChecksumIEEE over a string, without converting it
// to a []byte (which would allocate on the refusal path).
func crc32Update(s string) uint32 {
	t := crc32.IEEETable
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = t[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}
