package jws

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// TestASN1Signature holds the hand-made DER of (r, s) to encoding/asn1,
// for the sizes of ES256, ES384 and ES512 and integers with leading zero
// bytes and high bits.
func TestASN1Signature(t *testing.T) {
	for _, size := range []int{32, 48, 66} {
		for _, r0 := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff} {
			for _, s0 := range []byte{0x00, 0x01, 0x80} {
				r, s := bytes.Repeat([]byte{0xa5}, size), bytes.Repeat([]byte{0x5a}, size)
				r[0], s[0] = r0, s0
				if s0 == 0 {
					s[1] = 0 // two leading zero bytes
				}
				want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
				if err != nil {
					t.Fatal(err)
				}
				if got := asn1Signature(nil, r, s); !bytes.Equal(got, want) {
					t.Errorf("size %d, r0 %#x, s0 %#x: got %x, want %x", size, r0, s0, got, want)
				}
			}
		}
	}
}
