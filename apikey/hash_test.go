package apikey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
)

func TestHasherHash(t *testing.T) {
	p1 := bytes.Repeat([]byte{1}, 32)
	p2 := bytes.Repeat([]byte{2}, 64)
	h, err := NewHasher(HasherConfig{Peppers: map[int][]byte{1: p1, 2: p2}, Current: 2})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := generate(DefaultPrefix, EnvLive)
	mac := func(p []byte) [HashSize]byte {
		m := hmac.New(sha256.New, p)
		m.Write([]byte(key))
		return [HashSize]byte(m.Sum(nil))
	}
	tests := []struct {
		name    string
		h       *Hasher
		version int
		want    [HashSize]byte
		wantOK  bool
	}{
		{"nil hasher, no pepper", nil, 0, sha256.Sum256([]byte(key)), true},
		{"no pepper", h, 0, sha256.Sum256([]byte(key)), true},
		{"pepper 1", h, 1, mac(p1), true},
		{"pepper 2", h, 2, mac(p2), true},
		{"unknown pepper", h, 3, [HashSize]byte{}, false},
		{"nil hasher, pepper", nil, 1, [HashSize]byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.h.hash(key, tt.version)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("hash = %x, %v; want %x, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if got := h.currentVersion(); got != 2 {
		t.Errorf("currentVersion = %d, want 2", got)
	}
	// The Hasher keeps its own copy of the peppers.
	p1[0] = 9
	if got, _ := h.hash(key, 1); got == mac(p1) {
		t.Error("changing the caller's pepper slice changed the Hasher")
	}
}

func TestNewHasherErrors(t *testing.T) {
	good := make([]byte, MinPepperLength)
	tests := []struct {
		name string
		cfg  HasherConfig
	}{
		{"short pepper", HasherConfig{Peppers: map[int][]byte{1: make([]byte, MinPepperLength-1)}}},
		{"version zero", HasherConfig{Peppers: map[int][]byte{0: good}}},
		{"negative version", HasherConfig{Peppers: map[int][]byte{-1: good}}},
		{"current not configured", HasherConfig{Peppers: map[int][]byte{1: good}, Current: 2}},
		{"current without peppers", HasherConfig{Current: 1}},
		{"negative current", HasherConfig{Current: -1}},
	}
	for _, tt := range tests {
		if _, err := NewHasher(tt.cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: error = %v, want ErrInvalidConfig", tt.name, err)
		}
	}
	if _, err := NewHasher(HasherConfig{}); err != nil {
		t.Errorf("zero config: error = %v, want nil", err)
	}
}

func TestEqualHash(t *testing.T) {
	a := sha256.Sum256([]byte("a"))
	b := a
	if !equalHash(&a, &b) {
		t.Error("equal hashes compared unequal")
	}
	b[HashSize-1] ^= 1
	if equalHash(&a, &b) {
		t.Error("hashes differing in the last byte compared equal")
	}
}
