package main

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// src holds comparisons the check must flag (marked "// want") and ones it
// must leave alone, each with the reason.
const src = `package p

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
)

type Hash [32]byte

type record struct {
	Hash   Hash
	Secret string
	Name   string
	N      int
}

var ErrNoCredential = errors.New("none")

func hashOf(s string) Hash { return sha256.Sum256([]byte(s)) }

func bad(r *record, presented string, a, b [32]byte, pa, pb *[32]byte, mac, want, got []byte, pepper string) {
	_ = a == b                                          // want: a hash-sized byte array
	_ = r.Hash != hashOf(presented)                     // want: a type named Hash
	_ = r.Secret == presented                           // want: a field named Secret
	_ = string(mac) == string(want)                     // want: a conversion of a MAC
	_ = bytes.Equal(mac, want)                          // want: bytes.Equal of a MAC
	_ = sha256.Sum256([]byte(presented)) == r.Hash      // want: a SHA-256 result
	sum := sha256.Sum256([]byte(presented))
	_ = bytes.Equal(sum[:], r.Hash[:])                  // want: slices of hashes
	_ = pepper == presented                             // want: a pepper
	_ = bytes.Equal(hmac.New(sha256.New, want).Sum(nil), got) // want: an HMAC result
	_ = r.Secret[:4] == presented[:4]                   // want: a slice of a secret
	_ = *pa == *pb                                      // want: hash arrays behind pointers
	_ = string(pa[:]) == presented                      // want: a slice of a hash behind a pointer
}

func good(r *record, presented string, a, b [32]byte, pa, pb *[32]byte, mac, want []byte, err error, key string) {
	_ = subtle.ConstantTimeCompare(a[:], b[:]) == 1 // constant time
	_ = hmac.Equal(mac, want)                       // constant time
	_ = r.Secret == ""                              // emptiness, not content
	_ = r.Hash == Hash{}                            // the zero value
	_ = mac == nil                                  // absence
	_ = r.Name == presented                         // not secret by name or type
	_ = r.N == len(presented)                       // a number
	_ = err == ErrNoCredential                      // an interface: identity, not content
	_ = key == presented //consttime:public a limiter key, not a secret
	_ = [4]byte{} == [4]byte{1}                     // too short for a hash
	_ = pa == pb                                    // pointers: identity
}
`

var wantRe = regexp.MustCompile(`// want: `)

func TestCheck(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: make(map[ast.Expr]types.TypeAndValue), Uses: make(map[*ast.Ident]types.Object), Defs: make(map[*ast.Ident]types.Object)}
	conf := types.Config{Importer: importer.Default()}
	if _, err := conf.Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	var want []int
	for i, l := range strings.Split(src, "\n") {
		if wantRe.MatchString(l) {
			want = append(want, i+1)
		}
	}
	var got []int
	for _, finding := range check(fset, []*ast.File{f}, info) {
		// "p.go:LINE:COL: ..."
		parts := strings.SplitN(finding, ":", 3)
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			t.Fatalf("finding %q: no line", finding)
		}
		got = append(got, n)
		t.Log(finding)
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		t.Errorf("flagged lines %v, want %v", got, want)
	}
}
