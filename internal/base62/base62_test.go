package base62

import (
	"hash/crc32"
	"math"
	"strings"
	"testing"
)

func TestAppendUint32RoundTrip(t *testing.T) {
	for _, v := range []uint32{0, 1, 61, 62, 3843, 3844, 1 << 31, math.MaxUint32} {
		s := string(AppendUint32(nil, v, 6))
		if len(s) != 6 || !Valid(s) || Decode(s) != uint64(v) {
			t.Errorf("AppendUint32(%d) = %q, decodes to %d", v, s, Decode(s))
		}
	}
	if got := string(AppendUint32([]byte("x"), 61, 3)); got != "x00z" {
		t.Errorf("AppendUint32(61, 3) after x = %q, want x00z", got)
	}
}

func TestAppendRandom(t *testing.T) {
	s := string(AppendRandom(nil, 10_000))
	if len(s) != 10_000 || !Valid(s) {
		t.Fatalf("got %d characters, valid %v", len(s), Valid(s))
	}
	// Every digit appears; a broken rejection or a short alphabet would
	// leave some out (the chance of a miss by luck is below 1e-60).
	for i := 0; i < len(Alphabet); i++ {
		if !strings.Contains(s, Alphabet[i:i+1]) {
			t.Errorf("digit %q never drawn", Alphabet[i])
		}
	}
}

func TestCRC32(t *testing.T) {
	for _, s := range []string{"", "a", "adx_live_0123456789ab_", strings.Repeat("xyz", 100)} {
		if got, want := CRC32(s), crc32.ChecksumIEEE([]byte(s)); got != want {
			t.Errorf("CRC32(%.20q) = %08x, want %08x", s, got, want)
		}
	}
}

func TestValue(t *testing.T) {
	for i := 0; i < 256; i++ {
		v, ok := Value(byte(i))
		want := strings.IndexByte(Alphabet, byte(i))
		if ok != (want >= 0) || (ok && int(v) != want) {
			t.Errorf("Value(%q) = %d, %v; want %d", byte(i), v, ok, want)
		}
	}
}
