// Package p has a known number of exported identifiers for apicount's
// test; each line that counts says what it adds.
package p

import "io"

const (
	A = 1 // const
	b = 2
)

const C, d = 3, 4 // const (C)

var V, w int // var (V)

var _ = 0

func F() {} // func

func g() {}

type T struct { // type
	X, y      int    // field (X)
	Z         string // field
	*Embedded        // field (an exported embedded type)
	unexp            // an unexported embedded type: not a field of the API
	io.Reader        // field (embedded, qualified)
}

type Embedded struct{} // type

type unexp struct{ Field int } // unexported type: neither it nor its field

func (T) M()  {} // method
func (*T) N() {} // method
func (T) m()  {}

func (unexp) M() {} // a method of an unexported type: not counted

type I interface { // type
	Do() // method
	do()
	io.Closer // embedded: Close is counted in io, not here
}

type G[K comparable, V any] struct{ Key K } // type, field (Key)

func (g *G[K, V]) Get() K { return g.Key } // method (generic receiver)

type Alias = T // type

type Constraint interface{ ~int | ~string } // type; its terms name no method
