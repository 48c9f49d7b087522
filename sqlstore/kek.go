package sqlstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// KeyEncryptionKeySize is the size of a key-encryption key: AES-256.
const KeyEncryptionKeySize = 32

// ParseKeyEncryptionKey decodes a key-encryption key written as base64
// (standard or URL alphabet, padded or not) or hex, as produced by
// [GenerateKeyEncryptionKey]. Surrounding white space is ignored. It fails
// with an error wrapping [ErrInvalidConfig] unless the result is
// [KeyEncryptionKeySize] bytes; the error never contains the value.
func ParseKeyEncryptionKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeyEncryptionKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeyEncryptionKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: key-encryption key must be %d bytes in base64 or hex", ErrInvalidConfig, KeyEncryptionKeySize)
}

// GenerateKeyEncryptionKey returns a new random key-encryption key in
// base64, for [ParseKeyEncryptionKey].
func GenerateKeyEncryptionKey() string {
	b := make([]byte, KeyEncryptionKeySize)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// kek seals and opens private keys with AES-256-GCM.
type kek struct {
	id   string // names the key without revealing it
	aead cipher.AEAD
}

func newKEK(key []byte) (*kek, error) {
	if len(key) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("%w: KeyEncryptionKey must be %d bytes, got %d", ErrInvalidConfig, KeyEncryptionKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	// A hash of a 256-bit random key reveals nothing useful; stored with
	// each sealed key, it says which key-encryption key opens it, so a
	// wrong one is reported as such instead of as corruption.
	sum := sha256.Sum256(append([]byte("audexum key-encryption key id\x00"), key...))
	return &kek{id: hex.EncodeToString(sum[:8]), aead: aead}, nil
}

// additionalData binds a sealed key to its row: a ciphertext copied onto
// another key's row (or algorithm) does not open.
func additionalData(id, alg string) []byte {
	return []byte("audexum signing key v1\x00" + id + "\x00" + alg)
}

func (k *kek) seal(plain []byte, id, alg string) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	// Random 96-bit nonces: a key set sees a handful of seals in its
	// life, far below the 2^32 bound for random GCM nonces under one key.
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plain, additionalData(id, alg))
}

func (k *kek) open(sealed []byte, id, alg string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: signing key %q: sealed key too short", ErrCorruptRecord, id)
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], additionalData(id, alg))
	if err != nil {
		return nil, fmt.Errorf("%w: signing key %q does not decrypt", ErrCorruptRecord, id)
	}
	return plain, nil
}
