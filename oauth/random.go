package oauth

import b62 "github.com/audexum/auth/internal/base62"

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

// newValue returns a new credential with the given prefix.
func newValue(prefix string) string {
	b := make([]byte, 0, len(prefix)+1+randomLength+checksumLength)
	b = append(b, prefix...)
	b = append(b, '_')
	b = b62.AppendRandom(b, randomLength)
	b = b62.AppendUint32(b, b62.CRC32(string(b)), checksumLength)
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
	return string(b62.AppendRandom(b, clientIDLength))
}

// validValue reports whether s has the shape newValue(prefix) produces,
// checksum included. It does not allocate.
func validValue(s, prefix string) bool {
	if len(s) != len(prefix)+1+randomLength+checksumLength || s[:len(prefix)] != prefix || s[len(prefix)] != '_' {
		return false
	}
	tail := s[len(prefix)+1:]
	if !b62.Valid(tail) {
		return false
	}
	body := s[:len(s)-checksumLength]
	return b62.Decode(tail[randomLength:]) == uint64(b62.CRC32(body))
}
